"""Catalogue artwork served by esimhub itself, so image URLs in the catalogue never dangle."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import Response

from esimhub.catalogue.dependencies import CatalogueDep
from esimhub.deps import SettingsDep
from esimhub.errors import NotFound

router = APIRouter(include_in_schema=False)

_CACHE = {"Cache-Control": "public, max-age=86400"}


def _card(width: int, height: int, start: str, end: str, title: str, subtitle: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{escape(start)}"/><stop offset="1" stop-color="{escape(end)}"/>'
        "</linearGradient></defs>"
        f'<rect width="{width}" height="{height}" rx="{height // 12}" fill="url(#g)"/>'
        f'<text x="{width // 14}" y="{height // 2}" font-family="sans-serif" font-weight="700" '
        f'font-size="{height // 6}" fill="#fff">{escape(title)}</text>'
        f'<text x="{width // 14}" y="{height // 2 + height // 6}" font-family="sans-serif" '
        f'font-size="{height // 12}" fill="#fff" opacity=".85">{escape(subtitle)}</text></svg>'
    )


@router.get("/img/brand.svg")
async def brand_image(settings: SettingsDep) -> Response:
    """The seller's logo in product brochures when ``ESIMHUB_BRAND_LOGO_URL`` is unset."""
    svg = _card(400, 120, "#0f766e", "#14b8a6", settings.brand_name[:24], "eSIM")
    return Response(svg, media_type="image/svg+xml", headers=_CACHE)


@router.get("/img/operators/{operator_id}.svg")
async def operator_image(operator_id: int, snapshot: CatalogueDep) -> Response:
    operator = snapshot.operators.get(operator_id)
    if operator is None:
        raise NotFound()
    svg = _card(1035, 653, operator.gradient_start, operator.gradient_end, operator.title, "eSIM")
    return Response(svg, media_type="image/svg+xml", headers=_CACHE)


@router.get("/img/destinations/{slug}.svg")
async def destination_image(slug: str, snapshot: CatalogueDep) -> Response:
    destination = next((d for d in snapshot.rows.destinations if d.slug == slug), None)
    if destination is None:
        raise NotFound()
    label = destination.country_code or destination.title[:2].upper()
    svg = _card(132, 100, "#334155", "#64748b", label, destination.title[:18])
    return Response(svg, media_type="image/svg+xml", headers=_CACHE)
