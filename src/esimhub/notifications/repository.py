"""SQL of the notifications area: subscriptions, the outbox, delivery attempts and mail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.kit import repository as shared
from esimhub.kit.statuses import EventStatus, MailStatus
from esimhub.models import (
    MailMessage,
    NotificationSubscription,
    OutboxEvent,
    Partner,
    Sim,
    WebhookDelivery,
)

# -- subscriptions ----------------------------------------------------------------------------


async def subscription(
    session: AsyncSession, partner_id: int, kind: str | None = None
) -> NotificationSubscription | None:
    """One of the partner's subscriptions: of ``kind``, or its newest."""
    query = select(NotificationSubscription).where(
        NotificationSubscription.partner_id == partner_id
    )
    if kind is not None:
        query = query.where(NotificationSubscription.type == kind)
    query = query.order_by(NotificationSubscription.id.desc()).limit(1)
    return (await session.scalars(query)).first()


async def delete_subscription(session: AsyncSession, partner_id: int, kind: str) -> None:
    await session.execute(
        delete(NotificationSubscription).where(
            NotificationSubscription.partner_id == partner_id,
            NotificationSubscription.type == kind,
        )
    )


async def chosen_levels(
    session: AsyncSession, partner_id: int, kinds: Sequence[str]
) -> list[list[int]]:
    """The ``levels`` of the partner's subscriptions of ``kinds`` that chose some."""
    query = select(NotificationSubscription.levels).where(
        NotificationSubscription.partner_id == partner_id,
        NotificationSubscription.type.in_(kinds),
    )
    return [list(levels) for levels in await session.scalars(query) if levels]


async def recipients(
    session: AsyncSession, partner_ids: set[int]
) -> tuple[Sequence[Partner], Sequence[NotificationSubscription]]:
    """The partners and all their subscriptions, in two queries."""
    partners = await session.scalars(select(Partner).where(Partner.id.in_(partner_ids)))
    found = await session.scalars(
        select(NotificationSubscription).where(NotificationSubscription.partner_id.in_(partner_ids))
    )
    return partners.all(), found.all()


# -- the outbox -------------------------------------------------------------------------------


async def insert_event_once(session: AsyncSession, **values: Any) -> None:
    """Insert an event unless one with its ``dedupe_key`` exists (even one written just now by
    another process)."""
    statement = (
        db.insert(session, OutboxEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    await session.execute(statement)


async def lease_events(
    session: AsyncSession, *, now: datetime, seconds: int, limit: int
) -> list[int]:
    pending = OutboxEvent.status == EventStatus.PENDING
    return await shared.lease(session, OutboxEvent, pending, now=now, seconds=seconds, limit=limit)


async def events_by_id(
    session: AsyncSession, event_ids: Sequence[int], *, lock: bool = False
) -> Sequence[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.id.in_(list(event_ids)))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).all()


async def event(session: AsyncSession, event_id: int) -> OutboxEvent | None:
    return await session.get(OutboxEvent, event_id)


async def events(
    session: AsyncSession, *, status: str | None, partner_id: int | None, limit: int
) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxEvent.status == status)
    if partner_id is not None:
        query = query.where(OutboxEvent.partner_id == partner_id)
    return list(await session.scalars(query))


async def event_by_public_id(session: AsyncSession, event_id: str) -> OutboxEvent | None:
    query = select(OutboxEvent).where(OutboxEvent.event_id == event_id)
    return (await session.scalars(query)).first()


async def deliveries(session: AsyncSession, event_id: int) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.event_id == event_id)
        .order_by(WebhookDelivery.id)
    )
    return list(await session.scalars(query))


# -- mail -------------------------------------------------------------------------------------


async def lease_mail(
    session: AsyncSession, *, now: datetime, seconds: int, limit: int
) -> Sequence[MailMessage]:
    """Lease the queued messages that are due (oldest first) to this worker, and load them."""
    leased = await shared.lease(
        session,
        MailMessage,
        MailMessage.status == MailStatus.QUEUED,
        now=now,
        seconds=seconds,
        limit=limit,
    )
    return await mail_by_id(session, leased)


async def mail_by_id(session: AsyncSession, message_ids: Sequence[int]) -> Sequence[MailMessage]:
    query = (
        select(MailMessage)
        .where(MailMessage.id.in_(list(message_ids)))
        .order_by(MailMessage.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).all()


async def mail(session: AsyncSession, *, status: str | None) -> Sequence[MailMessage]:
    query = select(MailMessage).order_by(MailMessage.id)
    if status:
        query = query.where(MailMessage.status == status)
    return (await session.scalars(query)).all()


async def sim(session: AsyncSession, sim_id: int) -> Sim | None:
    """The eSIM whose QR code a message attaches."""
    return await session.get(Sim, sim_id)


async def outbox_backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """Events waiting to be delivered, and when the oldest of them was written."""
    pending = OutboxEvent.status == EventStatus.PENDING
    row = (
        await session.execute(select(func.count(), func.min(OutboxEvent.created_at)).where(pending))
    ).one()
    return int(row[0]), row[1]


async def delivery_outcomes(session: AsyncSession) -> dict[bool, int]:
    """Delivery attempts by whether they were delivered."""
    rows = await session.execute(
        select(WebhookDelivery.ok, func.count()).group_by(WebhookDelivery.ok)
    )
    return {bool(ok): int(count) for ok, count in rows}


async def mail_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(MailMessage.status, func.count()).group_by(MailMessage.status)
    )
    return {str(status): int(count) for status, count in rows}
