"""Notification subscriptions, and delivering outbox events to them: signed, retried, recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import __version__
from esimhub.auth import tokens
from esimhub.config import Settings
from esimhub.kit import queue
from esimhub.kit.clock import Clock
from esimhub.models import (
    MailMessage,
    NotificationSubscription,
    OutboxEvent,
    Partner,
    WebhookDelivery,
)
from esimhub.webhooks import signing, targets

NOTIFICATION_TYPES = (
    "async_orders",
    "webhook_low_data",
    "email_low_data",
    "webhook_credit_limit",
    "email_credit_limit",
)
V1_NOTIFICATION_TYPES = NOTIFICATION_TYPES[1:]  # v1 knew low data and credit limit only
CREDIT_LEVELS = (50, 70, 80, 90)

LOW_DATA = "low_data_notification"
CREDIT_LIMIT = "credit_limit_notification"
ASYNC_ORDER = "async_order_notification"
WEBHOOK_TYPES = {
    LOW_DATA: "webhook_low_data",
    CREDIT_LIMIT: "webhook_credit_limit",
    ASYNC_ORDER: "async_orders",
}
EMAIL_TYPES = {LOW_DATA: "email_low_data", CREDIT_LIMIT: "email_credit_limit"}
BODY_KEPT = 1000


# -- subscriptions ----------------------------------------------------------------------------


async def subscription(
    session: AsyncSession, partner_id: int, kind: str | None = None
) -> NotificationSubscription | None:
    """One subscription: of ``kind``, or the partner's newest."""
    query = select(NotificationSubscription).where(
        NotificationSubscription.partner_id == partner_id
    )
    if kind is not None:
        query = query.where(NotificationSubscription.type == kind)
    query = query.order_by(NotificationSubscription.id.desc()).limit(1)
    return (await session.scalars(query)).first()


async def opt_in(
    session: AsyncSession,
    partner_id: int,
    *,
    kind: str,
    contact_point: str,
    language: str | None,
    levels: Sequence[int] | None,
    at: datetime,
) -> NotificationSubscription:
    """Subscribe (or re-subscribe, replacing the contact point) to one notification type."""
    found = await subscription(session, partner_id, kind)
    if found is None:
        found = NotificationSubscription(partner_id=partner_id, type=kind, created_at=at)
        session.add(found)
    found.contact_point = contact_point
    found.language = language
    found.levels = list(levels) if levels is not None else None
    await session.flush()
    return found


async def opt_out(session: AsyncSession, partner_id: int, kind: str) -> None:
    await session.execute(
        delete(NotificationSubscription).where(
            NotificationSubscription.partner_id == partner_id,
            NotificationSubscription.type == kind,
        )
    )


def describe(found: NotificationSubscription) -> dict[str, Any]:
    """The ``notification`` object of the opt-in answers."""
    body: dict[str, Any] = {"type": found.type, "contact_point": found.contact_point}
    if found.type.startswith("email_"):
        body["language"] = found.language or "en"
    if found.type.endswith("credit_limit"):
        body["levels"] = found.levels or list(CREDIT_LEVELS)
    return body


async def credit_levels(session: AsyncSession, partner_id: int) -> set[int]:
    """The credit-limit levels a partner wants to hear about (all when not subscribed)."""
    query = select(NotificationSubscription.levels).where(
        NotificationSubscription.partner_id == partner_id,
        NotificationSubscription.type.in_(("webhook_credit_limit", "email_credit_limit")),
    )
    chosen = [levels for levels in await session.scalars(query) if levels]
    if not chosen:
        return set(CREDIT_LEVELS)
    return {int(level) for levels in chosen for level in levels}


# -- delivery ---------------------------------------------------------------------------------


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, lease: int, limit: int = 50
) -> list[int]:
    """Lease up to ``limit`` due events to this worker."""
    pending = OutboxEvent.status == "pending"
    return await queue.lease(
        sessionmaker, OutboxEvent, pending, now=now, seconds=lease, limit=limit
    )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    body: str | None
    error: str | None
    duration_ms: int


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], settings: Settings
) -> Outcome:
    """One delivery attempt: only HTTP 200 counts as delivered."""
    started = time.perf_counter()
    try:
        await targets.check(url, settings)
        response = await client.post(url, content=body, headers=headers)
    except targets.TargetRefused as exc:
        return Outcome(False, None, None, str(exc), 0)
    except httpx.HTTPError as exc:
        elapsed = round((time.perf_counter() - started) * 1000)
        return Outcome(False, None, None, f"{exc.__class__.__name__}: {exc}"[:BODY_KEPT], elapsed)
    elapsed = round((time.perf_counter() - started) * 1000)
    return Outcome(
        response.status_code == 200, response.status_code, response.text[:BODY_KEPT], None, elapsed
    )


@dataclass(frozen=True)
class Prepared:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class _Recipients:
    """The partners and subscriptions of a batch of events, read in two queries."""

    partners: dict[int, Partner]
    subscriptions: dict[tuple[int, str], NotificationSubscription]

    @classmethod
    async def of(cls, session: AsyncSession, events: Sequence[OutboxEvent]) -> _Recipients:
        ids = {e.partner_id for e in events if e.partner_id is not None}
        partners = await session.scalars(select(Partner).where(Partner.id.in_(ids)))
        found = await session.scalars(
            select(NotificationSubscription).where(NotificationSubscription.partner_id.in_(ids))
        )
        return cls({p.id: p for p in partners}, {(s.partner_id, s.type): s for s in found})


def _prepare(
    session: AsyncSession,
    settings: Settings,
    event: OutboxEvent,
    recipients: _Recipients,
    now: datetime,
) -> Prepared | None:
    """Work out where the event goes and sign it; ``None`` when nobody wants it.

    Email subscriptions get their mail queued here, on the first attempt.
    """
    partner = recipients.partners.get(event.partner_id or 0)
    if partner is None:
        return None
    webhook_type, email_type = WEBHOOK_TYPES.get(event.kind), EMAIL_TYPES.get(event.kind)
    email = recipients.subscriptions.get((partner.id, email_type or ""))
    if email is not None and event.attempts == 0:
        session.add(_notification_mail(partner.id, email.contact_point, event, now))
    url = event.target_url
    if url is None:
        found = recipients.subscriptions.get((partner.id, webhook_type or ""))
        url = found.contact_point if found else None
    if url is None:
        return None
    secret = tokens.client_secret(settings.secret_key.get_secret_value(), partner.secret_salt)
    body = signing.encode(event.payload)
    headers = {
        "Content-Type": "application/json",
        signing.HEADER: signing.sign(secret, body),
        "User-Agent": f"esimhub-webhooks/{__version__}",
        "X-Esimhub-Event-Id": event.event_id,
        "X-Esimhub-Event": event.kind,
        "X-Esimhub-Attempt": str(event.attempts + 1),
    }
    return Prepared(url, body, headers)


def _notification_mail(
    partner_id: int, address: str, event: OutboxEvent, now: datetime
) -> MailMessage:
    payload = event.payload
    if event.kind == LOW_DATA:
        subject = f"eSIM {payload['iccid']}: {payload['level']} reached"
        text = (
            f"The eSIM {payload['iccid']} ({payload['package_name']}) reached the "
            f"{payload['level']} notification level; {payload['remaining_percentage']}% of its "
            "data is left."
        )
    else:
        subject = str(payload["message"])
        text = f"{payload['message']}. Remaining credit: {payload['remaining']} USD."
    return MailMessage(
        partner_id=partner_id,
        to_address=address,
        cc=[],
        subject=subject,
        body_text=text,
        attachments=[],
        status="queued",
        created_at=now,
    )


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    client: httpx.AsyncClient,
    event_ids: Sequence[int],
    *,
    concurrency: int = 16,
) -> list[str]:
    """Attempt a batch of leased events and record every attempt; returns the new statuses.

    One transaction prepares the batch, the POSTs run concurrently outside any transaction, one
    transaction records the outcomes: a crash in between leaves the events leased, to be sent
    again when the lease runs out.
    """
    statuses: dict[int, str] = {}
    prepared: dict[int, Prepared] = {}
    async with sessionmaker() as session, session.begin():
        batch = list(
            await session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(event_ids)))
        )
        recipients = await _Recipients.of(session, batch)
        for event in batch:
            if event.status != "pending":
                statuses[event.id] = event.status
                continue
            ready = _prepare(session, settings, event, recipients, clock.now())
            if ready is None:
                event.status, event.leased_until = "skipped", None
                statuses[event.id] = event.status
            else:
                prepared[event.id] = ready
    limit = asyncio.Semaphore(concurrency)

    async def attempt(ready: Prepared) -> Outcome:
        async with limit:
            return await post(client, ready.url, ready.body, ready.headers, settings)

    outcomes = await asyncio.gather(*(attempt(ready) for ready in prepared.values()))
    async with sessionmaker() as session, session.begin():
        attempted = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.id.in_(list(prepared)))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        by_id = {event.id: event for event in attempted}
        now = clock.now()
        for (event_id, ready), outcome in zip(prepared.items(), outcomes, strict=True):
            statuses[event_id] = _record(session, settings, by_id[event_id], ready, outcome, now)
    return [statuses.get(event_id, "gone") for event_id in event_ids]


def _record(
    session: AsyncSession,
    settings: Settings,
    event: OutboxEvent,
    ready: Prepared,
    outcome: Outcome,
    now: datetime,
) -> str:
    event.attempts += 1
    session.add(
        WebhookDelivery(
            event_id=event.id,
            attempt=event.attempts,
            url=ready.url,
            ok=outcome.ok,
            status_code=outcome.status_code,
            response_body=outcome.body,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            created_at=now,
        )
    )
    event.leased_until = None
    if outcome.ok:
        event.status, event.delivered_at = "delivered", now
    elif event.attempts >= settings.webhook_attempts:
        event.status = "failed"
    else:
        event.due_at = now + timedelta(seconds=settings.retry_delay(event.attempts))
    return event.status


# -- operators --------------------------------------------------------------------------------


async def events(
    session: AsyncSession,
    *,
    status: str | None = None,
    partner_id: int | None = None,
    limit: int = 100,
) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxEvent.status == status)
    if partner_id is not None:
        query = query.where(OutboxEvent.partner_id == partner_id)
    return list(await session.scalars(query))


async def event_by_public_id(session: AsyncSession, event_id: str) -> OutboxEvent | None:
    return (
        await session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == event_id))
    ).first()


async def deliveries(session: AsyncSession, event: OutboxEvent) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.event_id == event.id)
        .order_by(WebhookDelivery.id)
    )
    return list(await session.scalars(query))


async def replay(session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
    """Deliver the event again (whatever happened to it), at once."""
    event.status, event.due_at, event.leased_until = "pending", now, None


def event_summary(event: OutboxEvent, attempts: Sequence[WebhookDelivery] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event.event_id,
        "kind": event.kind,
        "partner_id": event.partner_id,
        "status": event.status,
        "attempts": event.attempts,
        "created_at": event.created_at.isoformat(),
        "due_at": event.due_at.isoformat(),
        "delivered_at": event.delivered_at.isoformat() if event.delivered_at else None,
        "target_url": event.target_url,
        "payload": event.payload,
    }
    if attempts:
        body["deliveries"] = [
            {
                "attempt": d.attempt,
                "url": d.url,
                "ok": d.ok,
                "status_code": d.status_code,
                "duration_ms": d.duration_ms,
                "error": d.error,
                "response_body": d.response_body,
                "at": d.created_at.isoformat(),
            }
            for d in attempts
        ]
    return body
