"""SQL of the network area: locking the eSIMs a batch touches, coverage, and usage records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.models import Operator, Sim, SimPackage, UsageRecord


async def lock_sold_sims(
    session: AsyncSession, iccids: Sequence[str]
) -> tuple[Sequence[Sim], dict[int, list[SimPackage]]]:
    """The sold eSIMs among ``iccids``, locked in id order (so batches never deadlock), with
    their package queues: four statements whatever the batch size."""
    ids = list(
        await session.scalars(
            select(Sim.id)
            .where(Sim.iccid.in_(iccids), Sim.partner_id.is_not(None))
            .order_by(Sim.id)
            .with_for_update()
        )
    )
    if not ids:
        return [], {}
    await session.execute(
        update(Sim).where(Sim.id.in_(ids)).values(state_version=Sim.state_version + 1)
    )
    fresh = {"populate_existing": True}
    sims = (
        await session.scalars(select(Sim).where(Sim.id.in_(ids)).execution_options(**fresh))
    ).all()
    queues: dict[int, list[SimPackage]] = {}
    for package in await session.scalars(
        select(SimPackage).where(SimPackage.sim_id.in_(ids)).execution_options(**fresh)
    ):
        queues.setdefault(package.sim_id, []).append(package)
    return sims, queues


async def country_codes(session: AsyncSession, operator_id: int) -> list[str] | None:
    """The countries an operator covers (``None``: not known)."""
    codes = await session.scalar(select(Operator.country_codes).where(Operator.id == operator_id))
    return list(codes) if codes else None


async def insert_record_once(
    session: AsyncSession,
    *,
    record_id: str,
    sim_id: int,
    started_at: datetime,
    data_bytes: int,
    voice_seconds: int,
    sms: int,
    country: str | None,
    source: str,
    received_at: datetime,
) -> int | None:
    """Store a usage record; ``None`` when its id was stored before."""
    stored = await session.scalar(
        db.insert(session, UsageRecord)
        .values(
            record_id=record_id,
            sim_id=sim_id,
            started_at=started_at,
            bytes=data_bytes,
            voice_seconds=voice_seconds,
            sms=sms,
            country=country,
            source=source,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["record_id"])
        .returning(UsageRecord.id)
    )
    return int(stored) if stored is not None else None


async def charge_record(session: AsyncSession, record_id: int, sim_package_id: int) -> None:
    """Note which package a stored usage record was charged to."""
    await session.execute(
        update(UsageRecord).where(UsageRecord.id == record_id).values(sim_package_id=sim_package_id)
    )


async def newest_sold_iccids(session: AsyncSession, count: int) -> list[str]:
    """The ``count`` most recently sold eSIMs that are not recycled."""
    query = (
        select(Sim.iccid)
        .where(Sim.partner_id.is_not(None), Sim.recycled_at.is_(None))
        .order_by(Sim.issued_at.desc())
        .limit(count)
    )
    return list(await session.scalars(query))
