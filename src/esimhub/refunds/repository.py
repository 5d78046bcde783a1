"""SQL of refunds: the requests, and the top-up orders a decision credits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.kit.statuses import RefundStatus
from esimhub.models import Order, Refund


async def refund_of(session: AsyncSession, refund_id: int) -> Refund | None:
    return await session.get(Refund, refund_id)


async def refunds(session: AsyncSession, status: str | None) -> Sequence[Refund]:
    query = select(Refund).order_by(Refund.id)
    if status:
        query = query.where(Refund.status == status)
    return (await session.scalars(query)).all()


async def open_refunds(session: AsyncSession, partner_id: int) -> Sequence[Refund]:
    query = select(Refund).where(
        Refund.partner_id == partner_id,
        Refund.status.in_([RefundStatus.PENDING, RefundStatus.APPROVED]),
    )
    return (await session.scalars(query)).all()


async def order_of(session: AsyncSession, order_id: int) -> Order | None:
    return await session.get(Order, order_id)
