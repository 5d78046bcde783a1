"""SQL of orders. Partner-facing queries are scoped to the partner here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import Order, Sim


async def order_of(session: AsyncSession, order_id: int) -> Order | None:
    return await session.get(Order, order_id)


@dataclass(frozen=True)
class OrderFilters:
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    code: str | None = None
    status: str | None = None
    iccid: str | None = None
    description: str | None = None


def _orders_query(partner_id: int, filters: OrderFilters) -> Select[Order]:
    query = select(Order).where(Order.partner_id == partner_id)
    if filters.created_from is not None:
        query = query.where(Order.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Order.created_at < filters.created_to)
    if filters.code:
        query = query.where(Order.code.contains(filters.code, autoescape=True))
    if filters.status:
        query = query.where(Order.status == filters.status)
    if filters.description:
        query = query.where(Order.description.contains(filters.description, autoescape=True))
    if filters.iccid:
        matching_sim = select(Sim.id).where(
            Sim.iccid.contains(filters.iccid, autoescape=True),
            (Sim.order_id == Order.id) | (Sim.id == Order.topup_sim_id),
        )
        query = query.where(exists(matching_sim))
    return query


async def count_orders(session: AsyncSession, partner_id: int, filters: OrderFilters) -> int:
    query = _orders_query(partner_id, filters).with_only_columns(func.count(Order.id))
    return int(await session.scalar(query) or 0)


async def list_orders(
    session: AsyncSession, partner_id: int, filters: OrderFilters, *, offset: int, limit: int
) -> Sequence[Order]:
    query = (
        _orders_query(partner_id, filters)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def issued(session: AsyncSession) -> tuple[int, int]:
    """Orders placed, and eSIMs sold (drawn by an order), since the beginning (for /metrics)."""
    orders = await session.scalar(select(func.count()).select_from(Order))
    sims = await session.scalar(
        select(func.count()).select_from(Sim).where(Sim.order_id.is_not(None))
    )
    return orders or 0, sims or 0
