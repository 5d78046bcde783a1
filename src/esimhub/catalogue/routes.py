"""Catalogue endpoints: packages, product information, exchange rates, compatible devices."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable
from typing import Annotated, Any

import pycountry
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from esimhub.auth.dependencies import CurrentPartner, current_partner
from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue import schemas, service
from esimhub.catalogue.cache import Snapshot
from esimhub.catalogue.dependencies import PartnerCatalogueDep
from esimhub.catalogue.devices import DEVICES, DEVICES_LITE
from esimhub.catalogue.render import Variant, negotiate_language
from esimhub.db import SessionDep
from esimhub.deps import BaseUrl, ClockDep, get_base_url
from esimhub.errors import ValidationFailed, send_answer
from esimhub.kit import pagination, wire
from esimhub.limits import bearer_token, count_request, endpoint_limit

router = APIRouter(tags=["catalogue"])

FILTERS = ("type", "country")


def _filter_errors(request: Request, kind: str | None, country: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key in request.query_params:
        if key.startswith("filter[") and key[7:-1] not in FILTERS:
            errors[f"filter.{key[7:-1]}"] = (
                f"The filter {key[7:-1]} is not supported. Supported filters: type, country."
            )
    if kind is not None and kind not in {"local", "global"}:
        errors["filter.type"] = (
            "The selected type is not supported. Supported values:local, global."
        )
    if country is not None and (
        len(country) != 2 or pycountry.countries.get(alpha_2=country.upper()) is None
    ):
        errors["filter.country"] = (
            "Unsupported country code. Please provide a valid 2-character country code "
            "Example: DE, TR, JP"
        )
    return errors


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag.removeprefix("W/") in candidates


@router.get(
    "/packages",
    responses={200: {"model": schemas.PackagesResponse}, 304: {"description": "Not modified"}},
    dependencies=[endpoint_limit("packages", bearer_token)],
)
async def list_packages(
    request: Request,
    partner: CurrentPartner,
    filter_type: Annotated[str | None, Query(alias="filter[type]")] = None,
    filter_country: Annotated[str | None, Query(alias="filter[country]")] = None,
    include: str | None = None,
    limit: str | None = None,
    page: str | None = None,
) -> Response:
    """The package catalogue, grouped by country or region (Laravel pagination over entries)."""
    known = await known_packages(request, partner)
    if known is not None:
        return known
    return await packages(request, partner, filter_type, filter_country, include, limit, page)


PACKAGES_ROUTE = router.routes[-1]  # the route just declared
PACKAGES_PATHS = frozenset({"/v1/packages", "/v2/packages"})
PACKAGES_QUERY = ("filter[type]", "filter[country]", "include", "limit", "page")


async def answer_packages_at_edge(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer ``GET /v{1,2}/packages`` as the route does, without the router and the dependency
    machinery (a client revalidating the catalogue with ``If-None-Match`` costs an ETag
    compare); ``False`` when the request is not for the catalogue."""
    if scope["method"] != "GET" or scope["path"] not in PACKAGES_PATHS:
        return False
    scope["route"] = PACKAGES_ROUTE  # for the metrics' route label
    request = Request(scope, receive)

    async def answer() -> Response:
        partner = await current_partner(request)
        await count_request(request, "packages", bearer_token)
        known = await known_packages(request, partner)
        if known is not None:
            return known
        query = request.query_params
        return await packages(request, partner, *(query.get(n) for n in PACKAGES_QUERY))

    return await send_answer(scope, receive, send, answer())


def _request_seen(request: Request, partner: PartnerPrincipal, base: str) -> Hashable:
    """Everything a catalogue answer depends on, as the request states it: the partner's
    pricing, the URL it came in on and its language."""
    discount = partner.discount_percentage if partner.uses_discount_pricing else None
    scope = request.scope
    language = request.headers.get("accept-language")
    return (discount, base, scope["path"], scope["query_string"], language)


async def known_packages(request: Request, partner: PartnerPrincipal) -> Response | None:
    """The answer to a request answered before from the current snapshot, found by the request
    alone (no parsing, no rendering): a 304 when the client holds it, else its kept bytes;
    ``None`` when it was not answered before (or its bytes are no longer kept). Only valid
    requests are remembered (``packages``)."""
    snapshot = await _catalogue_of(request, partner)
    etag = snapshot.etag(_request_seen(request, partner, await get_base_url(request)))
    if etag is None:
        return None
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    kept = snapshot.body(etag)
    return None if kept is None else _catalogue_answer(kept, etag)


async def _catalogue_of(request: Request, partner: PartnerPrincipal) -> Snapshot:
    snapshot: Snapshot = await request.app.state.runtime.catalogue.current()
    return snapshot.for_partner(partner.id)


def _catalogue_answer(body: bytes, etag: str) -> Response:
    return Response(body, media_type="application/json", headers={"ETag": etag})


async def packages(
    request: Request,
    partner: PartnerPrincipal,
    filter_type: str | None,
    filter_country: str | None,
    include: str | None,
    limit: str | None,
    page: str | None,
) -> Response:
    """The catalogue answer for these query parameters (validated, then rendered or taken from
    the bytes kept), or a 304 when the client holds it: everything the bytes depend on is known
    before any rendering. The request is remembered for ``known_packages``."""
    runtime = request.app.state.runtime
    snapshot = await _catalogue_of(request, partner)
    base = await get_base_url(request)
    seen = _request_seen(request, partner, base)
    errors = _filter_errors(request, filter_type, filter_country)
    try:
        page_request = pagination.parse_page_request(limit, page)
    except ValidationFailed as failed:
        raise ValidationFailed({**failed.errors, **errors}) from None
    if errors:
        raise ValidationFailed(errors)

    language = negotiate_language(request.headers.get("accept-language"))
    variant = Variant(
        language=language,
        include_topup="topup" in (include or "").split(","),
        discount_percentage=partner.discount_percentage if partner.uses_discount_pricing else None,
        base_url=base,
        automatic_apn=runtime.settings.automatic_apn,
    )
    path = f"{base}{request.scope['path']}"
    query = {k: v for k, v in request.query_params.items() if k != "page"}
    query["language"] = language

    fingerprint = json.dumps(
        [
            snapshot.version,
            snapshot.partner_id,
            repr(variant),
            path,
            sorted(query.items()),
            page_request.page,
        ]
    )
    etag = f'W/"{hashlib.sha256(fingerprint.encode()).hexdigest()[:32]}"'
    snapshot.keep_etag(seen, etag)
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})

    body = snapshot.body(etag)
    if body is None:
        view = snapshot.view(variant)
        selected = view.matching(filter_type, filter_country.upper() if filter_country else None)
        per_page = runtime.settings.packages_default_limit
        window = pagination.window(len(selected), page_request, per_page)
        links, meta = pagination.links_and_meta(
            window, path=path, query=query, per_page_text=page_request.per_page_text
        )
        blobs = b",".join(view.blobs[i] for i in selected[window.start : window.stop])
        body = b"".join(
            [
                b'{"pricing":',
                _compact(variant.pricing),
                b',"data":[',
                blobs,
                b'],"links":',
                _compact(links),
                b',"meta":',
                _compact(meta),
                b"}",
            ]
        )
        snapshot.keep_body(etag, body)
    return _catalogue_answer(body, etag)


OVERRIDES_DEFAULT_LIMIT = 100


@router.get("/packages/overrides", **wire.answers(schemas.PackageOverridesPage))
async def list_overrides(
    request: Request,
    partner: CurrentPartner,
    snapshot: PartnerCatalogueDep,
    base_url: BaseUrl,
    limit: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """Your own terms for packages, set by the operator: a price or net price of your own, or
    a package not offered to you (``GET /packages`` and orders apply them already)."""
    page_request = pagination.parse_page_request(limit, page)
    overrides = snapshot.overrides_of(partner.id)
    window = pagination.window(len(overrides), page_request, OVERRIDES_DEFAULT_LIMIT)
    items = [service.override_item(o) for o in overrides[window.start : window.stop]]
    return pagination.page_of(
        items, window, request=request, base_url=base_url, page_request=page_request
    )


@router.get(
    "/packages/{package_slug}/product-information",
    response_model=schemas.ProductInformationResponse,
    dependencies=[
        endpoint_limit(
            "product_information",
            lambda request: f"{bearer_token(request)}:{request.path_params['package_slug']}",
        )
    ],
)
async def product_information(
    package_slug: str, request: Request, partner: CurrentPartner, snapshot: PartnerCatalogueDep
) -> dict[str, Any]:
    """Product Information Brochure of one package."""
    seller = service.Seller.of(request.app.state.runtime.settings, await get_base_url(request))
    return service.product_information(snapshot, package_slug, seller)


@router.get("/finance/exchange-rates", response_model=schemas.ExchangeRatesResponse)
async def exchange_rates(
    session: SessionDep,
    partner: CurrentPartner,
    clock: ClockDep,
    date: str | None = None,
    to: str | None = None,
) -> dict[str, Any]:
    """USD exchange rates used for the converted price tables."""
    return await service.exchange_rates(session, clock=clock, date=date, to=to)


@router.get("/compatible-devices", response_model=schemas.DevicesResponse, deprecated=True)
async def compatible_devices(partner: CurrentPartner) -> dict[str, Any]:
    """Devices that support eSIM, with model identifiers (deprecated: use -lite)."""
    return {"data": DEVICES}


@router.get("/compatible-devices-lite", response_model=schemas.DevicesLiteResponse)
async def compatible_devices_lite(partner: CurrentPartner) -> dict[str, Any]:
    """Devices that support eSIM."""
    return {"data": DEVICES_LITE}
