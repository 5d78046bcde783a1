"""Async orders (placed by the worker at once) and future orders (placed at their due date).

Both are ``ScheduledOrder`` rows. The worker leases a due row, places the order and writes the
order webhook (the order body plus ``request_id``) in one transaction, so an order is placed once
and announced once however the worker dies; a failed attempt is rolled back and recorded as a
failure webhook (``{"request_id", "reason"}``) in a second transaction.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import outbox
from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue.cache import Snapshot
from esimhub.config import Settings
from esimhub.errors import BusinessError, EsimhubError, ValidationFailed
from esimhub.esims import service as esims
from esimhub.kit import pagination, queue
from esimhub.kit.clock import Clock
from esimhub.models import Partner, ScheduledOrder
from esimhub.ordering import service as ordering
from esimhub.ordering.schemas import Renderer
from esimhub.runtime import Runtime
from esimhub.webhooks import service as webhooks
from esimhub.webhooks import targets

REQUEST_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
DUE_FORMAT = "%Y-%m-%d %H:%M"
MAX_CANCEL = 10
# Sandbox package ids that create future orders parked in a status (reference §3.10).
SANDBOX_PARKED = {
    "test-create-pending-future-order-7days-1gb": "pending",
    "test-create-failed-future-order-7days-1gb": "failed",
    "test-create-retry-future-order-7days-1gb": "retry",
}
LISTED_STATUSES = ("pending", "failed", "retry")


def request_id() -> str:
    """25 characters of the nanoid alphabet, like Airalo's."""
    return "".join(secrets.choice(REQUEST_ID_ALPHABET) for _ in range(25))


class NotOptedIn(EsimhubError):
    status_code = 422

    def body(self) -> Any:
        return {"reason": "User is not opted in and no webhook URL provided."}


async def _webhook(
    session: AsyncSession, settings: Settings, partner_id: int, url: str | None, *, head: bool
) -> None:
    """The request's ``webhook_url`` (checked) or an ``async_orders`` opt-in must exist."""
    if url is None:
        if await webhooks.subscription(session, partner_id, "async_orders") is None:
            raise NotOptedIn()
        return
    try:
        await (targets.answers_head if head else targets.check)(url, settings)
    except targets.TargetRefused as exc:
        raise ValidationFailed({"webhook_url": str(exc)}) from None


def _request(stored: dict[str, Any]) -> ordering.OrderRequest:
    return ordering.OrderRequest(
        **{
            **stored,
            "sharing_options": tuple(stored.get("sharing_options") or ()),
            "copy_addresses": tuple(stored.get("copy_addresses") or ()),
        }
    )


async def accept_async(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    request: ordering.OrderRequest,
    webhook_url: str | None,
    catalogue: Snapshot,
    settings: Settings,
    base_url: str,
    now: datetime,
) -> ScheduledOrder:
    """Check what can be checked now (fields, package, stock, a webhook target) and queue."""
    await _webhook(session, settings, partner.id, webhook_url, head=False)
    if not (partner.is_sandbox and request.package_id in ordering.SANDBOX_TRIGGERS):
        _, operator = ordering.sim_package(catalogue, settings, request.package_id)
        await esims.check_stock(session, operator, request.quantity)
        await ordering.find_brand(session, partner.id, request.brand_settings_name)
    return await _schedule(
        session, partner.id, "async", request, webhook_url, base_url, due=now, now=now
    )


def parse_due_date(text: str | None, now: datetime) -> datetime:
    if not text:
        raise ValidationFailed({"due_date": "The due date field is required."})
    try:
        due = datetime.strptime(text, DUE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(
            {"due_date": "The due date does not match the format Y-m-d H:i."}
        ) from None
    if due.date() < now.date() + timedelta(days=2):
        raise ValidationFailed(
            {
                "due_date": "Minimum due date must be at least the day after tomorrow "
                "in UTC timezone."
            }
        )
    if due > now + timedelta(days=365):
        raise ValidationFailed({"due_date": "Maximum due date must be within one year."})
    return due


async def accept_future(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    request: ordering.OrderRequest,
    due: datetime,
    webhook_url: str | None,
    catalogue: Snapshot,
    settings: Settings,
    base_url: str,
    now: datetime,
) -> ScheduledOrder:
    parked = SANDBOX_PARKED.get(request.package_id) if partner.is_sandbox else None
    if parked is None:
        package = catalogue.packages.get(request.package_id)
        if package is None or package.type != "sim":
            raise esims.OutOfStock()  # the future-orders page documents code 34 here
        await ordering.find_brand(session, partner.id, request.brand_settings_name)
    await _webhook(session, settings, partner.id, webhook_url, head=True)
    return await _schedule(
        session,
        partner.id,
        "future",
        request,
        webhook_url,
        base_url,
        due=due,
        now=now,
        parked=parked,
    )


async def _schedule(
    session: AsyncSession,
    partner_id: int,
    kind: str,
    request: ordering.OrderRequest,
    webhook_url: str | None,
    base_url: str,
    *,
    due: datetime,
    now: datetime,
    parked: str | None = None,
) -> ScheduledOrder:
    """Queue an order; ``parked`` (sandbox) keeps it in that status, never run."""
    row = ScheduledOrder(
        request_id=request_id(),
        partner_id=partner_id,
        kind=kind,
        status=parked or "pending",
        request=dataclasses.asdict(request),
        webhook_url=webhook_url,
        base_url=base_url,
        due_at=due,
        parked=parked is not None,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def latest_cancellation(row: ScheduledOrder) -> datetime:
    return row.due_at - timedelta(hours=24)


async def future_orders_page(
    session: AsyncSession,
    partner_id: int,
    *,
    status: str,
    from_due: datetime | None,
    to_due: datetime | None,
    page: pagination.PageRequest,
    default_limit: int,
) -> tuple[pagination.PageWindow, list[ScheduledOrder]]:
    conditions = [
        ScheduledOrder.partner_id == partner_id,
        ScheduledOrder.kind == "future",
        ScheduledOrder.status == status,
    ]
    if from_due is not None:
        conditions.append(ScheduledOrder.due_at >= from_due)
    if to_due is not None:
        conditions.append(ScheduledOrder.due_at <= to_due)
    total = int(await session.scalar(select(func.count(ScheduledOrder.id)).where(*conditions)) or 0)
    window = pagination.window(total, page, default_limit)
    rows = await session.scalars(
        select(ScheduledOrder)
        .where(*conditions)
        .order_by(ScheduledOrder.due_at, ScheduledOrder.id)
        .offset(window.start)
        .limit(window.stop - window.start)
    )
    return window, list(rows)


async def cancel(
    session: AsyncSession, partner_id: int, request_ids: Sequence[str], now: datetime
) -> None:
    """Cancel future orders, all or none; errors are keyed ``request_ids.N``."""
    rows = {
        row.request_id: row
        for row in await session.scalars(
            select(ScheduledOrder).where(
                ScheduledOrder.partner_id == partner_id,
                ScheduledOrder.kind == "future",
                ScheduledOrder.request_id.in_(list(request_ids)),
            )
        )
    }
    errors: dict[str, str] = {}
    for index, rid in enumerate(request_ids):
        key = f"request_ids.{index}"
        row = rows.get(rid)
        if len(rid) != 25:
            errors[key] = "Each request ID must be exactly 25 characters long."
        elif row is None:
            errors[key] = f"Request ID: {rid} does not exist."
        elif row.status not in LISTED_STATUSES:
            errors[key] = f"Request ID: {rid} is already processed and can not be cancelled."
        elif now > latest_cancellation(row):
            errors[key] = (
                f"Request ID: {rid} can not be cancelled less than 24 hours before its due date."
            )
    if errors:
        raise ValidationFailed(errors)
    for row in rows.values():
        row.status = "cancelled"


# -- execution (the worker) -------------------------------------------------------------------


async def claim_due(runtime: Runtime, now: datetime, lease: int, limit: int = 20) -> list[int]:
    """Lease due scheduled orders to this worker (sandbox-parked ones never run)."""
    ready = (ScheduledOrder.status == "pending") & ScheduledOrder.parked.is_(False)
    return await queue.lease(
        runtime.sessionmaker, ScheduledOrder, ready, now=now, seconds=lease, limit=limit
    )


async def execute(runtime: Runtime, scheduled_id: int) -> str:
    """Place one leased scheduled order; returns its new status."""
    settings, clock = runtime.settings, runtime.clock
    catalogue = await runtime.catalogue.current()
    try:
        async with runtime.sessionmaker() as session, session.begin():
            row = await session.get(ScheduledOrder, scheduled_id)
            if row is None or row.status != "pending":
                return row.status if row else "gone"
            account = await session.get(Partner, row.partner_id)
            assert account is not None
            placed = await ordering.place_order(
                session,
                PartnerPrincipal.of(account),
                request=_request(row.request),
                catalogue=catalogue,
                settings=settings,
                clock=clock,
                base_url=row.base_url,
            )
            renderer = Renderer(settings, row.base_url)
            body = {
                "data": renderer.placed_order(placed.order, placed.sims, placed.brand),
                "meta": {"message": "success"},
                "request_id": row.request_id,
            }
            now = clock.now()
            row.status, row.order_id, row.processed_at = "completed", placed.order.id, now
            row.leased_until = None
            await _announce(session, row, body, now)
            return row.status
    except EsimhubError as exc:
        return await _fail(runtime, scheduled_id, _reason(exc), clock)


def _reason(error: EsimhubError) -> str:
    if isinstance(error, BusinessError):
        return error.reason
    if isinstance(error, ValidationFailed):
        return "; ".join(error.errors.values())
    return str(error)


async def _fail(runtime: Runtime, scheduled_id: int, reason: str, clock: Clock) -> str:
    async with runtime.sessionmaker() as session, session.begin():
        row = await session.get(ScheduledOrder, scheduled_id)
        if row is None or row.status != "pending":
            return row.status if row else "gone"
        now = clock.now()
        row.status, row.failure_reason, row.processed_at = "failed", reason, now
        row.leased_until = None
        await _announce(session, row, {"request_id": row.request_id, "reason": reason}, now)
        return row.status


async def _announce(
    session: AsyncSession, row: ScheduledOrder, payload: dict[str, Any], now: datetime
) -> None:
    await outbox.emit(
        session,
        kind=webhooks.ASYNC_ORDER,
        dedupe_key=f"scheduled:{row.request_id}",
        payload=payload,
        partner_id=row.partner_id,
        at=now,
        target_url=row.webhook_url,
    )
