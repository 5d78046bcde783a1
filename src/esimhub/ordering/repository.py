"""SQL of the ordering area: the balance ledger, orders, vouchers, refunds, idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import (
    IdempotencyKey,
    LedgerEntry,
    Order,
    Partner,
    Refund,
    Sim,
    Voucher,
)


async def lock_partner(session: AsyncSession, partner_id: int) -> Partner | None:
    """Serialise a partner's money-moving writes; must be the transaction's first statement.

    The UPDATE takes the partner's row lock on PostgreSQL and the database write lock on SQLite
    (as the first statement, it waits for the lock instead of failing a later read-to-write
    upgrade), so two orders never both see the same balance.
    """
    await session.execute(
        update(Partner)
        .where(Partner.id == partner_id)
        .values(ledger_version=Partner.ledger_version + 1)
    )
    return await session.get(Partner, partner_id, populate_existing=True)


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


# -- orders -----------------------------------------------------------------------------------


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


# -- vouchers, refunds ------------------------------------------------------------------------


async def voucher_codes_taken(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    query = select(Voucher.code).where(Voucher.code.in_(codes))
    return set((await session.scalars(query)).all())


async def refund_of(session: AsyncSession, refund_id: int) -> Refund | None:
    return await session.get(Refund, refund_id)


async def refunds(session: AsyncSession, status: str | None) -> Sequence[Refund]:
    query = select(Refund).order_by(Refund.id)
    if status:
        query = query.where(Refund.status == status)
    return (await session.scalars(query)).all()


async def open_refunds(session: AsyncSession, partner_id: int) -> Sequence[Refund]:
    query = select(Refund).where(
        Refund.partner_id == partner_id, Refund.status.in_(["pending", "approved"])
    )
    return (await session.scalars(query)).all()


# -- idempotency keys -------------------------------------------------------------------------


async def idempotency_key(
    session: AsyncSession, partner_id: int, key: str
) -> IdempotencyKey | None:
    query = select(IdempotencyKey).where(
        IdempotencyKey.partner_id == partner_id, IdempotencyKey.key == key
    )
    return (await session.scalars(query)).first()
