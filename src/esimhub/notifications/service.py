"""Notification rules: subscriptions, the outbox, preparing and recording webhook deliveries,
and mail. Takes a session and never commits (``tasks`` owns the delivery transactions)."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import __version__
from esimhub.config import Settings
from esimhub.kit import logs
from esimhub.kit.signing import partner_secret
from esimhub.kit.statuses import EventStatus, MailStatus
from esimhub.models import MailMessage, NotificationSubscription, OutboxEvent, WebhookDelivery
from esimhub.notifications import mail, payloads, repository, signing, targets
from esimhub.notifications.payloads import ASYNC_ORDER, CREDIT_LEVELS, CREDIT_LIMIT, LOW_DATA

WEBHOOK_TYPES = {
    LOW_DATA: "webhook_low_data",
    CREDIT_LIMIT: "webhook_credit_limit",
    ASYNC_ORDER: "async_orders",
}
EMAIL_TYPES = {LOW_DATA: "email_low_data", CREDIT_LIMIT: "email_credit_limit"}
BODY_KEPT = 1000

log = logging.getLogger("esimhub.webhooks")


# -- subscriptions ----------------------------------------------------------------------------


async def subscription(
    session: AsyncSession, partner_id: int, kind: str | None = None
) -> NotificationSubscription | None:
    return await repository.subscription(session, partner_id, kind)


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
    found = await repository.subscription(session, partner_id, kind)
    if found is None:
        found = NotificationSubscription(partner_id=partner_id, type=kind, created_at=at)
        session.add(found)
    found.contact_point = contact_point
    found.language = language
    found.levels = list(levels) if levels is not None else None
    await session.flush()
    return found


async def opt_out(session: AsyncSession, partner_id: int, kind: str) -> None:
    await repository.delete_subscription(session, partner_id, kind)


async def credit_levels(session: AsyncSession, partner_id: int) -> set[int]:
    """The credit-limit levels a partner wants to hear about (all when not subscribed)."""
    kinds = ("webhook_credit_limit", "email_credit_limit")
    chosen = await repository.chosen_levels(session, partner_id, kinds)
    if not chosen:
        return set(CREDIT_LEVELS)
    return {int(level) for levels in chosen for level in levels}


async def webhook_target(session: AsyncSession, partner_id: int, kind: str) -> str | None:
    """Where the partner's webhooks of event ``kind`` go, if it subscribed to them."""
    found = await repository.subscription(session, partner_id, WEBHOOK_TYPES[kind])
    return found.contact_point if found else None


# -- the outbox -------------------------------------------------------------------------------


def event_id() -> str:
    return secrets.token_hex(16)


async def emit(
    session: AsyncSession,
    *,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    partner_id: int | None,
    at: datetime,
    target_url: str | None = None,
) -> None:
    """Record an event, in the caller's transaction, unless one with ``dedupe_key`` exists.

    ``target_url`` overrides the partner's subscription."""
    await repository.insert_event_once(
        session,
        event_id=event_id(),
        partner_id=partner_id,
        kind=kind,
        dedupe_key=dedupe_key,
        payload=payload,
        status=EventStatus.PENDING,
        due_at=at,
        created_at=at,
        target_url=target_url,
        request_id=logs.request_id.get(),
    )


def leased_event(
    *, partner_id: int, kind: str, payload: dict[str, Any], url: str, now: datetime, lease: int
) -> OutboxEvent:
    """An event already leased to the caller, which delivers it at once (the simulator)."""
    return OutboxEvent(
        event_id=event_id(),
        partner_id=partner_id,
        kind=kind,
        dedupe_key=f"simulator:{event_id()}",
        payload=payload,
        status=EventStatus.PENDING,
        due_at=now,
        created_at=now,
        target_url=url,
        attempts=0,
        leased_until=now + timedelta(seconds=lease),
        request_id=logs.request_id.get(),
    )


async def events(
    session: AsyncSession,
    *,
    status: str | None = None,
    partner_id: int | None = None,
    limit: int = 100,
) -> list[OutboxEvent]:
    return await repository.events(session, status=status, partner_id=partner_id, limit=limit)


async def event_by_public_id(session: AsyncSession, event_id: str) -> OutboxEvent | None:
    return await repository.event_by_public_id(session, event_id)


async def deliveries(session: AsyncSession, event: OutboxEvent) -> list[WebhookDelivery]:
    return await repository.deliveries(session, event.id)


async def replay(session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
    """Deliver the event again (whatever happened to it), at once, with a fresh set of
    attempts."""
    event.status, event.due_at, event.leased_until = EventStatus.PENDING, now, None
    event.attempt_base = event.attempts


# -- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    body: str | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Prepared:
    url: str
    body: bytes
    headers: dict[str, str]


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], settings: Settings
) -> Outcome:
    """One delivery attempt: only HTTP 200 counts as delivered. It never raises: anything that
    goes wrong (a refused target, a URL the client rejects, a timeout) is this event's failed
    attempt, so one bad event cannot fail or hold up the rest of its batch."""
    started = time.perf_counter()
    try:
        target = await targets.pin(url, settings)
        options = target.request_options()
        response = await client.post(
            target.url,
            content=body,
            headers={**headers, **options.pop("headers", {})},
            **options,
        )
    except targets.TargetRefused as exc:
        return Outcome(False, None, None, str(exc), 0)
    except Exception as exc:
        elapsed = round((time.perf_counter() - started) * 1000)
        return Outcome(False, None, None, f"{exc.__class__.__name__}: {exc}"[:BODY_KEPT], elapsed)
    elapsed = round((time.perf_counter() - started) * 1000)
    return Outcome(
        response.status_code == 200, response.status_code, response.text[:BODY_KEPT], None, elapsed
    )


async def prepare(
    session: AsyncSession, settings: Settings, event_ids: Sequence[int], now: datetime
) -> tuple[dict[int, Prepared], dict[int, str]]:
    """Work out where each leased event goes and sign it: the deliveries to attempt, and the
    statuses of the events that need none (gone, no longer pending, nobody subscribed).

    Email subscriptions get their mail queued here, on the first attempt.
    """
    batch = await repository.events_by_id(session, event_ids)
    ids = {e.partner_id for e in batch if e.partner_id is not None}
    partners, found = await repository.recipients(session, ids)
    by_id = {partner.id: partner for partner in partners}
    subscriptions = {(s.partner_id, s.type): s for s in found}
    prepared: dict[int, Prepared] = {}
    statuses: dict[int, str] = {}
    for event in batch:
        if event.status != EventStatus.PENDING:
            statuses[event.id] = event.status
            continue
        if event.attempts - event.attempt_base >= settings.webhook_attempts:
            # every attempt was started and none recorded: workers died delivering it
            event.status, event.leased_until = EventStatus.FAILED, None
            statuses[event.id] = event.status
            continue
        partner = by_id.get(event.partner_id or 0)
        email = subscriptions.get((event.partner_id or 0, EMAIL_TYPES.get(event.kind, "")))
        if partner is not None and email is not None and event.attempts == 0:
            subject, text = payloads.mail_text(event.kind, event.payload)
            queue_mail(
                session, partner_id=partner.id, to=email.contact_point, subject=subject,
                text=text, at=now,
            )  # fmt: skip
        url = event.target_url
        if url is None and partner is not None:
            webhook = subscriptions.get((partner.id, WEBHOOK_TYPES.get(event.kind, "")))
            url = webhook.contact_point if webhook else None
        if partner is None or url is None:
            event.status, event.leased_until = EventStatus.SKIPPED, None
            statuses[event.id] = event.status
            continue
        event.attempts += 1  # counted now, committed before the POST: a crash still uses it
        secret = partner_secret(settings.secret_key.get_secret_value(), partner.secret_salt)
        body = signing.encode(event.payload)
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.sign(secret, body),
            "User-Agent": f"esimhub-webhooks/{__version__}",
            "X-Esimhub-Event-Id": event.event_id,
            "X-Esimhub-Event": event.kind,
            "X-Esimhub-Attempt": str(event.attempts),
        }
        prepared[event.id] = Prepared(url, body, headers)
    return prepared, statuses


async def record(
    session: AsyncSession,
    settings: Settings,
    attempts: dict[int, tuple[Prepared, Outcome]],
    now: datetime,
    *,
    on_delivered: Callable[[float], None] | None = None,
) -> dict[int, str]:
    """Record one attempt per event (locked again: the lease may have run out); new statuses."""
    locked = {e.id: e for e in await repository.events_by_id(session, list(attempts), lock=True)}
    statuses: dict[int, str] = {}
    for event_id, (ready, outcome) in attempts.items():
        event = locked[event_id]
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
            event.status, event.delivered_at = EventStatus.DELIVERED, now
            if on_delivered is not None:
                on_delivered(max((now - event.created_at).total_seconds(), 0.0))
        elif event.attempts - event.attempt_base >= settings.webhook_attempts:
            event.status = EventStatus.FAILED
        else:
            event.due_at = now + timedelta(seconds=settings.retry_delay(event.attempts))
        statuses[event_id] = event.status
        log.info(
            "webhook attempt",
            extra={
                "event_id": event.event_id,
                "kind": event.kind,
                "attempt": event.attempts,
                "target_host": urlsplit(ready.url).hostname,
                "outcome": "delivered" if outcome.ok else "failed",
                "http_status": outcome.status_code,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
                "event_status": event.status,
                "request_id": event.request_id,
            },
        )
    return statuses


async def give_up(session: AsyncSession, event_id: int) -> None:
    """Mark a pending event failed: the simulator's one attempt is all it gets."""
    found = await repository.event(session, event_id)
    if found is not None and found.status == EventStatus.PENDING:
        found.status = EventStatus.FAILED


# -- mail -------------------------------------------------------------------------------------


def queue_mail(
    session: AsyncSession,
    *,
    partner_id: int,
    to: str,
    subject: str,
    text: str,
    at: datetime,
    cc: Sequence[str] = (),
    attachments: Sequence[dict[str, Any]] = (),
) -> MailMessage:
    """A message to send after the caller's transaction commits. An attachment names the eSIM
    (``sim_id``) whose QR code it carries as a PDF."""
    message = MailMessage(
        partner_id=partner_id,
        to_address=to,
        cc=list(cc),
        subject=subject,
        body_text=text,
        body_html=None,
        attachments=list(attachments),
        status=MailStatus.QUEUED,
        created_at=at,
        due_at=at,
    )
    session.add(message)
    return message


async def messages(session: AsyncSession, *, status: str | None = None) -> Sequence[MailMessage]:
    return await repository.mail(session, status=status)


@dataclass(frozen=True)
class OutgoingMail:
    message_id: int
    email: EmailMessage


async def claim_mail(
    session: AsyncSession, *, settings: Settings, now: datetime, lease: int
) -> list[OutgoingMail]:
    """Lease the messages due to be sent and compose them (QR PDFs rendered from their eSIMs).

    Without ``ESIMHUB_SMTP_URL`` they are marked ``kept`` instead, for ``esimhub mail list``.
    """
    outgoing: list[OutgoingMail] = []
    for message in await repository.lease_mail(session, now=now, seconds=lease, limit=100):
        if settings.smtp_url is None:
            message.status, message.leased_until = MailStatus.KEPT, None
            continue
        pdfs = {}
        for attachment in message.attachments:
            sim = await repository.sim(session, int(attachment["sim_id"]))
            if sim is not None:
                pdfs[str(attachment["filename"])] = mail.qr_pdf(sim.smdp_address, sim.matching_id)
        outgoing.append(OutgoingMail(message.id, mail.compose(settings, message, pdfs)))
    return outgoing


async def record_mail(
    session: AsyncSession, outcomes: dict[int, str | None], *, settings: Settings, now: datetime
) -> int:
    """Record each attempt (``None``: sent, else the error); a failure is tried again 1, 2, 4 ...
    minutes later, up to ``ESIMHUB_MAIL_ATTEMPTS``. Returns how many were sent."""
    sent = 0
    for message in await repository.mail_by_id(session, list(outcomes)):
        error = outcomes[message.id]
        message.attempts += 1
        message.leased_until = None
        if error is None:
            message.status, message.sent_at, message.error = MailStatus.SENT, now, None
            sent += 1
        elif message.attempts >= settings.mail_attempts:
            message.status, message.error = MailStatus.FAILED, error
        else:
            message.error = error
            message.due_at = now + timedelta(minutes=2 ** (message.attempts - 1))
    return sent


class MailNotFound(ValueError):
    pass


async def resend(session: AsyncSession, message_id: int, *, now: datetime) -> MailMessage:
    """Queue a message again, at once, with a fresh set of attempts."""
    found = await repository.mail_by_id(session, [message_id])
    if not found:
        raise MailNotFound(f"no message {message_id}")
    message = found[0]
    message.status, message.attempts, message.error = MailStatus.QUEUED, 0, None
    message.due_at, message.leased_until = now, None
    return message


# -- for /metrics -----------------------------------------------------------------------------


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """Events waiting to be delivered, and when the oldest of them was written."""
    return await repository.outbox_backlog(session)


async def delivery_outcomes(session: AsyncSession) -> dict[bool, int]:
    return await repository.delivery_outcomes(session)


async def mail_by_status(session: AsyncSession) -> dict[str, int]:
    return await repository.mail_by_status(session)
