"""SQL of the eSIM area. Every partner-facing query is scoped to the partner here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.kit.statuses import Supply
from esimhub.models import Brand, Operator, Order, ShareAttempt, Sim, SimPackage


async def by_iccid(session: AsyncSession, partner_id: int, iccid: str) -> Sim | None:
    query = select(Sim).where(Sim.iccid == iccid, Sim.partner_id == partner_id)
    return (await session.scalars(query)).first()


async def by_id(session: AsyncSession, sim_id: int) -> Sim | None:
    return await session.get(Sim, sim_id)


async def by_share_id(session: AsyncSession, share_id: str) -> Sim | None:
    return (await session.scalars(select(Sim).where(Sim.share_id == share_id))).first()


async def iccids_owned(session: AsyncSession, partner_id: int, iccids: Sequence[str]) -> set[str]:
    query = select(Sim.iccid).where(Sim.partner_id == partner_id, Sim.iccid.in_(iccids))
    return set((await session.scalars(query)).all())


async def of_partner_by_iccids(
    session: AsyncSession, partner_id: int, iccids: Sequence[str]
) -> Sequence[Sim]:
    query = select(Sim).where(Sim.partner_id == partner_id, Sim.iccid.in_(iccids))
    return (await session.scalars(query)).all()


async def operator_supply(session: AsyncSession, operator_id: int) -> str:
    supply = await session.scalar(select(Operator.supply).where(Operator.id == operator_id))
    return supply or Supply.GENERATED


async def pool_available(session: AsyncSession, operator_id: int) -> int:
    query = select(func.count(Sim.id)).where(
        Sim.operator_id == operator_id, Sim.source == Supply.POOL, Sim.order_id.is_(None)
    )
    return int(await session.scalar(query) or 0)


async def add_packages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Queue packages on eSIMs (``SimPackage`` rows), in one statement, outside the unit of
    work: an order writes them and does not read them back."""
    await session.execute(insert(SimPackage), rows)


async def claim_pool(session: AsyncSession, operator_id: int, quantity: int) -> Sequence[Sim]:
    """Lock and return up to ``quantity`` unissued pool profiles of the operator.

    ``SKIP LOCKED`` lets concurrent orders of different partners take different profiles instead
    of waiting for each other; SQLite has one writer at a time and ignores the clause.
    """
    query = (
        select(Sim)
        .where(Sim.operator_id == operator_id, Sim.source == Supply.POOL, Sim.order_id.is_(None))
        .order_by(Sim.id)
        .limit(quantity)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def existing_iccids(session: AsyncSession, iccids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(iccids), 500):
        chunk = iccids[start : start + 500]
        found.update((await session.scalars(select(Sim.iccid).where(Sim.iccid.in_(chunk)))).all())
    return found


async def packages_of(session: AsyncSession, sim_id: int) -> Sequence[SimPackage]:
    query = select(SimPackage).where(SimPackage.sim_id == sim_id).order_by(SimPackage.id)
    return (await session.scalars(query)).all()


@dataclass(frozen=True)
class SimFilters:
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    iccid: str | None = None


def _sims_query(partner_id: int, filters: SimFilters) -> Select[Sim]:
    query = select(Sim).where(Sim.partner_id == partner_id)
    if filters.created_from is not None:
        query = query.where(Sim.issued_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Sim.issued_at < filters.created_to)
    if filters.iccid:
        query = query.where(Sim.iccid.contains(filters.iccid, autoescape=True))
    return query


async def count_sims(session: AsyncSession, partner_id: int, filters: SimFilters) -> int:
    query = _sims_query(partner_id, filters).with_only_columns(func.count(Sim.id))
    return int(await session.scalar(query) or 0)


async def list_sims(
    session: AsyncSession, partner_id: int, filters: SimFilters, *, offset: int, limit: int
) -> Sequence[Sim]:
    query = (
        _sims_query(partner_id, filters)
        .order_by(Sim.issued_at.desc(), Sim.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def sims_of_orders(session: AsyncSession, order_ids: Sequence[int]) -> Sequence[Sim]:
    if not order_ids:
        return []
    query = select(Sim).where(Sim.order_id.in_(order_ids)).order_by(Sim.id)
    return (await session.scalars(query)).all()


async def orders_by_id(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, Order]:
    if not order_ids:
        return {}
    rows = (await session.scalars(select(Order).where(Order.id.in_(set(order_ids))))).all()
    return {order.id: order for order in rows}


async def brands_by_id(session: AsyncSession, brand_ids: Sequence[int]) -> dict[int, Brand]:
    ids = {i for i in brand_ids if i is not None}
    if not ids:
        return {}
    rows = (await session.scalars(select(Brand).where(Brand.id.in_(ids)))).all()
    return {brand.id: brand for brand in rows}


async def brand_by_name(session: AsyncSession, partner_id: int, name: str) -> Brand | None:
    query = select(Brand).where(Brand.partner_id == partner_id, Brand.name == name)
    return (await session.scalars(query)).first()


async def brands_of(session: AsyncSession, partner_id: int) -> Sequence[Brand]:
    query = select(Brand).where(Brand.partner_id == partner_id).order_by(Brand.name)
    return (await session.scalars(query)).all()


async def record_share_failure(
    session: AsyncSession, sim_id: int, *, lock_until: datetime | None
) -> None:
    """Count a wrong access code in SQL (concurrent guesses all count); a lock resets the count."""
    statement = update(Sim).where(Sim.id == sim_id)
    if lock_until is None:
        statement = statement.values(share_failures=Sim.share_failures + 1)
    else:
        statement = statement.values(share_failures=0, share_locked_until=lock_until)
    await session.execute(statement)


async def operator(session: AsyncSession, operator_id: int) -> Operator | None:
    return await session.get(Operator, operator_id)


async def operator_by_title(session: AsyncSession, title: str) -> Operator | None:
    query = select(Operator).where(func.lower(Operator.title) == title.lower()).limit(1)
    return (await session.scalars(query)).first()


async def pool_operators(session: AsyncSession) -> Sequence[Operator]:
    return (await session.scalars(select(Operator).where(Operator.supply == Supply.POOL))).all()


async def reserve_share_attempt(
    session: AsyncSession, sim_id: int, client: str, *, now: datetime, limit: int
) -> int | None:
    """Take one of the ``limit`` code checks a client has on a share page: the number taken
    (1..limit), or ``None`` while the page is locked for it.

    The count is one conditional UPDATE, so however many guesses arrive at once, at most
    ``limit`` are checked (PostgreSQL re-reads the row after waiting for its lock; SQLite has one
    writer). An expired lock starts the count again.
    """
    await session.execute(
        db.insert(session, ShareAttempt)
        .values(sim_id=sim_id, client=client, failures=0, locked_until=None)
        .on_conflict_do_nothing(index_elements=["sim_id", "client"])
    )
    this = (ShareAttempt.sim_id == sim_id) & (ShareAttempt.client == client)
    await session.execute(
        update(ShareAttempt)
        .where(this, ShareAttempt.locked_until <= now)
        .values(failures=0, locked_until=None)
    )
    taken = await session.scalar(
        update(ShareAttempt)
        .where(this, ShareAttempt.locked_until.is_(None), ShareAttempt.failures < limit)
        .values(failures=ShareAttempt.failures + 1)
        .returning(ShareAttempt.failures)
    )
    return int(taken) if taken is not None else None


async def share_lock(session: AsyncSession, sim_id: int, client: str) -> datetime | None:
    query = select(ShareAttempt.locked_until).where(
        ShareAttempt.sim_id == sim_id, ShareAttempt.client == client
    )
    return await session.scalar(query)


async def end_share_attempts(
    session: AsyncSession, sim_id: int, client: str, *, lock_until: datetime | None
) -> None:
    """After the right code (no lock: the count starts again) or the last wrong one (a lock)."""
    await session.execute(
        update(ShareAttempt)
        .where(ShareAttempt.sim_id == sim_id, ShareAttempt.client == client)
        .values(failures=0, locked_until=lock_until)
    )
