"""eSIMs: list, details, top-ups available, package history, instructions, brand; QR images."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.auth.schemas import pricing
from esimhub.catalogue.dependencies import PartnerCatalogueDep
from esimhub.db import SessionDep
from esimhub.deps import BaseUrl, ClockDep, SettingsDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.esims import instructions, profiles, schemas
from esimhub.esims import service as esims
from esimhub.esims.repository import SimFilters
from esimhub.esims.schemas import Renderer
from esimhub.kit import pagination, wire
from esimhub.kit.envelope import ok
from esimhub.kit.forms import read_body

router = APIRouter(tags=["esims"])
public_router = APIRouter(tags=["esims"])

SIM_INCLUDES = frozenset({"order", "order.status", "order.user", "share"})


@router.get("/sims", **wire.answers(schemas.SimsPage))
async def list_sims(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    base_url: BaseUrl,
    include: str | None = None,
    filter_created_at: Annotated[str | None, Query(alias="filter[created_at]")] = None,
    filter_iccid: Annotated[str | None, Query(alias="filter[iccid]")] = None,
    limit: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """Your eSIMs, newest first; each carries its order as ``simable``."""
    page_request = pagination.parse_page_request(limit, page)
    created_from, created_to = pagination.created_range(filter_created_at)
    filters = SimFilters(created_from=created_from, created_to=created_to, iccid=filter_iccid)
    window, views = await esims.sims_page(
        session,
        partner.id,
        filters=filters,
        page=page_request,
        default_limit=settings.list_default_limit,
    )
    wanted = pagination.includes(include) & SIM_INCLUDES
    renderer = Renderer(settings, base_url)
    items = [
        renderer.listed_sim(view.sim, view.order, view.brand, includes=wanted, partner=partner)
        for view in views
    ]
    return pagination.page_of(
        items, window, request=request, base_url=renderer.base_url, page_request=page_request
    )


@router.get("/sims/{sim_iccid}", **wire.answers(schemas.SimResponse))
async def get_sim(
    sim_iccid: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    base_url: BaseUrl,
    include: str | None = None,
) -> dict[str, Any]:
    """One of your eSIMs, with its order (``simable``) and share link."""
    view = await esims.sim_view(session, partner.id, sim_iccid)
    renderer = Renderer(settings, base_url)
    data = renderer.listed_sim(
        view.sim,
        view.order,
        view.brand,
        includes=pagination.includes(include) & SIM_INCLUDES,
        partner=partner,
        with_sharing=True,
    )
    return ok(data)


@router.get("/sims/{iccid}/topups", **wire.answers(schemas.TopupPackagesResponse))
async def sim_topups(
    iccid: str,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    base_url: BaseUrl,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
) -> dict[str, Any]:
    """Top-up packages this eSIM can take (``{"data": []}`` when none)."""
    packages = await esims.available_topups(
        session, partner.id, iccid, catalogue=catalogue, now=clock.now()
    )
    if not packages:
        return {"data": []}
    renderer = Renderer(settings, base_url)
    net = not partner.uses_discount_pricing
    return {
        "pricing": pricing(partner),
        "data": [renderer.topup_package(p, catalogue.rates, net=net) for p in packages],
    }


@router.get("/sims/{sim_iccid}/instructions", **wire.answers(schemas.InstructionsResponse))
async def sim_instructions(
    sim_iccid: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    base_url: BaseUrl,
) -> dict[str, Any]:
    """How to install the eSIM on iOS and Android, in the ``Accept-Language`` language."""
    sim = await esims.owned_sim(session, partner.id, sim_iccid)
    data = instructions.instructions(
        accept_language=request.headers.get("accept-language"),
        smdp_address=sim.smdp_address,
        matching_id=sim.matching_id,
        qr_code_url=profiles.qr_url(settings, base_url, sim),
        apn=sim.apn or {},
        automatic_apn=settings.automatic_apn,
        is_roaming=sim.is_roaming,
    )
    return ok({"instructions": data})


@router.put(
    "/sims/{sim_iccid}/brand",
    openapi_extra=wire.request_body(schemas.BrandBody),
    **wire.answers(schemas.BrandResponse),
)
async def change_brand(
    sim_iccid: str, request: Request, session: SessionDep, partner: CurrentPartner
) -> dict[str, Any]:
    """Change the brand shown on the eSIM's share page (null: unbranded)."""
    body = await read_body(request)
    if "brand_settings_name" not in body:
        raise ValidationFailed(
            {"brand_settings_name": "The brand settings name field must be present."}
        )
    name = body["brand_settings_name"]
    if name is not None and not isinstance(name, str):
        raise ValidationFailed({"brand_settings_name": "The brand settings name must be a string."})
    brand = await esims.change_brand(session, partner.id, iccid=sim_iccid, name=name or None)
    return ok({"brand_settings_name": brand.name if brand else None})


@public_router.get("/qr", include_in_schema=False)
async def qr_image(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    id: str = "",
    expires: str = "",
    signature: str = "",
    format: str = "png",
) -> Response:
    """The QR image behind an eSIM's signed ``qrcode_url`` (PNG, or SVG with ``format=svg``)."""
    if not (id.isdigit() and expires.isdigit()) or format not in esims.QR_KINDS:
        raise NotFound()
    image = await esims.qr_image(
        session,
        settings=settings,
        clock=clock,
        sim_id=int(id),
        expires=int(expires),
        signature=signature,
        kind=format,
    )
    return Response(
        image,
        media_type=esims.QR_KINDS[format],
        headers={"Cache-Control": "private, max-age=86400"},
    )
