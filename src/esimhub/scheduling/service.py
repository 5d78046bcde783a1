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

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue.cache import Snapshot
from esimhub.config import Settings
from esimhub.errors import BusinessError, EsimhubError, ValidationFailed
from esimhub.esims import service as esims
from esimhub.esims.schemas import Renderer
from esimhub.kit import pagination
from esimhub.kit.clock import Clock
from esimhub.kit.envelope import ok
from esimhub.kit.statuses import ScheduledStatus
from esimhub.models import ScheduledOrder
from esimhub.notifications import payloads, targets
from esimhub.notifications import service as notifications
from esimhub.orders import service as ordering
from esimhub.orders.schemas import OrderRequest, placed_order
from esimhub.scheduling import repository

REQUEST_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
DUE_FORMAT = "%Y-%m-%d %H:%M"
# Sandbox package ids that create future orders parked in a status (reference §3.10).
SANDBOX_PARKED = {
    "test-create-pending-future-order-7days-1gb": ScheduledStatus.PENDING,
    "test-create-failed-future-order-7days-1gb": ScheduledStatus.FAILED,
    "test-create-retry-future-order-7days-1gb": ScheduledStatus.RETRY,
}
LISTED_STATUSES = (ScheduledStatus.PENDING, ScheduledStatus.FAILED, ScheduledStatus.RETRY)


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
        if await notifications.subscription(session, partner_id, "async_orders") is None:
            raise NotOptedIn()
        return
    try:
        await (targets.answers_head if head else targets.check)(url, settings)
    except targets.TargetRefused as exc:
        raise ValidationFailed({"webhook_url": str(exc)}) from None


async def accept_async(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    request: OrderRequest,
    webhook_url: str | None,
    catalogue: Snapshot,
    settings: Settings,
    base_url: str,
    now: datetime,
) -> ScheduledOrder:
    """Check what can be checked now (fields, package, stock, a webhook target) and queue."""
    await _webhook(session, settings, partner.id, webhook_url, head=False)
    if not (partner.is_sandbox and request.package_id in ordering.SANDBOX_FAILURES):
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
    request: OrderRequest,
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
    request: OrderRequest,
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
        status=parked or ScheduledStatus.PENDING,
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
    filters = repository.FutureFilters(status=status, from_due=from_due, to_due=to_due)
    total = await repository.count_future(session, partner_id, filters)
    window = pagination.window(total, page, default_limit)
    rows = await repository.list_future(
        session, partner_id, filters, offset=window.start, limit=window.stop - window.start
    )
    return window, rows


async def cancel(
    session: AsyncSession, partner_id: int, request_ids: Sequence[str], now: datetime
) -> None:
    """Cancel future orders, all or none; errors are keyed ``request_ids.N``."""
    rows = {
        row.request_id: row
        for row in await repository.future_by_request_ids(session, partner_id, request_ids)
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
        row.status = ScheduledStatus.CANCELLED


# -- placing them (``tasks`` owns the transactions) -------------------------------------------


async def lease_due(session: AsyncSession, now: datetime, lease: int, limit: int) -> list[int]:
    """Lease due scheduled orders to this worker (sandbox-parked ones never run)."""
    return await repository.lease_due(session, now=now, seconds=lease, limit=limit)


def stored_request(stored: dict[str, Any]) -> OrderRequest:
    return OrderRequest(
        **{
            **stored,
            "sharing_options": tuple(stored.get("sharing_options") or ()),
            "copy_addresses": tuple(stored.get("copy_addresses") or ()),
        }
    )


async def pending(session: AsyncSession, scheduled_id: int) -> tuple[ScheduledOrder | None, str]:
    """The scheduled order if it still waits to be placed, else its status (``gone``: deleted)."""
    row = await repository.scheduled(session, scheduled_id)
    if row is None:
        return None, "gone"
    return (row, row.status) if row.status == ScheduledStatus.PENDING else (None, row.status)


async def place(
    session: AsyncSession,
    row: ScheduledOrder,
    *,
    catalogue: Snapshot,
    settings: Settings,
    clock: Clock,
) -> str:
    """Place a pending scheduled order and write its webhook, in the caller's transaction."""
    partner = await repository.partner(session, row.partner_id)
    assert partner is not None
    placed = await ordering.place_order(
        session,
        PartnerPrincipal.of(partner),
        request=stored_request(row.request),
        catalogue=catalogue,
        settings=settings,
        clock=clock,
        base_url=row.base_url,
    )
    renderer = Renderer(settings, row.base_url)
    order_body = ok(placed_order(renderer, placed.order, placed.sims, placed.brand))
    now = clock.now()
    row.status, row.order_id, row.processed_at = ScheduledStatus.COMPLETED, placed.order.id, now
    row.leased_until = None
    await _announce(session, row, payloads.order_placed(order_body, row.request_id), now)
    return row.status


async def fail(session: AsyncSession, row: ScheduledOrder, reason: str, now: datetime) -> str:
    row.status, row.failure_reason, row.processed_at = ScheduledStatus.FAILED, reason, now
    row.leased_until = None
    await _announce(session, row, payloads.order_failed(row.request_id, reason), now)
    return row.status


def reason(error: EsimhubError) -> str:
    if isinstance(error, BusinessError):
        return error.reason
    if isinstance(error, ValidationFailed):
        return "; ".join(error.errors.values())
    return str(error)


async def _announce(
    session: AsyncSession, row: ScheduledOrder, payload: dict[str, Any], now: datetime
) -> None:
    await notifications.emit(
        session,
        kind=payloads.ASYNC_ORDER,
        dedupe_key=f"scheduled:{row.request_id}",
        payload=payload,
        partner_id=row.partner_id,
        at=now,
        target_url=row.webhook_url,
    )
