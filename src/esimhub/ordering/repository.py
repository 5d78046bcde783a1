"""SQL of the ordering area: the balance ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import LedgerEntry


async def balance_cents(session: AsyncSession, partner_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.partner_id == partner_id
        )
    )
    return int(total or 0)


def append(
    session: AsyncSession,
    *,
    partner_id: int,
    amount_cents: int,
    kind: str,
    reference: str | None,
    at: datetime,
) -> LedgerEntry:
    entry = LedgerEntry(
        partner_id=partner_id,
        amount_cents=amount_cents,
        kind=kind,
        reference=reference,
        created_at=at,
    )
    session.add(entry)
    return entry


async def entries(session: AsyncSession, partner_id: int) -> Sequence[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.partner_id == partner_id).order_by(LedgerEntry.id)
    return (await session.scalars(query)).all()
