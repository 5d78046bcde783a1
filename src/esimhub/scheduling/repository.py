"""SQL of scheduled (async and future) orders. Partner-facing queries are scoped here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.kit import repository as shared
from esimhub.kit.statuses import ScheduledStatus
from esimhub.models import Partner, ScheduledOrder


@dataclass(frozen=True)
class FutureFilters:
    status: str
    from_due: datetime | None = None
    to_due: datetime | None = None


def _future(partner_id: int, filters: FutureFilters) -> list[Any]:
    conditions = [
        ScheduledOrder.partner_id == partner_id,
        ScheduledOrder.kind == "future",
        ScheduledOrder.status == filters.status,
    ]
    if filters.from_due is not None:
        conditions.append(ScheduledOrder.due_at >= filters.from_due)
    if filters.to_due is not None:
        conditions.append(ScheduledOrder.due_at <= filters.to_due)
    return conditions


async def count_future(session: AsyncSession, partner_id: int, filters: FutureFilters) -> int:
    query = select(func.count(ScheduledOrder.id)).where(*_future(partner_id, filters))
    return int(await session.scalar(query) or 0)


async def list_future(
    session: AsyncSession, partner_id: int, filters: FutureFilters, *, offset: int, limit: int
) -> list[ScheduledOrder]:
    query = (
        select(ScheduledOrder)
        .where(*_future(partner_id, filters))
        .order_by(ScheduledOrder.due_at, ScheduledOrder.id)
        .offset(offset)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def future_by_request_ids(
    session: AsyncSession, partner_id: int, request_ids: Sequence[str]
) -> Sequence[ScheduledOrder]:
    query = select(ScheduledOrder).where(
        ScheduledOrder.partner_id == partner_id,
        ScheduledOrder.kind == "future",
        ScheduledOrder.request_id.in_(list(request_ids)),
    )
    return (await session.scalars(query)).all()


async def lease_due(session: AsyncSession, *, now: datetime, seconds: int, limit: int) -> list[int]:
    ready = (ScheduledOrder.status == ScheduledStatus.PENDING) & ScheduledOrder.parked.is_(False)
    return await shared.lease(session, ScheduledOrder, ready, now=now, seconds=seconds, limit=limit)


async def scheduled(session: AsyncSession, scheduled_id: int) -> ScheduledOrder | None:
    return await session.get(ScheduledOrder, scheduled_id)


async def partner(session: AsyncSession, partner_id: int) -> Partner | None:
    return await session.get(Partner, partner_id)
