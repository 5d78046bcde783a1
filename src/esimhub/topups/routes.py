"""``POST /orders/topups``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.catalogue.dependencies import PartnerCatalogueDep
from esimhub.db import SessionDep
from esimhub.deps import BaseUrl, ClockDep, SettingsDep
from esimhub.esims.schemas import Renderer
from esimhub.idempotency.http import HEADER_PARAMETER, money_write
from esimhub.kit import wire
from esimhub.kit.envelope import SUCCESS
from esimhub.kit.forms import read_body
from esimhub.kit.validation import Fields
from esimhub.orders.schemas import PlacedOrderResponse, placed_order
from esimhub.topups import schemas, service

router = APIRouter(tags=["orders"])


@router.post(
    "/orders/topups",
    openapi_extra={**HEADER_PARAMETER, **wire.request_body(schemas.TopupBody)},
    **wire.answers(PlacedOrderResponse),
)
async def submit_topup(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
    base_url: BaseUrl,
) -> Response:
    """Add a top-up package to one of your eSIMs."""
    body = await read_body(request)
    fields = Fields(body)
    package_id = fields.string("package_id", required=True, max_length=100)
    iccid = fields.string("iccid", required=True, max_length=22)
    description = fields.string("description", max_length=255)
    fields.check()
    assert package_id is not None
    assert iccid is not None
    renderer = Renderer(settings, base_url)

    async def work() -> tuple[int, Any]:
        order = await service.place_topup(
            session,
            partner,
            package_id=package_id,
            iccid=iccid,
            description=description,
            catalogue=catalogue,
            clock=clock,
        )
        return 200, {"data": placed_order(renderer, order, [], None), "meta": dict(SUCCESS)}

    return await money_write(
        request, session, partner.id, settings=settings, clock=clock, body=body, work=work
    )
