"""Notification work that owns its transactions: leasing and delivering outbox events, sending
mail, and the simulator's immediate delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.config import Settings
from esimhub.kit.clock import Clock
from esimhub.kit.statuses import EventStatus
from esimhub.notifications import mail, repository, service


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], *, clock: Clock, lease: int, limit: int = 50
) -> list[int]:
    """Lease up to ``limit`` due events to this worker."""
    async with db.transaction(sessionmaker) as session:
        return await repository.lease_events(session, now=clock.now(), seconds=lease, limit=limit)


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    client: httpx.AsyncClient,
    event_ids: Sequence[int],
    *,
    concurrency: int = 16,
    on_delivered: Callable[[float], None] | None = None,
) -> list[str]:
    """Attempt a batch of leased events and record every attempt; returns the new statuses.
    ``on_delivered`` hears, for each event delivered, the seconds since it was written.

    One transaction prepares the batch, the POSTs run concurrently outside any transaction, one
    transaction records the outcomes: a crash in between leaves the events leased, to be sent
    again when the lease runs out.
    """
    async with db.transaction(sessionmaker) as session:
        prepared, statuses = await service.prepare(session, settings, event_ids, clock.now())
    limit = asyncio.Semaphore(concurrency)

    async def attempt(ready: service.Prepared) -> service.Outcome:
        async with limit:
            return await service.post(client, ready.url, ready.body, ready.headers, settings)

    outcomes = await asyncio.gather(*(attempt(ready) for ready in prepared.values()))
    if prepared:
        attempts = dict(zip(prepared, zip(prepared.values(), outcomes, strict=True), strict=True))
        async with db.transaction(sessionmaker) as session:
            recorded = await service.record(
                session, settings, attempts, clock.now(), on_delivered=on_delivered
            )
            statuses.update(recorded)
    return [statuses.get(event_id, "gone") for event_id in event_ids]


async def push_now(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    *,
    partner_id: int,
    kind: str,
    payload: dict[str, Any],
    url: str,
) -> bool:
    """One immediate, recorded delivery attempt, never retried (the simulator answers now)."""
    async with db.transaction(sessionmaker) as session:
        event = service.leased_event(
            partner_id=partner_id,
            kind=kind,
            payload=payload,
            url=url,
            now=clock.now(),
            lease=settings.webhook_lease_seconds,
        )
        session.add(event)
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
        (status,) = await deliver(sessionmaker, settings, clock, client, [event.id])
    if status == EventStatus.PENDING:
        async with db.transaction(sessionmaker) as session:
            await service.give_up(session, event.id)
    return status == EventStatus.DELIVERED


async def send_mail(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> int:
    """Send what the mail queue holds; how many messages went out.

    One transaction leases and composes, SMTP is spoken outside any transaction (it never holds
    a database lock), one transaction records the outcomes. A worker that dies in between lets
    its messages go when the lease ends: a message may then be sent twice, never lost.
    """
    async with db.transaction(sessionmaker) as session:
        outgoing = await service.claim_mail(
            session, settings=settings, now=clock.now(), lease=settings.webhook_lease_seconds
        )
    if not outgoing or settings.smtp_url is None:
        return 0
    url = settings.smtp_url.get_secret_value()
    outcomes: dict[int, str | None] = {}
    for item in outgoing:
        try:
            await mail.send(url, item.email)
        except mail.MailError as exc:
            outcomes[item.message_id] = str(exc)
        else:
            outcomes[item.message_id] = None
    async with db.transaction(sessionmaker) as session:
        return await service.record_mail(session, outcomes, settings=settings, now=clock.now())
