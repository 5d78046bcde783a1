"""Wire shape of ``GET /balance``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from esimhub.kit import wire
from esimhub.kit.money import wire_number


def balance(cents: int) -> dict[str, Any]:
    return {
        "balances": {
            "name": "balance",
            "availableBalance": {"amount": wire_number(cents), "currency": "USD"},
        }
    }


class Amount(wire.Wire):
    amount: float
    currency: str = Field(examples=["USD"])


class Balances(wire.Wire):
    name: str
    available_balance: Amount = Field(alias="availableBalance")


class BalanceData(wire.Wire):
    balances: Balances


class BalanceResponse(wire.Envelope[BalanceData]):
    pass
