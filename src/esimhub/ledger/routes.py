"""``GET /balance``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.kit import wire
from esimhub.kit.envelope import ok
from esimhub.ledger import schemas, service

router = APIRouter(tags=["orders"])


@router.get("/balance", **wire.answers(schemas.BalanceResponse))
async def get_balance(session: SessionDep, partner: CurrentPartner) -> dict[str, Any]:
    """Available balance of the calling partner, in USD."""
    return ok(schemas.balance(await service.balance_cents(session, partner.id)))
