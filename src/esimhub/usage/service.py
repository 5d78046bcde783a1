"""Usage rules: an eSIM's package queue brought up to date, what usage reports, and the
low-data alerts recorded on the way. Takes a session, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from esimhub.errors import BusinessError, NotFound
from esimhub.models import Sim, SimPackage
from esimhub.notifications import payloads
from esimhub.notifications import service as notifications
from esimhub.usage import repository
from esimhub.usage.lifecycle import Alert, Report, SimState, remaining_percentage


class SimRecycled(BusinessError):
    def __init__(self, iccid: str) -> None:
        super().__init__(
            73,
            f"The eSIM with iccid {iccid} has been recycled. It can no longer be used or topped up.",
        )


async def owned_sim(session: AsyncSession, partner_id: int, iccid: str) -> Sim:
    """One of the partner's eSIMs; another partner's ICCID is as unknown as a made-up one."""
    sim = await repository.owned_sim(session, partner_id, iccid)
    if sim is None:
        raise NotFound()
    return sim


async def load(session: AsyncSession, sim: Sim, *, lock: bool) -> SimState:
    """The eSIM with its package queue; ``lock`` first serialises writers of this eSIM."""
    if lock:
        await repository.lock_sim(session, sim)
    return SimState(sim, await repository.packages(session, sim.id))


async def record_alerts(session: AsyncSession, state: SimState, alerts: Sequence[Alert]) -> None:
    for alert in alerts:
        await notifications.emit(
            session,
            kind=payloads.LOW_DATA,
            dedupe_key=f"low_data:{alert.package.id}:{alert.level}",
            payload=payloads.low_data(
                level=alert.level,
                package_name=alert.package.package_id,
                remaining_percentage=remaining_percentage(alert.package),
                iccid=state.sim.iccid,
            ),
            partner_id=state.sim.partner_id,
            at=alert.at,
        )


def is_due(sim: Sim, now: datetime) -> bool:
    """Whether something time-driven (an expiry, an alert, recycling) has come for the eSIM."""
    return sim.recycled_at is None and sim.due_at is not None and sim.due_at <= now


async def settled(session: AsyncSession, sim: Sim, now: datetime) -> SimState:
    """The eSIM as of ``now``; locked and brought up to date only when something is due."""
    if is_due(sim, now):
        return await locked(session, sim, now)
    return await load(session, sim, lock=False)


async def locked(session: AsyncSession, sim: Sim, now: datetime) -> SimState:
    """The eSIM locked for a change, brought up to ``now`` first."""
    state = await load(session, sim, lock=True)
    await record_alerts(session, state, state.settle(now))
    return state


async def settle_due(session: AsyncSession, sim_id: int, now: datetime) -> None:
    """Bring one eSIM up to ``now`` (the sweep, one eSIM per transaction)."""
    sim = await repository.sim(session, sim_id)
    if sim is not None:
        await locked(session, sim, now)


async def due_sim_ids(session: AsyncSession, now: datetime) -> Sequence[int]:
    return await repository.due_sim_ids(session, now)


async def refuse_if_recycled(session: AsyncSession, sim: Sim, now: datetime) -> None:
    """Code 73 for an eSIM that has been (or, as of ``now``, would be) recycled."""
    if (await settled(session, sim, now)).recycled:
        raise SimRecycled(sim.iccid)


# -- partners ---------------------------------------------------------------------------------


async def usage(session: AsyncSession, partner_id: int, iccid: str, now: datetime) -> Report:
    sim = await owned_sim(session, partner_id, iccid)
    return (await settled(session, sim, now)).report()


async def usage_if_settled(
    engine: AsyncEngine, partner_id: int, iccid: str, now: datetime
) -> Report | None:
    """The usage report from one read, or ``None`` when the eSIM has something due (an expiry,
    an alert, recycling): then ``usage`` must settle it in a transaction first."""
    found = await repository.snapshot(engine, partner_id, iccid)
    if found is None:
        raise NotFound()
    sim, packages = found
    if is_due(sim, now):
        return None
    return SimState(sim, packages).report()


async def package_history(
    session: AsyncSession, partner_id: int, iccid: str, now: datetime
) -> list[SimPackage]:
    """The eSIM's package queue: the original purchase, then each top-up."""
    sim = await owned_sim(session, partner_id, iccid)
    return (await settled(session, sim, now)).packages
