"""``POST /orders-async``, ``POST``/``GET /future-orders``, ``POST /cancel-future-orders``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from esimhub.auth.dependencies import CurrentPartner
from esimhub.catalogue.dependencies import PartnerCatalogueDep
from esimhub.db import SessionDep
from esimhub.deps import BaseUrl, ClockDep, SettingsDep
from esimhub.errors import ValidationFailed
from esimhub.kit import pagination, wire
from esimhub.kit.clock import format_datetime
from esimhub.kit.envelope import SUCCESS
from esimhub.kit.forms import read_body
from esimhub.kit.statuses import ScheduledStatus
from esimhub.kit.validation import Fields
from esimhub.orders.schemas import parse_order
from esimhub.scheduling import schemas, service
from esimhub.scheduling.service import DUE_FORMAT

router = APIRouter(tags=["orders"])

FUTURE_ORDERS_DEFAULT_LIMIT = 25


def _webhook_url(body: dict[str, Any]) -> str | None:
    fields = Fields(body)
    url = fields.webhook_url()
    fields.check()
    return url


@router.post(
    "/orders-async",
    openapi_extra=wire.request_body(schemas.AsyncOrderBody),
    **wire.answers(schemas.AcceptedOrderResponse, 202, status_code=202),
)
async def submit_order_async(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
) -> JSONResponse:
    """Accept an order now (202) and place it in the background; the result is POSTed to the
    request's ``webhook_url`` or the ``async_orders`` opt-in, with the ``request_id``."""
    body = await read_body(request)
    order_request = parse_order(body, catalogue.is_sim_package)
    webhook_url = _webhook_url(body)
    now = clock.now()
    row = await service.accept_async(
        session,
        partner,
        request=order_request,
        webhook_url=webhook_url,
        catalogue=catalogue,
        settings=settings,
        base_url=base_url,
        now=now,
    )
    data = {"request_id": row.request_id, "accepted_at": format_datetime(now)}
    return JSONResponse({"data": data, "meta": dict(SUCCESS)}, status_code=202)


def _future_view(row: Any) -> dict[str, str]:
    return {
        "due_date": row.due_at.strftime(DUE_FORMAT),
        "latest_cancellation_date": service.latest_cancellation(row).strftime(DUE_FORMAT),
    }


@router.post(
    "/future-orders",
    openapi_extra=wire.request_body(schemas.FutureOrderBody),
    **wire.answers(schemas.ScheduledOrderResponse),
)
async def submit_future_order(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
) -> dict[str, Any]:
    """Schedule an order for ``due_date`` (UTC, ``Y-m-d H:i``, from the day after tomorrow to a
    year ahead); it can be cancelled until 24 hours before."""
    body = await read_body(request)
    order_request = parse_order(body, catalogue.is_sim_package)
    now = clock.now()
    due_text = body.get("due_date")
    due = service.parse_due_date(due_text if isinstance(due_text, str) else None, now)
    row = await service.accept_future(
        session,
        partner,
        request=order_request,
        due=due,
        webhook_url=_webhook_url(body),
        catalogue=catalogue,
        settings=settings,
        base_url=base_url,
        now=now,
    )
    return {"data": {"request_id": row.request_id, **_future_view(row)}, "meta": dict(SUCCESS)}


def _due_filter(name: str, text: str | None) -> datetime | None:
    if not text:
        return None
    for pattern in (DUE_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValidationFailed({name: f"The {name.replace('_', ' ')} is not a valid date."})


@router.get("/future-orders", **wire.answers(schemas.FutureOrdersPage))
async def list_future_orders(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
    status: str | None = None,
    from_due_date: str | None = None,
    to_due_date: str | None = None,
    limit: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """Your unprocessed future orders (``status`` pending by default, or failed, retry)."""
    page_request = pagination.parse_page_request(limit, page)
    wanted = status or ScheduledStatus.PENDING
    if wanted not in service.LISTED_STATUSES:
        raise ValidationFailed({"status": "The selected status is invalid."})
    window, rows = await service.future_orders_page(
        session,
        partner.id,
        status=wanted,
        from_due=_due_filter("from_due_date", from_due_date),
        to_due=_due_filter("to_due_date", to_due_date),
        page=page_request,
        default_limit=FUTURE_ORDERS_DEFAULT_LIMIT,
    )
    items = [
        {
            "request_id": row.request_id,
            "quantity": row.request["quantity"],
            "description": row.request.get("description") or "",
            "status": row.status,
            "package_id": row.request["package_id"],
            **_future_view(row),
        }
        for row in rows
    ]
    base = base_url
    return pagination.page_of(
        items, window, request=request, base_url=base, page_request=page_request
    )


@router.post(
    "/cancel-future-orders",
    openapi_extra=wire.request_body(schemas.CancelFutureOrdersBody),
    **wire.answers(wire.MessageBody),
)
async def cancel_future_orders(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
) -> dict[str, Any]:
    """Cancel up to 10 future orders (all or none), until 24 hours before each is due."""
    fields = Fields(await read_body(request))
    ids = fields.string_list("request_ids", max_items=schemas.MAX_CANCEL)
    if (
        not ids and "request_ids" not in fields.errors
    ):  # an empty list is missing, as Laravel has it
        fields.fail("request_ids", "The request ids field is required.")
    elif ids and len(set(ids)) != len(ids):
        fields.fail("request_ids", "The request ids field has a duplicate value.")
    fields.check()
    assert ids is not None
    await service.cancel(session, partner.id, ids, clock.now())
    return {"data": [], "meta": {"message": "Future orders cancelled successfully"}}
