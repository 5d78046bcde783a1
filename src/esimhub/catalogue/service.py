"""Catalogue rules: import, export and generation; product information; exchange rates."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.catalogue import demo, repository
from esimhub.catalogue.cache import Snapshot
from esimhub.catalogue.rates import DEMO_RATES
from esimhub.catalogue.render import Variant, render_entries
from esimhub.catalogue.schemas import DestinationOut, PackagesResponse
from esimhub.config import Settings
from esimhub.errors import MessageError, ValidationFailed
from esimhub.kit.clock import Clock, format_datetime
from esimhub.kit.money import to_cents, wire_number, wire_string
from esimhub.models import PackageOverride

Progress = Callable[[int], None]


class CatalogueImportError(ValueError):
    """The file is not a catalogue we can load; the message says where and why."""


@dataclass(frozen=True)
class ImportSummary:
    version: int
    destinations: int
    operators: int
    packages: int


def _parse(document: Any) -> tuple[list[DestinationOut], int]:
    """Accept one ``GET /packages`` response, a list of pages, or a bare list of entries."""
    pages = document if isinstance(document, list) and document and "data" in document[0] else None
    if pages is None:
        pages = [document if isinstance(document, dict) else {"data": document}]
    entries: list[DestinationOut] = []
    discount = 0
    for number, page in enumerate(pages, start=1):
        try:
            parsed = PackagesResponse.model_validate(page)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CatalogueImportError(f"page {number}, {where}: {first['msg']}") from exc
        entries.extend(parsed.data)
        if parsed.pricing.model == "discount_pricing":
            discount = parsed.pricing.discount_percentage
    return entries, discount


def _rows(
    entries: list[DestinationOut], discount: int, progress: Progress | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    destinations: dict[str, dict[str, Any]] = {}
    operators: list[dict[str, Any]] = []
    packages: list[dict[str, Any]] = []
    operator_ids: set[int] = set()
    package_ids: set[str] = set()
    for entry in entries:
        if entry.country_code and pycountry.countries.get(alpha_2=entry.country_code) is None:
            raise CatalogueImportError(f"{entry.slug}: unknown country code {entry.country_code!r}")
        if entry.slug in destinations:
            raise CatalogueImportError(f"destination {entry.slug!r} appears twice")
        destinations[entry.slug] = {
            "slug": entry.slug,
            "country_code": entry.country_code,
            "title": entry.title,
            "image": entry.image.model_dump() if entry.image else None,
            "position": len(destinations),
        }
        for operator in entry.operators:
            if operator.id in operator_ids:
                raise CatalogueImportError(f"operator id {operator.id} appears twice")
            operator_ids.add(operator.id)
            apn = (
                operator.apn.model_dump()
                if operator.apn
                else {
                    "ios": {
                        "apn_type": operator.apn_type or "automatic",
                        "apn_value": operator.apn_value,
                    },
                    "android": {
                        "apn_type": operator.apn_type or "automatic",
                        "apn_value": operator.apn_value,
                    },
                }
            )
            codes = [c.country_code for c in operator.countries] or (
                [entry.country_code] if entry.country_code else []
            )
            operators.append(
                {
                    **operator.model_dump(
                        exclude={
                            "packages",
                            "apn",
                            "countries",
                            "apn_type",
                            "apn_value",
                            "coverages",
                            "image",
                        }
                    ),
                    "destination_slug": entry.slug,
                    "apn": apn,
                    "coverages": [c.model_dump() for c in operator.coverages],
                    "image": operator.image.model_dump() if operator.image else None,
                    "country_codes": codes,
                    "position": len(operators),
                }
            )
            for package in operator.packages:
                if package.id in package_ids:
                    raise CatalogueImportError(f"package id {package.id!r} appears twice")
                package_ids.add(package.id)
                price = to_cents(package.price)
                # A snapshot taken under discount pricing has no net prices: derive them.
                net = (
                    to_cents(package.net_price)
                    if package.net_price is not None
                    else price * (100 - discount) // 100
                )
                packages.append(
                    {
                        "id": package.id,
                        "operator_id": operator.id,
                        "type": package.type,
                        "price_cents": price,
                        "net_price_cents": net,
                        "amount_mb": package.amount,
                        "days": package.day,
                        "is_unlimited": package.is_unlimited,
                        "title": package.title,
                        "data_label": package.data,
                        "voice_minutes": package.voice,
                        "sms": package.text,
                        "short_info": package.short_info,
                        "qr_installation": package.qr_installation,
                        "manual_installation": package.manual_installation,
                        "fair_usage_policy": package.fair_usage_policy
                        if package.is_fair_usage_policy or package.fair_usage_policy
                        else None,
                        "position": len(packages),
                    }
                )
                if progress is not None:
                    progress(1)
    for row in operators:
        row["country_codes"] = [c for c in row["country_codes"] if c]
    return list(destinations.values()), operators, packages


def count_packages(document: Any) -> int:
    entries, _ = _parse(document)
    return sum(len(op.packages) for entry in entries for op in entry.operators)


async def import_catalogue(
    session: AsyncSession, *, clock: Clock, document: Any, progress: Progress | None = None
) -> ImportSummary:
    """Replace the catalogue with ``document`` in one transaction."""
    entries, discount = _parse(document)
    destinations, operators, packages = _rows(entries, discount, progress)
    if not packages:
        raise CatalogueImportError("the file holds no packages")
    await repository.replace(
        session, destinations=destinations, operators=operators, packages=packages
    )
    today = clock.now().date().isoformat()
    if await repository.rates_on(session, today) is None:
        await repository.save_rates(session, today, dict(DEMO_RATES))
    version = await repository.bump_version(session, clock.now())
    return ImportSummary(version, len(destinations), len(operators), len(packages))


async def generate_demo(
    session: AsyncSession, *, clock: Clock, progress: Progress | None = None
) -> ImportSummary:
    return await import_catalogue(session, clock=clock, document=demo.generate(), progress=progress)


async def export_catalogue(
    session: AsyncSession, *, clock: Clock, base_url: str = ""
) -> dict[str, Any]:
    """The catalogue as a full ``GET /v2/packages`` body (net pricing, English, with top-ups)."""
    rows = await repository.load(session)
    found = await repository.rates_on(session, clock.now().date().isoformat())
    rates = found[1] if found else dict(DEMO_RATES)
    variant = Variant(
        language="en", include_topup=True, discount_percentage=None, base_url=base_url
    )
    return {
        "pricing": variant.pricing,
        "data": [e.body for e in render_entries(rows, rates, variant)],
    }


@dataclass(frozen=True)
class Seller:
    """Who a brochure names as the seller (``ESIMHUB_BRAND_*``, ``ESIMHUB_LEGAL_*``)."""

    brand_name: str
    logo_url: str
    legal_entity_name: str
    legal_address: str
    terms_url: str

    @classmethod
    def of(cls, settings: Settings, base_url: str) -> Seller:
        return cls(
            brand_name=settings.brand_name,
            logo_url=settings.brand_logo_url or f"{base_url}/img/brand.svg",
            legal_entity_name=settings.legal_entity_name or settings.brand_name,
            legal_address=settings.legal_address,
            terms_url=settings.terms_url or f"{base_url}/help/terms",
        )


# Peak speeds (Mbit/s, down and up) of a network technology, as brochures state them: the
# fastest technology of the operator's networks gives the package's maximum.
PEAK_SPEEDS_MBIT = {
    "5G": ("20000", "10000"),
    "LTE": ("150", "50"),
    "4G": ("150", "50"),
    "3G": ("42", "5.76"),
    "2G": ("0.236", "0.118"),
}


def peak_speeds(technologies: list[str]) -> tuple[str, str]:
    for technology in PEAK_SPEEDS_MBIT:  # fastest first
        if technology in {t.upper() for t in technologies}:
            return PEAK_SPEEDS_MBIT[technology]
    return PEAK_SPEEDS_MBIT["3G"]  # an operator listing none: the slowest data network sold


def product_information(snapshot: Snapshot, slug: str, seller: Seller) -> dict[str, Any]:
    """Product Information Brochure fields for one package (reference §3.3)."""
    if len(slug) > 100:
        raise ValidationFailed(
            {"package_slug": "The package slug may not be greater than 100 characters."}
        )
    package = snapshot.packages.get(slug)
    if package is None:
        raise MessageError(f"Package not found for slug: {slug}", 404)
    operator = snapshot.operators[package.operator_id]
    networks = [n for c in operator.coverages for n in c.get("networks", [])]
    technologies = sorted({t for n in networks for t in n.get("types", [])})
    fair = package.fair_usage_policy
    throttle_mb = _throttle_threshold_mb(fair)
    eur = snapshot.rates.get("EUR", DEMO_RATES["EUR"])
    download, upload = peak_speeds(technologies)
    body: dict[str, Any] = {
        "package_id": package.id,
        "product_name": package.title,
        "product_description": f"{operator.title} {package.title}",
        "date_marketed": None,
        "service_internet": True,
        "service_telephony": bool(package.voice_minutes),
        "service_sms": bool(package.sms),
        "network_providers": list(dict.fromkeys(n["name"] for n in networks)),
        "network_technologies": technologies,
        "data_allowance_mb": "Unlimited" if package.is_unlimited else package.amount_mb,
        "data_allowance_display": package.data_label,
        "validity_days": package.days,
        "voice_minutes": package.voice_minutes or 0,
        "sms_included": package.sms or 0,
        "retail_price_eur": wire_string(int(Decimal(package.price_cents) * eur)),
        "max_download_speed_mbit": download,
        "max_upload_speed_mbit": upload,
        "throttled_download_speed_mbit": "1 Mbps" if fair else None,
        "throttled_upload_speed_mbit": "1 Mbps" if fair else None,
        "throttle_threshold_mb": throttle_mb,
        "is_unlimited": package.is_unlimited,
        "is_fair_usage_policy": fair is not None,
        "fair_usage_policy": fair,
        "out_of_bundle_rate_eur_per_mb": "Out of bundle rate is not applicable",
        "activation_policy": operator.activation_policy,
        "is_roaming": operator.is_roaming,
        "auto_renewal": "The package does not renew automatically",
        "terms_url": seller.terms_url,
        "partner_brand_name": seller.brand_name,
        "partner_logo_url": seller.logo_url,
        "legal_entity_name": seller.legal_entity_name,
        "legal_address": seller.legal_address,
        "pib_version": 1,
        "pib_version_date": None,
    }
    # The hash changes exactly when something a brochure shows changes.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    body["version_hash"] = hashlib.sha256(canonical).hexdigest()
    body["pib_version_pdf_link"] = None
    return {"data": body}


def _throttle_threshold_mb(fair_usage: str | None) -> int | None:
    match = re.search(r"(\d+)\s*GB", fair_usage or "")
    return int(match.group(1)) * 1024 if match else None


_CURRENCY_LIST = re.compile(r"^([A-Za-z]{3})(?:,([A-Za-z]{3}))*$")


async def exchange_rates(
    session: AsyncSession, *, clock: Clock, date: str | None, to: str | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    day = clock.now().date().isoformat()
    if date:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
                raise ValueError(date)
            day = dt.date.fromisoformat(date).isoformat()
        except ValueError:
            errors["date"] = "The date does not match the format Y-m-d."
    wanted: list[str] | None = None
    if to:
        if not _CURRENCY_LIST.match(to):
            errors["to"] = "The to must be a comma separated list of 3-letter currency codes."
        wanted = [code.upper() for code in to.split(",")]
    if errors:
        raise ValidationFailed(errors)
    # The rates of the newest day published on or before ``day``, labelled ``day``: a client
    # asking for yesterday gets yesterday (docs/compatibility.md).
    found = await repository.rates_on(session, day)
    rates = found[1] if found else dict(DEMO_RATES)
    codes = [c for c in (wanted or sorted(rates)) if c in rates and c != "USD"]
    return {
        "data": {
            "date": day,
            "rates": [{"from": "USD", "mid": f"{rates[c].normalize():f}", "to": c} for c in codes],
        },
        "meta": {"message": "success"},
    }


async def package_count(session: AsyncSession) -> int:
    return await repository.package_count(session)


# -- per-partner overrides -------------------------------------------------------------------


class OverrideRefused(ValueError):
    """Terms an override cannot have; ``field`` is the one at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OverrideTerms:
    """A partner's own terms for a package: a price and/or net price (``None``: the
    catalogue's), or the package hidden from it."""

    price_cents: int | None = None
    net_price_cents: int | None = None
    hidden: bool = False


async def set_override(
    session: AsyncSession, *, clock: Clock, partner_id: int, package_id: str, terms: OverrideTerms
) -> PackageOverride:
    """Give ``partner_id`` ``terms`` for ``package_id``, replacing any it had. Every process
    serves the change on its next catalogue check (the catalogue version moves)."""
    priced = terms.price_cents is not None or terms.net_price_cents is not None
    if terms.hidden and priced:
        raise OverrideRefused("hidden", "A hidden package has no price of its own.")
    if not terms.hidden and not priced:
        raise OverrideRefused("price", "Give a price, a net price, or hide the package.")
    package = await repository.package(session, package_id)
    if package is None:
        raise OverrideRefused("package_id", "The selected package is invalid.")
    price = package.price_cents if terms.price_cents is None else terms.price_cents
    net = package.net_price_cents if terms.net_price_cents is None else terms.net_price_cents
    if net > price:
        raise OverrideRefused("net_price", "The net price may not be greater than the price.")
    override = await repository.override_of(session, partner_id, package_id)
    if override is None:
        override = PackageOverride(partner_id=partner_id, package_id=package_id)
        session.add(override)
    override.price_cents = terms.price_cents
    override.net_price_cents = terms.net_price_cents
    override.hidden = terms.hidden
    override.updated_at = clock.now()
    await repository.bump_version(session, clock.now())
    return override


async def overrides(session: AsyncSession, partner_id: int) -> Sequence[PackageOverride]:
    return await repository.overrides_of(session, partner_id)


async def clear_override(
    session: AsyncSession, *, clock: Clock, partner_id: int, package_id: str
) -> bool:
    """Give ``partner_id`` the catalogue's terms for ``package_id`` again; whether it had its own."""
    override = await repository.override_of(session, partner_id, package_id)
    if override is None:
        return False
    await session.delete(override)
    await repository.bump_version(session, clock.now())
    return True


def override_item(override: PackageOverride) -> dict[str, Any]:
    def price(cents: int | None) -> int | float | None:
        return None if cents is None else wire_number(cents)

    return {
        "package_id": override.package_id,
        "hidden": override.hidden,
        "price": price(override.price_cents),
        "net_price": price(override.net_price_cents),
        "updated_at": format_datetime(override.updated_at),
    }
