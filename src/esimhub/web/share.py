"""The eSIMs Cloud share page: ``/s/{brand}/{share_id}`` or ``/s/{share_id}``, behind a 4-digit code.

Server-rendered HTML that works without JavaScript on a phone screen. The access code is posted,
never put in a URL; wrong codes are counted per eSIM and lock the page for a while.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from esimhub.db import SessionDep
from esimhub.deps import ClockDep, SettingsDep
from esimhub.esims import instructions, profiles
from esimhub.esims import service as esims
from esimhub.esims.service import ShareLocked
from esimhub.kit import qr
from esimhub.models import Brand, Sim
from esimhub.usage import lifecycle
from esimhub.usage import service as usage

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

NO_STORE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _not_found() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Not found</title><p>This link is not valid.</p>", 404
    )


async def _resolve(
    session: SessionDep, share_id: str, brand_slug: str | None
) -> tuple[Sim, Brand | None] | None:
    sim = await esims.shared_sim(session, share_id)
    if sim is None:
        return None
    brand = await esims.brand_of(session, sim)
    if (brand.slug if brand else None) != brand_slug:
        return None
    return sim, brand


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)


def _branding(brand: Brand | None) -> dict[str, Any]:
    return {
        "brand_name": brand.name if brand else None,
        "logo_url": brand.logo_url if brand else None,
        "color": brand.color if brand else None,
    }


async def _show_form(
    request: Request, session: SessionDep, share_id: str, slug: str | None
) -> Response:
    found = await _resolve(session, share_id, slug)
    if found is None:
        return _not_found()
    _, brand = found
    context = {**_branding(brand), "action": request.url.path, "error": None}
    return _page(request, "share_code.html", context)


async def _open(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    share_id: str,
    slug: str | None,
) -> Response:
    found = await _resolve(session, share_id, slug)
    if found is None:
        return _not_found()
    sim, brand = found
    form = await request.form()
    code = form.get("access_code")
    context: dict[str, Any] = {**_branding(brand), "action": request.url.path}
    try:
        opened = await esims.open_share(
            session,
            clock=clock,
            sim=sim,
            code=code if isinstance(code, str) else "",
            client=request.client.host if request.client else "unknown",
        )
    except ShareLocked as locked:
        context["error"] = "Too many wrong codes. Wait a few minutes, then try again."
        response = _page(request, "share_code.html", context, status=429)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    if not opened:
        context["error"] = "That access code is not right. Check it and try again."
        return _page(request, "share_code.html", context, status=403)
    lpa = qr.lpa_string(sim.smdp_address, sim.matching_id)
    report = (await usage.settled(session, sim, clock.now())).report()
    shown = report.package
    context.update(
        package_title=shown.title if shown else "eSIM",
        iccid=sim.iccid,
        usage=_usage(report),
        # same-origin path: the page's own host serves the image, whatever the public URL says
        qr_url=profiles.qr_url(settings, "", sim),
        apple_url=profiles.apple_installation_url(lpa),
        smdp_address=sim.smdp_address,
        matching_id=sim.matching_id,
        confirmation_code=sim.confirmation_code,
        lpa=lpa,
        apns=[
            (name, (sim.apn or {}).get(key) or {"apn_type": "automatic", "apn_value": None})
            for name, key in (("iPhone", "ios"), ("Android", "android"))
        ],
        is_roaming=sim.is_roaming,
    )
    return _page(request, "share_sim.html", context)


STATE_WORDS: dict[str, str] = {
    lifecycle.NOT_ACTIVE: "not active yet",
    lifecycle.ACTIVE: "active",
    lifecycle.FINISHED: "used up",
    lifecycle.EXPIRED: "expired",
}


def _usage(report: lifecycle.Report) -> dict[str, Any] | None:
    package = report.package
    if report.status == lifecycle.RECYCLED:
        return {"label": "This eSIM has been recycled and can no longer be used.", "percent": 0}
    if package is None:
        return None
    state = STATE_WORDS.get(report.status, report.status.lower())
    if package.is_unlimited:
        return {"label": f"Unlimited data for {package.days} days ({state})", "percent": None}
    remaining = lifecycle.remaining_mb(package)
    percent = round(remaining * 100 / max(package.amount_mb, 1))
    return {
        "label": f"{_megabytes(remaining)} of {_megabytes(package.amount_mb)} left ({state})",
        "percent": percent,
    }


def _megabytes(mb: int) -> str:
    return f"{mb / 1024:.1f} GB".replace(".0 GB", " GB") if mb >= 1024 else f"{mb} MB"


@router.get("/s/{share_id}")
async def share_form(request: Request, session: SessionDep, share_id: str) -> Response:
    return await _show_form(request, session, share_id, None)


@router.get("/s/{brand_slug}/{share_id}")
async def branded_share_form(
    request: Request, session: SessionDep, brand_slug: str, share_id: str
) -> Response:
    return await _show_form(request, session, share_id, brand_slug)


@router.post("/s/{share_id}")
async def share_open(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, share_id: str
) -> Response:
    return await _open(request, session, settings, clock, share_id, None)


@router.post("/s/{brand_slug}/{share_id}")
async def branded_share_open(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    brand_slug: str,
    share_id: str,
) -> Response:
    return await _open(request, session, settings, clock, share_id, brand_slug)


@router.get("/help/terms")
async def terms(request: Request, settings: SettingsDep) -> Response:
    """The page product brochures' ``terms_url`` points to when ``ESIMHUB_TERMS_URL`` is unset."""
    context = {
        "brand": settings.brand_name,
        "entity": settings.legal_entity_name or settings.brand_name,
        "address": settings.legal_address,
        "brand_name": settings.brand_name,
        "logo_url": None,
        "color": None,
    }
    return templates.TemplateResponse(request, "terms.html", context)


@router.get("/help/installation")
async def installation_guide(request: Request) -> Response:
    """The page ``installation_guides.en`` points to: generic steps for iOS and Android."""
    texts = instructions.TEXTS["en"]
    sections = [
        ("iPhone: scan the QR code", texts["ios_qr"]),
        ("iPhone: enter the details by hand", texts["ios_manual"]),
        ("Android: scan the QR code", texts["android_qr"]),
        ("Android: enter the activation code", texts["android_manual"]),
        ("Before you travel", texts["network"]),
    ]
    return templates.TemplateResponse(
        request,
        "guide.html",
        {"sections": sections, "brand_name": "Installing an eSIM", "logo_url": None, "color": None},
    )
