"""SQL of the auth area."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import LedgerEntry, Partner


async def get_by_client_id(session: AsyncSession, client_id: str) -> Partner | None:
    return await session.scalar(select(Partner).where(Partner.client_id == client_id))


async def get(session: AsyncSession, partner_id: int) -> Partner | None:
    return await session.get(Partner, partner_id)


async def list_all(session: AsyncSession) -> Sequence[Partner]:
    return (await session.scalars(select(Partner).order_by(Partner.id))).all()


async def balances(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(LedgerEntry.partner_id, func.sum(LedgerEntry.amount_cents)).group_by(
            LedgerEntry.partner_id
        )
    )
    return {partner_id: int(total or 0) for partner_id, total in rows.all()}
