"""SQL of refunds: requests, and the eSIMs and orders a decision credits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.kit.statuses import RefundStatus
from esimhub.models import Order, Refund, Sim, SimPackage


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


async def iccids_owned(session: AsyncSession, partner_id: int, iccids: Sequence[str]) -> set[str]:
    query = select(Sim.iccid).where(Sim.partner_id == partner_id, Sim.iccid.in_(iccids))
    return set((await session.scalars(query)).all())


async def of_partner_by_iccids(
    session: AsyncSession, partner_id: int, iccids: Sequence[str]
) -> Sequence[Sim]:
    query = select(Sim).where(Sim.partner_id == partner_id, Sim.iccid.in_(iccids))
    return (await session.scalars(query)).all()


async def order_of(session: AsyncSession, order_id: int) -> Order | None:
    return await session.get(Order, order_id)


async def orders_by_id(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, Order]:
    if not order_ids:
        return {}
    rows = (await session.scalars(select(Order).where(Order.id.in_(set(order_ids))))).all()
    return {order.id: order for order in rows}


async def packages_of(session: AsyncSession, sim_id: int) -> Sequence[SimPackage]:
    query = select(SimPackage).where(SimPackage.sim_id == sim_id).order_by(SimPackage.id)
    return (await session.scalars(query)).all()


async def sims_of_orders(session: AsyncSession, order_ids: Sequence[int]) -> Sequence[Sim]:
    query = select(Sim).where(Sim.order_id.in_(order_ids)).order_by(Sim.id)
    return (await session.scalars(query)).all()
