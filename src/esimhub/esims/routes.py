"""eSIMs: list, details, top-ups available, package history, instructions, brand; QR images."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.esims import instructions
from esimhub.esims import service as esims
from esimhub.esims.repository import SimFilters
from esimhub.kit import pagination
from esimhub.kit.forms import read_body
from esimhub.ordering import service as ordering
from esimhub.ordering.schemas import Renderer, pricing
from esimhub.runtime import RuntimeDep, public_base_url
from esimhub.usage import service as usage
from esimhub.usage.lifecycle import remaining_mb
from esimhub.usage.routes import poll_limit

router = APIRouter(tags=["esims"])
public_router = APIRouter(tags=["esims"])

SIM_INCLUDES = frozenset({"order", "order.status", "order.user", "share"})
SUCCESS = {"message": "success"}


@router.get("/sims")
async def list_sims(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
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
        default_limit=runtime.settings.list_default_limit,
    )
    wanted = pagination.includes(include) & SIM_INCLUDES
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))
    items = [
        renderer.listed_sim(view.sim, view.order, view.brand, includes=wanted, partner=partner)
        for view in views
    ]
    return pagination.page_of(
        items, window, request=request, base_url=renderer.base_url, page_request=page_request
    )


@router.get("/sims/{sim_iccid}")
async def get_sim(
    sim_iccid: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
    include: str | None = None,
) -> dict[str, Any]:
    """One of your eSIMs, with its order (``simable``) and share link."""
    view = await esims.sim_view(session, partner.id, sim_iccid)
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))
    data = renderer.listed_sim(
        view.sim,
        view.order,
        view.brand,
        includes=pagination.includes(include) & SIM_INCLUDES,
        partner=partner,
        with_sharing=True,
    )
    return {"data": data, "meta": SUCCESS}


@router.get("/sims/{iccid}/topups")
async def sim_topups(
    iccid: str, request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> dict[str, Any]:
    """Top-up packages this eSIM can take (``{"data": []}`` when none)."""
    catalogue = await runtime.catalogue.current()
    packages = await ordering.available_topups(
        session, partner.id, iccid, catalogue=catalogue, now=runtime.clock.now()
    )
    if not packages:
        return {"data": []}
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))
    net = not partner.uses_discount_pricing
    return {
        "pricing": pricing(partner),
        "data": [renderer.topup_package(p, catalogue.rates, net=net) for p in packages],
    }


@router.get("/sims/{iccid}/packages", dependencies=[poll_limit("history")])
async def sim_package_history(
    iccid: str, request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> dict[str, Any]:
    """The eSIM's packages: the original purchase and each top-up, with their status."""
    history = await usage.package_history(session, partner.id, iccid, runtime.clock.now())
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))
    net = not partner.uses_discount_pricing
    return {
        "pricing": pricing(partner),
        "data": [
            renderer.history_item(item, net=net, remaining_mb=remaining_mb(item))
            for item in history
        ],
    }


@router.get("/sims/{sim_iccid}/instructions")
async def sim_instructions(
    sim_iccid: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """How to install the eSIM on iOS and Android, in the ``Accept-Language`` language."""
    sim = await esims.owned_sim(session, partner.id, sim_iccid)
    base = public_base_url(request, runtime)
    data = instructions.instructions(
        accept_language=request.headers.get("accept-language"),
        smdp_address=sim.smdp_address,
        matching_id=sim.matching_id,
        qr_code_url=esims.qr_url(runtime.settings, base, sim),
        apn=sim.apn or {},
        is_roaming=sim.is_roaming,
    )
    return {"data": {"instructions": data}, "meta": SUCCESS}


@router.put("/sims/{sim_iccid}/brand")
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
    return {"data": {"brand_settings_name": brand.name if brand else None}, "meta": SUCCESS}


@public_router.get("/qr", include_in_schema=False)
async def qr_image(
    session: SessionDep,
    runtime: RuntimeDep,
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
        settings=runtime.settings,
        clock=runtime.clock,
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
