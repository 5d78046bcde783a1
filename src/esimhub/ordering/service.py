"""Balance rules: the ledger is append-only; the balance is always derived from it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.kit.clock import Clock
from esimhub.models import LedgerEntry
from esimhub.ordering import repository


async def balance_cents(session: AsyncSession, partner_id: int) -> int:
    return await repository.balance_cents(session, partner_id)


async def credit(
    session: AsyncSession,
    partner_id: int,
    *,
    amount_cents: int,
    clock: Clock,
    kind: str = "credit",
    reference: str | None = None,
) -> LedgerEntry:
    if amount_cents == 0:
        raise ValueError("a ledger entry moves a non-zero amount")
    return repository.append(
        session,
        partner_id=partner_id,
        amount_cents=amount_cents,
        kind=kind,
        reference=reference,
        at=clock.now(),
    )


async def ledger(session: AsyncSession, partner_id: int) -> Sequence[LedgerEntry]:
    return await repository.entries(session, partner_id)
