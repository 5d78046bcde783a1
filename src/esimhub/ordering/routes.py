"""Balance endpoint (orders, top-ups, vouchers and refunds come with the ordering issue)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.kit.money import wire_number
from esimhub.ordering import service

router = APIRouter(tags=["balance"])


@router.get("/balance")
async def get_balance(session: SessionDep, partner: CurrentPartner) -> dict[str, Any]:
    """Available balance of the calling partner, in USD."""
    cents = await service.balance_cents(session, partner.id)
    return {
        "data": {
            "balances": {
                "name": "balance",
                "availableBalance": {"amount": wire_number(cents), "currency": "USD"},
            }
        },
        "meta": {"message": "success"},
    }
