"""Catalogue rows → the ``GET /packages`` wire dictionaries, field for field as Airalo sends them."""

from __future__ import annotations

import functools
import gettext
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry

from esimhub.catalogue.rates import CURRENCIES, INTEGRAL
from esimhub.catalogue.repository import CatalogueRows
from esimhub.kit.apn import wire_apn, wire_apns
from esimhub.kit.money import convert, wire_number
from esimhub.kit.statuses import PricingModel
from esimhub.models import Destination, Operator, Package

# Accept-Language codes Airalo documents (reference §8.19); anything else falls back to English.
LANGUAGES = frozenset(
    [
        "ar",
        "zh",
        "cs",
        "nl",
        "en",
        "fr",
        "ka",
        "de",
        "el",
        "he",
        "hi",
        "it",
        "ja",
        "ko",
        "pl",
        "pt",
        "ru",
        "tl",
        "th",
        "tr",
        "uk",
        "zh-CN",
        "pt-BR",
        "es-419",
        "hy-AM",
        "zh-TW",
        "vls-BE",
        "pt-PT",
        "sr-CS",
        "es-ES",
        "sv-SE",
        "ur-PK",
        "fil",
        "sq",
        "az",
        "bg",
        "hr",
        "da",
        "et",
        "fi",
        "hun",
        "kmr",
        "ky",
        "lv",
        "lt",
        "mk",
        "ms",
        "nb",
        "ro",
        "sk",
        "uz",
        "vi",
        "es",
    ]
)


def negotiate_language(header: str | None) -> str:
    """The first supported language of an ``Accept-Language`` header, by quality; else ``en``."""
    if not header:
        return "en"
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip()))
    lookup = {lang.lower(): lang for lang in LANGUAGES}
    for _, _, tag in sorted(ranked):
        for candidate in (tag.lower(), tag.lower().split("-")[0]):
            if candidate in lookup:
                return lookup[candidate]
    return "en"


@functools.cache
def _translator(language: str) -> Callable[[str], str]:
    locale = language.replace("-", "_")
    try:
        translation = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[locale, locale.split("_")[0]]
        )
    except OSError:
        return lambda text: text
    return translation.gettext


def country_title(code: str, english: str, language: str) -> str:
    """A country's name in ``language`` from pycountry's translations; our English name otherwise."""
    if language == "en":
        return english
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return english
    translated = _translator(language)(country.name)
    return english if translated == country.name else translated


@dataclass(frozen=True)
class Variant:
    """Everything besides the catalogue version that changes the rendered bytes."""

    language: str
    include_topup: bool
    discount_percentage: int | None  # None: net pricing
    base_url: str
    # apn_value of an automatic APN without one (``Settings.automatic_apn``); None as stored
    automatic_apn: str | None = None

    @property
    def pricing(self) -> dict[str, Any]:
        if self.discount_percentage is None:
            return {"model": PricingModel.NET, "discount_percentage": 0}
        return {"model": PricingModel.DISCOUNT, "discount_percentage": self.discount_percentage}


def _image(image: dict[str, Any] | None, base_url: str) -> dict[str, Any] | None:
    if not image:
        return None
    url = str(image.get("url", ""))
    return {**image, "url": base_url + url if url.startswith("/") else url}


def price_table(cents: int, rates: dict[str, Decimal]) -> dict[str, int | float]:
    return {c: convert(cents, rates[c], integral=c in INTEGRAL) for c in CURRENCIES if c in rates}


def package_dict(package: Package, rates: dict[str, Decimal], net: bool) -> dict[str, Any]:
    prices: dict[str, Any] = {"recommended_retail_price": price_table(package.price_cents, rates)}
    body: dict[str, Any] = {
        "id": package.id,
        "type": package.type,
        "price": wire_number(package.price_cents),
    }
    if net:
        body["net_price"] = wire_number(package.net_price_cents)
        prices = {"net_price": price_table(package.net_price_cents, rates), **prices}
    body.update(
        amount=package.amount_mb,
        day=package.days,
        is_unlimited=package.is_unlimited,
        title=package.title,
        data=package.data_label,
        voice=package.voice_minutes,
        text=package.sms,
        prices=prices,
        short_info=package.short_info,
        qr_installation=package.qr_installation,
        manual_installation=package.manual_installation,
        is_fair_usage_policy=package.fair_usage_policy is not None,
        fair_usage_policy=package.fair_usage_policy,
    )
    return body


@dataclass(frozen=True)
class RenderedEntry:
    kind: str  # local | global
    country_code: str
    body: dict[str, Any]


def render_entries(
    rows: CatalogueRows, rates: dict[str, Decimal], variant: Variant
) -> list[RenderedEntry]:
    net = variant.discount_percentage is None
    by_operator: dict[int, list[Package]] = defaultdict(list)
    for package in rows.packages:
        if package.type == "sim" or variant.include_topup:
            by_operator[package.operator_id].append(package)
    by_destination: dict[str, list[Operator]] = defaultdict(list)
    for operator in rows.operators:
        by_destination[operator.destination_slug].append(operator)
    countries = {d.country_code: d for d in rows.destinations if d.country_code}

    def title_of(destination: Destination) -> str:
        if not destination.country_code:
            return destination.title
        return country_title(destination.country_code, destination.title, variant.language)

    def operator_country(code: str) -> dict[str, Any]:
        known = countries.get(code)
        return {
            "country_code": code,
            "title": title_of(known) if known else country_title(code, code, variant.language),
            "image": _image(known.image, variant.base_url) if known else None,
        }

    rendered = []
    for destination in rows.destinations:
        operators = [
            (op, by_operator[op.id])
            for op in by_destination[destination.slug]
            if by_operator[op.id]
        ]
        if not operators:
            continue
        sims = [p for _, packages in operators for p in packages if p.type == "sim"] or [
            p for _, packages in operators for p in packages
        ]
        min_price: dict[str, Any] = {}
        if net:
            min_price["net_price"] = price_table(min(p.net_price_cents for p in sims), rates)
        min_price["recommended_retail_price"] = price_table(min(p.price_cents for p in sims), rates)
        body = {
            "slug": destination.slug,
            "country_code": destination.country_code,
            "title": title_of(destination),
            "image": _image(destination.image, variant.base_url),
            "min_price": min_price,
            "operators": [
                _operator_dict(op, packages, rates, net, variant, operator_country)
                for op, packages in operators
            ],
        }
        kind = "local" if destination.country_code else "global"
        rendered.append(RenderedEntry(kind, destination.country_code, body))
    return rendered


def _operator_dict(
    operator: Operator,
    packages: Sequence[Package],
    rates: dict[str, Decimal],
    net: bool,
    variant: Variant,
    operator_country: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    ios = wire_apn((operator.apn or {}).get("ios"), variant.automatic_apn)
    return {
        "id": operator.id,
        "title": operator.title,
        "type": operator.type,
        "plan_type": operator.plan_type,
        "is_roaming": operator.is_roaming,
        "rechargeability": operator.rechargeability,
        "packages": [package_dict(p, rates, net) for p in packages],
        "style": operator.style,
        "gradient_start": operator.gradient_start,
        "gradient_end": operator.gradient_end,
        "is_prepaid": operator.is_prepaid,
        "esim_type": operator.esim_type,
        "warning": operator.warning,
        **ios,
        "info": list(operator.info),
        "image": _image(operator.image, variant.base_url),
        "activation_policy": operator.activation_policy,
        "is_kyc_verify": operator.is_kyc_verify,
        "other_info": operator.other_info,
        "coverages": list(operator.coverages),
        "install_window_days": operator.install_window_days,
        "topup_grace_window_days": operator.topup_grace_window_days,
        "apn": wire_apns(operator.apn, variant.automatic_apn),
        "countries": [operator_country(code) for code in operator.country_codes],
    }
