"""SQL of the usage area: an eSIM's package queue, its row lock, and the eSIMs due to settle.
Partner-facing reads are scoped to the partner here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from esimhub.db import Detached, DriverQuery
from esimhub.models import Sim, SimPackage


async def owned_sim(session: AsyncSession, partner_id: int, iccid: str) -> Sim | None:
    query = select(Sim).where(Sim.iccid == iccid, Sim.partner_id == partner_id)
    return (await session.scalars(query)).first()


async def sim(session: AsyncSession, sim_id: int) -> Sim | None:
    return await session.get(Sim, sim_id)


async def lock_sim(session: AsyncSession, sim: Sim) -> None:
    """Serialise writers of one eSIM (a row lock on PostgreSQL), then read it afresh."""
    await session.execute(
        update(Sim).where(Sim.id == sim.id).values(state_version=Sim.state_version + 1)
    )
    await session.refresh(sim)


async def packages(session: AsyncSession, sim_id: int) -> list[SimPackage]:
    """The eSIM's package queue, as stored now (not as an earlier read left it)."""
    query = (
        select(SimPackage)
        .where(SimPackage.sim_id == sim_id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def due_sim_ids(session: AsyncSession, now: datetime) -> Sequence[int]:
    """eSIMs whose next time-driven moment (expiry, alert, recycling) has come, soonest first."""
    query = select(Sim.id).where(Sim.due_at <= now, Sim.recycled_at.is_(None)).order_by(Sim.due_at)
    return (await session.scalars(query)).all()


# -- the usage read path: one statement on the driver, no ORM session -------------------------

# What the usage lifecycle reads of an eSIM (``usage.lifecycle``; any other column read from a
# snapshot raises): not its QR images, share links or profile.
_SIM_COLUMNS = [
    Sim.__table__.c[name]
    for name in (
        "id",
        "iccid",
        "partner_id",
        "activation_policy",
        "issued_at",
        "installed_at",
        "attached_at",
        "last_country",
        "install_window_days",
        "topup_grace_window_days",
        "recycled_at",
        "due_at",
    )
]
_PACKAGE_COLUMNS = list(SimPackage.__table__.columns)
_SIM = Detached(Sim, [column.key for column in _SIM_COLUMNS])
_PACKAGE = Detached(SimPackage, [column.key for column in _PACKAGE_COLUMNS])
_PACKAGE_ID = len(_SIM_COLUMNS) + _PACKAGE_COLUMNS.index(SimPackage.__table__.c.id)
_SNAPSHOT = DriverQuery(
    select(*_SIM_COLUMNS, *(c.label(f"p__{c.key}") for c in _PACKAGE_COLUMNS))  # rows by position
    .outerjoin(SimPackage, SimPackage.sim_id == Sim.id)
    .where(Sim.iccid == bindparam("iccid"), Sim.partner_id == bindparam("partner_id"))
    .order_by(SimPackage.id)
)


async def snapshot(
    engine: AsyncEngine, partner_id: int, iccid: str
) -> tuple[Sim, list[SimPackage]] | None:
    """The partner's eSIM and its package queue as stored, in one query, as detached objects
    (nothing is loaded into a session, nothing can be written back)."""
    rows = await _SNAPSHOT.rows(engine, iccid=iccid, partner_id=partner_id)
    if not rows:
        return None
    split = len(_SIM_COLUMNS)
    # an eSIM without packages comes back as one row of NULL package columns (an outer join)
    packages = [_PACKAGE(row[split:]) for row in rows if row[_PACKAGE_ID] is not None]
    return _SIM(rows[0][:split]), packages
