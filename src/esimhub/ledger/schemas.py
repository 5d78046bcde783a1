"""Wire shape of ``GET /balance``."""

from __future__ import annotations

from typing import Any

from esimhub.kit.money import wire_number


def balance(cents: int) -> dict[str, Any]:
    return {
        "balances": {
            "name": "balance",
            "availableBalance": {"amount": wire_number(cents), "currency": "USD"},
        }
    }
