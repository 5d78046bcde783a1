"""``POST /orders``, ``GET /orders`` and ``GET /orders/{order_id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.catalogue.dependencies import PartnerCatalogueDep
from esimhub.db import SessionDep
from esimhub.deps import BaseUrl, ClockDep, SessionmakerDep, SettingsDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.esims.schemas import Renderer
from esimhub.idempotency.http import HEADER_PARAMETER, money_write
from esimhub.kit import pagination, wire
from esimhub.kit.envelope import SUCCESS
from esimhub.kit.forms import read_body
from esimhub.kit.validation import INT64_MAX, integer_text
from esimhub.notifications import tasks as notifications
from esimhub.orders import schemas, service
from esimhub.orders.repository import OrderFilters

router = APIRouter(tags=["orders"])


@router.post(
    "/orders",
    openapi_extra={**HEADER_PARAMETER, **wire.request_body(schemas.OrderBody)},
    **wire.answers(schemas.PlacedOrderResponse),
)
async def submit_order(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
    sessionmaker: SessionmakerDep,
    background: BackgroundTasks,
) -> Response:
    """Buy eSIMs of a sim package (1-50); the price is debited from the balance at once."""
    body = await read_body(request)
    order_request = schemas.parse_order(body, catalogue.is_sim_package)
    renderer = Renderer(settings, base_url)

    async def work() -> tuple[int, Any]:
        placed = await service.place_order(
            session,
            partner,
            request=order_request,
            catalogue=catalogue,
            settings=settings,
            clock=clock,
            base_url=renderer.base_url,
        )
        data = schemas.placed_order(renderer, placed.order, placed.sims, placed.brand)
        return 200, {"data": data, "meta": dict(SUCCESS)}

    response = await money_write(
        request, session, partner.id, settings=settings, clock=clock, body=body, work=work
    )
    if order_request.to_email:
        background.add_task(notifications.send_mail, sessionmaker, settings, clock)
    return response


ORDER_INCLUDES = frozenset({"sims", "user", "status"})


@router.get("/orders", **wire.answers(schemas.OrdersPage))
async def list_orders(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
    include: str | None = None,
    filter_created_at: Annotated[str | None, Query(alias="filter[created_at]")] = None,
    filter_code: Annotated[str | None, Query(alias="filter[code]")] = None,
    filter_order_status: Annotated[str | None, Query(alias="filter[order_status]")] = None,
    filter_iccid: Annotated[str | None, Query(alias="filter[iccid]")] = None,
    filter_description: Annotated[str | None, Query(alias="filter[description]")] = None,
    limit: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """Your orders, newest first (filters: created_at range, code, order_status, iccid, ...)."""
    page_request = pagination.parse_page_request(limit, page)
    created_from, created_to = pagination.created_range(filter_created_at)
    if filter_order_status and filter_order_status not in service.ORDER_STATUSES:
        raise ValidationFailed(
            {
                "filter.order_status": "The selected order status is invalid. Supported values: "
                + ", ".join(service.ORDER_STATUSES)
                + "."
            }
        )
    filters = OrderFilters(
        created_from=created_from,
        created_to=created_to,
        code=filter_code,
        status=filter_order_status,
        iccid=filter_iccid,
        description=filter_description,
    )
    wanted = pagination.includes(include) & ORDER_INCLUDES
    window, orders, sims = await service.orders_page(
        session,
        partner,
        filters=filters,
        page=page_request,
        default_limit=settings.list_default_limit,
        with_sims="sims" in wanted,
    )
    renderer = Renderer(settings, base_url)
    items = [
        renderer.listed_order(order, includes=wanted, partner=partner, sims=sims.get(order.id, []))
        for order in orders
    ]
    return pagination.page_of(
        items, window, request=request, base_url=renderer.base_url, page_request=page_request
    )


@router.get("/orders/{order_id}", **wire.answers(schemas.OrderResponse))
async def get_order(
    order_id: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
    include: str | None = None,
) -> dict[str, Any]:
    """One of your orders; another partner's order answers 401 "This action is unauthorized."."""
    number = integer_text(order_id)
    if number is None or not 0 < number < INT64_MAX:
        raise NotFound()
    wanted = pagination.includes(include) & ORDER_INCLUDES
    order, sims = await service.order_for(session, partner, number, with_sims="sims" in wanted)
    renderer = Renderer(settings, base_url)
    data = renderer.listed_order(order, includes=wanted, partner=partner, sims=sims)
    return {"data": data, "meta": dict(SUCCESS)}
