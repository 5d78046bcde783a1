"""The network: where usage comes from. Installs, attaches and traffic (the simulator and
``esimhub network``), and an operator's usage feed (``POST /admin/v1/usage-records``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.kit.validation import Fields
from esimhub.models import Sim
from esimhub.network import repository
from esimhub.usage import service as usage
from esimhub.usage.lifecycle import MIB, SimState

# A usage record may be stamped a little ahead of our clock (the operator's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)


class NetworkError(ValueError):
    """The network cannot do that to this eSIM (unknown, not issued, recycled)."""


async def _usable(session: AsyncSession, iccid: str, now: datetime) -> SimState:
    """A sold, not recycled eSIM, locked and brought up to ``now`` (an unsold pool profile is
    as unknown to the network as a made-up ICCID)."""
    return _usable_or_refuse(iccid, (await _lock_many(session, [iccid], now)).get(iccid))


def _usable_or_refuse(iccid: str, state: SimState | None) -> SimState:
    if state is None:
        raise NetworkError(f"unknown ICCID {iccid}")
    if state.recycled:
        raise NetworkError(f"the eSIM {iccid} has been recycled")
    return state


async def _covers(session: AsyncSession, sim: Sim, country: str | None) -> bool:
    """Whether the eSIM's operator serves ``country`` (unknown country or operator: assume so)."""
    if country is None:
        return True
    codes = await repository.country_codes(session, sim.operator_id)
    return not codes or country.upper() in codes


async def install(session: AsyncSession, iccid: str, now: datetime) -> SimState:
    state = await _usable(session, iccid, now)
    state.install(now)
    await usage.record_alerts(session, state, state.settle(now))
    return state


async def attach(session: AsyncSession, iccid: str, now: datetime, country: str | None) -> SimState:
    state = await _usable(session, iccid, now)
    state.attach(now, country, covered=await _covers(session, state.sim, country))
    await usage.record_alerts(session, state, state.settle(now))
    return state


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
    session: AsyncSession, state: SimState, record: RecordIn, *, source: str, now: datetime
) -> bool:
    """Apply one usage record to a locked, usable eSIM; ``False`` if its id was applied before.

    Every refusal (``NetworkError``) happens before the record changes anything.
    """
    if record.started_at < (state.sim.issued_at or record.started_at):
        raise NetworkError("started_at is before the eSIM was issued")
    stored = await repository.insert_record_once(
        session,
        record_id=record.record_id,
        sim_id=state.sim.id,
        started_at=record.started_at,
        data_bytes=record.data_bytes,
        voice_seconds=record.voice_seconds,
        sms=record.sms,
        country=record.country,
        source=source,
        received_at=now,
    )
    if stored is None:
        return False
    # coverage matters only for the first attach
    covered = state.sim.attached_at is not None or await _covers(session, state.sim, record.country)
    state.attach(record.started_at, record.country, covered=covered)
    charged, alerts = state.consume(
        now, data_bytes=record.data_bytes, voice_seconds=record.voice_seconds, sms=record.sms
    )
    await usage.record_alerts(session, state, alerts)
    if charged is not None:
        await repository.charge_record(session, stored, charged.id)
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
) -> SimState:
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
    state = await _usable(session, iccid, now)
    await apply(session, state, record, source="network", now=now)
    return state


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
    states = await _lock_many(session, list(by_sim), now)
    for iccid, batch in by_sim.items():
        try:
            state = _usable_or_refuse(iccid, states.get(iccid))
        except NetworkError as exc:
            result.rejected.extend(_rejection(index, record, exc) for index, record in batch)
            continue
        for index, record in batch:
            try:
                applied = await apply(session, state, record, source="feed", now=now)
            except NetworkError as exc:
                result.rejected.append(_rejection(index, record, exc))
                continue
            (result.accepted if applied else result.duplicates).append(record.record_id)
    result.rejected.sort(key=lambda r: int(r["index"]))
    return result


async def _lock_many(
    session: AsyncSession, iccids: Sequence[str], now: datetime
) -> dict[str, SimState]:
    """The sold eSIMs among ``iccids``, locked, loaded and brought up to ``now``."""
    sims, queues = await repository.lock_sold_sims(session, iccids)
    loaded = {sim.iccid: SimState(sim, queues.get(sim.id, [])) for sim in sims}
    for state in loaded.values():
        await usage.record_alerts(session, state, state.settle(now))
    return loaded


def _rejection(index: int, record: RecordIn, error: NetworkError) -> dict[str, Any]:
    return {"index": index, "id": record.record_id, "errors": {"iccid": str(error)}}


async def newest_sold_iccids(session: AsyncSession, count: int) -> list[str]:
    return await repository.newest_sold_iccids(session, count)
