"""Usage: reading it for partners, feeding it from the network, and moving eSIMs through time."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db, outbox
from esimhub.esims import service as esims
from esimhub.kit.validation import Fields
from esimhub.models import Operator, Sim, SimPackage, UsageRecord
from esimhub.usage.lifecycle import MIB, Alert, Esim, Report, remaining_percentage
from esimhub.webhooks import service as webhooks

# A usage record may be stamped a little ahead of our clock (the operator's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)


class NetworkError(ValueError):
    """The network cannot do that to this eSIM (unknown, not issued, recycled)."""


async def load(session: AsyncSession, sim: Sim, *, lock: bool) -> Esim:
    """The eSIM with its package queue; ``lock`` first serialises writers of this eSIM."""
    if lock:
        await session.execute(
            update(Sim).where(Sim.id == sim.id).values(state_version=Sim.state_version + 1)
        )
        await session.refresh(sim)
    query = (
        select(SimPackage)
        .where(SimPackage.sim_id == sim.id)
        .execution_options(populate_existing=True)
    )
    return Esim(sim, list(await session.scalars(query)))


async def record_alerts(session: AsyncSession, esim: Esim, alerts: Sequence[Alert]) -> None:
    for alert in alerts:
        await outbox.emit(
            session,
            kind=webhooks.LOW_DATA,
            dedupe_key=f"low_data:{alert.package.id}:{alert.level}",
            payload={
                "level": alert.level,
                "package_name": alert.package.package_id,
                "remaining_percentage": remaining_percentage(alert.package),
                "iccid": esim.sim.iccid,
            },
            partner_id=esim.sim.partner_id,
            at=alert.at,
        )


async def settled(session: AsyncSession, sim: Sim, now: datetime) -> Esim:
    """The eSIM as of ``now``; locked and brought up to date only when something is due."""
    if sim.recycled_at is None and sim.due_at is not None and sim.due_at <= now:
        return await locked(session, sim, now)
    return await load(session, sim, lock=False)


async def locked(session: AsyncSession, sim: Sim, now: datetime) -> Esim:
    """The eSIM locked for a change, brought up to ``now`` first."""
    esim = await load(session, sim, lock=True)
    await record_alerts(session, esim, esim.settle(now))
    return esim


# -- partners ---------------------------------------------------------------------------------


async def usage(session: AsyncSession, partner_id: int, iccid: str, now: datetime) -> Report:
    sim = await esims.owned_sim(session, partner_id, iccid)
    return (await settled(session, sim, now)).report()


async def package_history(
    session: AsyncSession, partner_id: int, iccid: str, now: datetime
) -> list[SimPackage]:
    """The eSIM's package queue: the original purchase, then each top-up."""
    sim = await esims.owned_sim(session, partner_id, iccid)
    return (await settled(session, sim, now)).packages


# -- the network ------------------------------------------------------------------------------


async def _usable(session: AsyncSession, iccid: str, now: datetime) -> Esim:
    """A sold, not recycled eSIM, locked and brought up to ``now`` (an unsold pool profile is
    as unknown to the network as a made-up ICCID)."""
    return _usable_or_refuse(iccid, (await _lock_many(session, [iccid], now)).get(iccid))


def _usable_or_refuse(iccid: str, esim: Esim | None) -> Esim:
    if esim is None:
        raise NetworkError(f"unknown ICCID {iccid}")
    if esim.recycled:
        raise NetworkError(f"the eSIM {iccid} has been recycled")
    return esim


async def _covers(session: AsyncSession, sim: Sim, country: str | None) -> bool:
    """Whether the eSIM's operator serves ``country`` (unknown country or operator: assume so)."""
    if country is None:
        return True
    codes = await session.scalar(
        select(Operator.country_codes).where(Operator.id == sim.operator_id)
    )
    return not codes or country.upper() in codes


async def install(session: AsyncSession, iccid: str, now: datetime) -> Esim:
    esim = await _usable(session, iccid, now)
    esim.install(now)
    await record_alerts(session, esim, esim.settle(now))
    return esim


async def attach(session: AsyncSession, iccid: str, now: datetime, country: str | None) -> Esim:
    esim = await _usable(session, iccid, now)
    esim.attach(now, country, covered=await _covers(session, esim.sim, country))
    await record_alerts(session, esim, esim.settle(now))
    return esim


@dataclass(frozen=True)
class RecordIn:
    record_id: str
    iccid: str
    started_at: datetime
    data_bytes: int = 0
    voice_seconds: int = 0
    sms: int = 0
    country: str | None = None


async def apply(
    session: AsyncSession, esim: Esim, record: RecordIn, *, source: str, now: datetime
) -> bool:
    """Apply one usage record to a locked, usable eSIM; ``False`` if its id was applied before.

    Every refusal (``NetworkError``) happens before the record changes anything.
    """
    if record.started_at < (esim.sim.issued_at or record.started_at):
        raise NetworkError("started_at is before the eSIM was issued")
    stored = await session.scalar(
        db.insert(session, UsageRecord)
        .values(
            record_id=record.record_id,
            sim_id=esim.sim.id,
            started_at=record.started_at,
            bytes=record.data_bytes,
            voice_seconds=record.voice_seconds,
            sms=record.sms,
            country=record.country,
            source=source,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["record_id"])
        .returning(UsageRecord.id)
    )
    if stored is None:
        return False
    # coverage matters only for the first attach
    covered = esim.sim.attached_at is not None or await _covers(session, esim.sim, record.country)
    esim.attach(record.started_at, record.country, covered=covered)
    charged, alerts = esim.consume(
        now, data_bytes=record.data_bytes, voice_seconds=record.voice_seconds, sms=record.sms
    )
    await record_alerts(session, esim, alerts)
    if charged is not None:
        await session.execute(
            update(UsageRecord).where(UsageRecord.id == stored).values(sim_package_id=charged.id)
        )
    return True


async def consume(
    session: AsyncSession,
    iccid: str,
    now: datetime,
    *,
    megabytes: float = 0,
    voice_minutes: float = 0,
    sms: int = 0,
    country: str | None = None,
) -> Esim:
    """Simulated traffic, recorded like a feed record (so it shows in the usage history)."""
    record = RecordIn(
        record_id=f"net-{secrets.token_hex(12)}",
        iccid=iccid,
        started_at=now,
        data_bytes=round(megabytes * MIB),
        voice_seconds=round(voice_minutes * 60),
        sms=sms,
        country=country,
    )
    esim = await _usable(session, iccid, now)
    await apply(session, esim, record, source="network", now=now)
    return esim


# -- the operator's usage feed ----------------------------------------------------------------


@dataclass
class IngestResult:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def parse_record(raw: Any, now: datetime) -> tuple[RecordIn | None, dict[str, str]]:
    """One feed record, or its field errors (Laravel-style messages)."""
    if not isinstance(raw, dict):
        return None, {"record": "The record must be an object."}
    fields = Fields(raw)
    record_id = fields.string("id", required=True, max_length=100)
    iccid = fields.string("iccid", required=True, max_length=22)
    started_at = fields.datetime("started_at", required=True)
    amounts = {
        name: fields.integer(name, minimum=0, maximum=10**15)
        for name in ("bytes", "voice_seconds", "sms")
    }
    country = fields.string("country", max_length=2)
    if country is not None and not (len(country) == 2 and country.isalpha()):
        fields.fail("country", "The country must be a 2-letter ISO 3166 code.")
    if started_at is not None and started_at > now + CLOCK_SKEW:
        fields.errors.setdefault("started_at", "The started at must not be in the future.")
    if all(raw.get(name) in (None, "") for name in amounts):
        fields.fail("bytes", "One of bytes, voice seconds or sms is required.")
    if fields.errors:
        return None, fields.errors
    assert record_id is not None
    assert iccid is not None
    assert started_at is not None
    return (
        RecordIn(
            record_id=record_id,
            iccid=iccid,
            started_at=started_at,
            data_bytes=amounts["bytes"] or 0,
            voice_seconds=amounts["voice_seconds"] or 0,
            sms=amounts["sms"] or 0,
            country=country.upper() if country else None,
        ),
        {},
    )


async def ingest(session: AsyncSession, records: Sequence[Any], now: datetime) -> IngestResult:
    """Apply a batch of feed records; each is applied whole or rejected with its reasons.

    Records are applied eSIM by eSIM (each eSIM locked and loaded once), in feed order per eSIM.
    """
    result = IngestResult()
    seen: set[str] = set()
    by_sim: dict[str, list[tuple[int, RecordIn]]] = {}
    for index, raw in enumerate(records):
        record, errors = parse_record(raw, now)
        if record is None:
            record_id = raw.get("id") if isinstance(raw, dict) else None
            result.rejected.append({"index": index, "id": record_id, "errors": errors})
        elif record.record_id in seen:
            result.duplicates.append(record.record_id)
        else:
            seen.add(record.record_id)
            by_sim.setdefault(record.iccid, []).append((index, record))
    esims_by_iccid = await _lock_many(session, list(by_sim), now)
    for iccid, batch in by_sim.items():
        try:
            esim = _usable_or_refuse(iccid, esims_by_iccid.get(iccid))
        except NetworkError as exc:
            result.rejected.extend(_rejection(index, record, exc) for index, record in batch)
            continue
        for index, record in batch:
            try:
                applied = await apply(session, esim, record, source="feed", now=now)
            except NetworkError as exc:
                result.rejected.append(_rejection(index, record, exc))
                continue
            (result.accepted if applied else result.duplicates).append(record.record_id)
    result.rejected.sort(key=lambda r: int(r["index"]))
    return result


async def _lock_many(
    session: AsyncSession, iccids: Sequence[str], now: datetime
) -> dict[str, Esim]:
    """The sold eSIMs among ``iccids``, locked (in id order, so batches never deadlock), loaded
    with their packages in two queries, and brought up to ``now``."""
    ids = list(
        await session.scalars(
            select(Sim.id)
            .where(Sim.iccid.in_(iccids), Sim.partner_id.is_not(None))
            .order_by(Sim.id)
            .with_for_update()
        )
    )
    if not ids:
        return {}
    await session.execute(
        update(Sim).where(Sim.id.in_(ids)).values(state_version=Sim.state_version + 1)
    )
    fresh = {"populate_existing": True}
    sims = await session.scalars(select(Sim).where(Sim.id.in_(ids)).execution_options(**fresh))
    queues: dict[int, list[SimPackage]] = {}
    for package in await session.scalars(
        select(SimPackage).where(SimPackage.sim_id.in_(ids)).execution_options(**fresh)
    ):
        queues.setdefault(package.sim_id, []).append(package)
    loaded = {sim.iccid: Esim(sim, queues.get(sim.id, [])) for sim in sims}
    for esim in loaded.values():
        await record_alerts(session, esim, esim.settle(now))
    return loaded


def _rejection(index: int, record: RecordIn, error: NetworkError) -> dict[str, Any]:
    return {"index": index, "id": record.record_id, "errors": {"iccid": str(error)}}


# -- time -------------------------------------------------------------------------------------


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Settle every eSIM whose next time-driven moment has come; one transaction per eSIM."""
    async with sessionmaker() as session:
        due = list(
            await session.scalars(
                select(Sim.id)
                .where(Sim.due_at <= now, Sim.recycled_at.is_(None))
                .order_by(Sim.due_at)
            )
        )
    for sim_id in due:
        async with sessionmaker() as session, session.begin():
            sim = await session.get(Sim, sim_id)
            if sim is not None:
                await locked(session, sim, now)
    return len(due)
