"""A deterministic demo catalogue, emitted in the ``GET /v2/packages`` JSON shape.

Every country a traveller can buy for gets a local entry, the regions and World get global
entries; prices follow a per-region cost level. The ids that Airalo's documentation and public
integrations hard-code (reference §14.13) exist with the documented shape, so code written
against those examples runs unchanged. Brand names and all text are our own.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pycountry

SEED = 20261124

# Territories with no commercial mobile market, or that partners may not sell to.
EXCLUDED = {
    "AQ",
    "BV",
    "HM",
    "TF",
    "UM",
    "IO",
    "GS",
    "PN",
    "TK",
    "NU",
    "NF",
    "CX",
    "CC",
    "SJ",
    "EH",
    "KP",
    "IR",
    "SY",
    "CU",
    "SH",
    "WF",
    "BL",
    "PM",
    "YT",
    "AX",
    "VA",
    "BQ",
}

COMMON_NAMES = {
    "BO": "Bolivia",
    "CD": "DR Congo",
    "CG": "Congo",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "KR": "South Korea",
    "LA": "Laos",
    "MD": "Moldova",
    "MF": "Saint Martin",
    "PS": "Palestine",
    "RU": "Russia",
    "SX": "Sint Maarten",
    "TR": "Turkey",
    "TW": "Taiwan",
    "TZ": "Tanzania",
    "VE": "Venezuela",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
    "VN": "Vietnam",
    "GB": "United Kingdom",
    "US": "United States",
}

REGIONS: dict[str, tuple[str, str, str]] = {
    # slug: (title, operator brand, member country codes)
    "europe": (
        "Europe",
        "EuroHop",
        "AD AL AT BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE "
        "LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS SE SI SK SM UA",
    ),
    "asia": (
        "Asia",
        "AsiaHop",
        "AF AM AZ BD BN BT CN GE HK ID IN JP KG KH KR KZ LA LK MM MN MO MV MY NP PH PK SG TH "
        "TJ TL TM TW UZ VN",
    ),
    "middle-east-and-north-africa": (
        "Middle East & North Africa",
        "MenaHop",
        "AE BH DZ EG IQ IL JO KW LB LY MA OM PS QA SA SD TN TR YE",
    ),
    "africa": (
        "Africa",
        "AfricaHop",
        "AO BF BI BJ BW CD CF CG CI CM CV DJ ER ET GA GH GM GN GQ GW KE KM LR LS MG ML MR MU "
        "MW MZ NA NE NG RE RW SC SL SN SO SS ST SZ TD TG TZ UG ZA ZM ZW",
    ),
    "north-america": ("North America", "NorthHop", "US CA MX"),
    "latin-america": (
        "Latin America",
        "LatamHop",
        "AR BO BR BZ CL CO CR EC GF GT GY HN NI PA PE PY SR SV UY VE",
    ),
    "caribbean": (
        "Caribbean",
        "IslandHop",
        "AG AI AW BB BM BS CW DM DO GD GP HT JM KN KY LC MQ MS PR SX TC TT VC VG VI",
    ),
    "oceania": (
        "Oceania",
        "PacificHop",
        "AS AU CK FJ FM GU KI MH MP NC NR NZ PF PG PW SB TO TV VU WS",
    ),
}
WORLD_EXTRA = (
    "US CA MX BR AR CL CO PE AU NZ JP KR CN HK SG TH MY ID PH VN IN AE SA IL TR EG MA ZA KE NG"
)

# USD price of 1 GB for 7 days, per region: what the local wholesale market roughly costs.
COST_LEVEL = {
    "europe": 4.5,
    "north-america": 4.5,
    "asia": 5.0,
    "middle-east-and-north-africa": 6.5,
    "latin-america": 6.0,
    "africa": 8.5,
    "caribbean": 9.0,
    "oceania": 8.0,
}

# Real network names for the best-known markets (coverage is public information).
NETWORKS = {
    "US": [("T-Mobile", ["5G"]), ("AT&T", ["5G"]), ("Verizon", ["5G"])],
    "GB": [("EE", ["5G"]), ("Vodafone", ["5G"]), ("O2", ["4G"])],
    "DE": [("Telekom", ["5G"]), ("Vodafone", ["5G"]), ("O2", ["4G"])],
    "FR": [("Orange", ["5G"]), ("SFR", ["5G"]), ("Bouygues", ["4G"])],
    "ES": [("Movistar", ["5G"]), ("Vodafone", ["4G"]), ("Orange", ["4G"])],
    "IT": [("TIM", ["5G"]), ("Vodafone", ["5G"]), ("WindTre", ["4G"])],
    "JP": [("SoftBank", ["5G"]), ("KDDI", ["5G"]), ("NTT Docomo", ["4G"])],
    "TR": [("Turkcell", ["4G"]), ("Vodafone", ["4G"])],
    "FO": [("Foroya Tele", ["4G"])],
    "HR": [("Hrvatski Telekom", ["5G"]), ("A1", ["4G"])],
    "CR": [("Kolbi", ["4G"]), ("Claro", ["4G"])],
    "CA": [("Rogers", ["5G"]), ("Bell", ["5G"]), ("Telus", ["4G"])],
    "AU": [("Telstra", ["5G"]), ("Optus", ["5G"])],
    "TH": [("AIS", ["5G"]), ("True", ["5G"])],
    "MX": [("Telcel", ["5G"]), ("AT&T", ["4G"])],
}

# Operators whose ids Airalo's documentation and integrations use (reference §14.13).
KNOWN_OPERATORS = {
    "JP": "Moshi Moshi",
    "TR": "Merhaba",
    "FO": "Kallur Digital",
    "CR": "Jaco Mobile",
    "LR": "Liberation Mobile",
    "IT": "Mamma Mia",
    "US": "Change",
}

# Countries where a voice-and-text operator is offered besides the data-only one.
VOICE_COUNTRIES = {
    "GB": "Uki Mobile",
    "US": "Change Talk",
    "DE": "Hallo Mobil",
    "FR": "Allo Voyage",
    "ES": "Hola Movil",
    "NL": "Dag Mobiel",
    "AU": "Gday Mobile",
    "CA": "Maple Talk",
    "IE": "Craic Mobile",
    "HR": "Bonbon Mobile",
    "PT": "Ola Movel",
    "AE": "Marhaba Talk",
    "SG": "Lah Mobile",
    "NZ": "Kia Ora Mobile",
    "MX": "Hola Talk",
}

SYLLABLES = [
    "ka",
    "lu",
    "mi",
    "no",
    "ra",
    "ve",
    "zo",
    "ta",
    "pe",
    "li",
    "su",
    "da",
    "fo",
    "gi",
    "ha",
    "ne",
    "bo",
    "ri",
    "sa",
    "to",
]
SUFFIXES = ["Mobile", "Connect", "Telecom", "Wireless", "Net", "Link", "Air", "Cell"]
PALETTES = [
    ("light", "#0f766e", "#14b8a6"),
    ("dark", "#1e3a8a", "#3b82f6"),
    ("light", "#9a3412", "#f97316"),
    ("dark", "#581c87", "#a855f7"),
    ("light", "#166534", "#22c55e"),
    ("dark", "#831843", "#ec4899"),
]

# (GB, days) of the data plans every local operator sells; GB 0 marks an unlimited plan.
LOCAL_PLANS = [(1, 7), (2, 15), (3, 30), (5, 30), (10, 30), (20, 30)]
UNLIMITED_DAYS = [1, 3, 5, 7, 10, 15, 30]
VOICE_PLANS = [(2, 15, 50, 50), (3, 30, 100, 100), (5, 30, 100, 100), (10, 30, 300, 300)]
REGIONAL_PLANS = [(1, 7), (3, 15), (5, 30), (10, 30), (20, 30), (50, 90)]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def country_title(code: str) -> str:
    if code in COMMON_NAMES:
        return COMMON_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"unknown country code {code!r}")
    return str(getattr(country, "common_name", None) or country.name)


def local_country_codes() -> list[str]:
    codes = [c.alpha_2 for c in pycountry.countries if c.alpha_2 not in EXCLUDED]
    return sorted(codes, key=country_title)


def region_of(code: str) -> str | None:
    for slug, (_, _, members) in REGIONS.items():
        if code in members.split():
            return slug
    return None


@dataclass
class _Prices:
    level: float
    rng: random.Random

    def data_plan(self, gb: int, days: int) -> tuple[float, float]:
        retail = self.level * gb**0.72 * (1 + days / 100)
        return self._pair(retail)

    def voice_plan(self, gb: int, days: int, minutes: int) -> tuple[float, float]:
        # A phone number and minutes add about 5 USD retail per 100 minutes, half of it at cost.
        price, net = self.data_plan(gb, days)
        return price + minutes / 20, round(net + minutes / 40, 2)

    def unlimited(self, days: int) -> tuple[float, float]:
        return self._pair(self.level * 1.2 * days**0.7)

    def _pair(self, retail: float) -> tuple[float, float]:
        price = max(1.0, round(retail * 2) / 2)  # retail prices end in .00 or .50
        margin = self.rng.uniform(0.55, 0.8)
        return price, round(price * margin, 2)


def _brand(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([2, 2, 3]))).capitalize()
    return f"{name} {rng.choice(SUFFIXES)}"


def _data_label(gb: int) -> str:
    return "Unlimited" if gb == 0 else f"{gb} GB"


def _installation_html(title: str) -> tuple[str, str]:
    qr = (
        f"<p><b>Install {title}</b></p><ol><li>Open the camera or eSIM settings on your device."
        "</li><li>Scan the QR code and follow the prompts.</li><li>Turn on data roaming for "
        "this line when you arrive.</li></ol>"
    )
    manual = (
        f"<p><b>Install {title} manually</b></p><ol><li>Open your device's eSIM settings and "
        "choose to enter details manually.</li><li>Enter the SM-DP+ address and activation "
        "code shown with your eSIM.</li><li>Turn on data roaming for this line.</li></ol>"
    )
    return qr, manual


def _package(
    package_id: str,
    kind: str,
    price: tuple[float, float],
    *,
    gb: int,
    days: int,
    voice: int | None = None,
    text: int | None = None,
    fair_usage: str | None = None,
) -> dict[str, Any]:
    unlimited = gb == 0
    if voice is not None:
        title = f"{gb} GB - {text} SMS - {voice} Mins - {days} Days"
        short_info = "This eSIM comes with a phone number for calls and texts."
    else:
        title = f"{_data_label(gb)} - {days} days"
        short_info = None
    qr, manual = _installation_html(title)
    return {
        "id": package_id,
        "type": kind,
        "price": price[0],
        "net_price": price[1],
        "amount": 0 if unlimited else gb * 1024,
        "day": days,
        "is_unlimited": unlimited,
        "title": title,
        "data": _data_label(gb),
        "voice": voice,
        "text": text,
        "short_info": short_info,
        "qr_installation": qr,
        "manual_installation": manual,
        "is_fair_usage_policy": fair_usage is not None,
        "fair_usage_policy": fair_usage,
    }


def _with_topups(packages: list[dict[str, Any]], rechargeable: bool) -> list[dict[str, Any]]:
    if not rechargeable:
        return packages
    topups = [
        {**p, "id": f"{p['id']}-topup", "type": "topup"} for p in packages if not p["is_unlimited"]
    ]
    return packages + topups


class _Ids:
    """Hands out operator ids and keeps package ids unique."""

    def __init__(self) -> None:
        self.next_operator = 1000
        self.package_ids: set[str] = set()
        self.brands: set[str] = set()

    def operator(self) -> int:
        self.next_operator += 1
        return self.next_operator

    def package(self, wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in self.package_ids:
            candidate = f"{wanted}-{n}"
            n += 1
        self.package_ids.add(candidate)
        return candidate


def _coverage(code: str, rng: random.Random) -> list[dict[str, Any]]:
    networks = NETWORKS.get(code) or [
        (f"{country_title(code)} Telecom", ["4G"]),
        (f"{rng.choice(['Nova', 'Prime', 'Star', 'Sky'])} {code}", [rng.choice(["4G", "5G"])]),
    ]
    return [
        {
            "name": code,
            "code": code,
            "networks": [{"name": n, "types": list(t)} for n, t in networks],
        }
    ]


def _apn(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.7:
        entry: dict[str, Any] = {"apn_type": "automatic", "apn_value": None}
        return {"ios": dict(entry), "android": dict(entry)}
    value = rng.choice(["globaldata", "internet", "data.roam", "mobile.travel"])
    return {
        "ios": {"apn_type": "automatic", "apn_value": value},
        "android": {"apn_type": "manual", "apn_value": value},
    }


def _operator(
    ids: _Ids,
    rng: random.Random,
    *,
    title: str,
    kind: str,
    countries: list[str],
    coverages: list[dict[str, Any]],
    packages: list[dict[str, Any]],
    plan_type: str = "data",
    rechargeable: bool = True,
) -> dict[str, Any]:
    style, start, end = rng.choice(PALETTES)
    apn = _apn(rng)
    info = [
        "LTE data-only eSIM." if plan_type == "data" else "Data, calls and texts eSIM.",
        "Rechargeable online with no expiry."
        if rechargeable
        else "Not rechargeable: buy a new eSIM when it runs out.",
        "Activates when it first connects to a supported network.",
    ]
    operator_id = ids.operator()
    return {
        "id": operator_id,
        "title": title,
        "type": kind,
        "plan_type": plan_type,
        "is_roaming": True,
        "rechargeability": rechargeable,
        "packages": packages,
        "style": style,
        "gradient_start": start,
        "gradient_end": end,
        "is_prepaid": True,
        "esim_type": "Prepaid",
        "warning": None,
        "apn_type": apn["ios"]["apn_type"],
        "apn_value": apn["ios"]["apn_value"],
        "info": info,
        "image": {"width": 1035, "height": 653, "url": f"/img/operators/{operator_id}.svg"},
        "activation_policy": "first-usage",
        "is_kyc_verify": False,
        "other_info": None,
        "coverages": coverages,
        "install_window_days": rng.choice([30, 60, 180]),
        "topup_grace_window_days": rng.choice([30, 60, 180]),
        "apn": apn,
        "countries": [{"country_code": c} for c in countries],
    }


def _local_entry(code: str, ids: _Ids) -> dict[str, Any]:
    rng = random.Random(f"{SEED}-{code}")
    title = country_title(code)
    prices = _Prices(COST_LEVEL.get(region_of(code) or "", 7.0) * rng.uniform(0.85, 1.2), rng)
    coverage = _coverage(code, rng)
    brand = KNOWN_OPERATORS.get(code) or _brand(rng)
    while brand in ids.brands:
        brand = _brand(rng)
    ids.brands.add(brand)
    prefix = slugify(brand) + ("-in" if code == "US" else "")
    rechargeable = code in KNOWN_OPERATORS or rng.random() < 0.85
    plans = [
        _package(
            ids.package(f"{prefix}-{days}days-{gb}gb"),
            "sim",
            prices.data_plan(gb, days),
            gb=gb,
            days=days,
        )
        for gb, days in LOCAL_PLANS
    ]
    operators = [
        _operator(
            ids,
            rng,
            title=brand,
            kind="local",
            countries=[code],
            coverages=coverage,
            packages=_with_topups(plans, rechargeable),
            rechargeable=rechargeable,
        )
    ]
    if code == "US":  # the documentation's "change-7days-1gb" family, a second US operator
        second = [
            _package(
                ids.package(f"change-{days}days-{gb}gb"),
                "sim",
                prices.data_plan(gb, days),
                gb=gb,
                days=days,
            )
            for gb, days in LOCAL_PLANS[:4]
        ]
        operators.append(
            _operator(
                ids,
                rng,
                title="Change",
                kind="local",
                countries=[code],
                coverages=coverage,
                packages=_with_topups(second, True),
            )
        )
    if code == "US" or rng.random() < 0.4:
        throttle = rng.choice([1, 2, 3])
        fair = f"Speed drops to 1 Mbps after {throttle} GB of use in a day; full speed returns the next day."
        unlimited = [
            _package(
                ids.package(f"{prefix}-{days}days-unlimited"),
                "sim",
                prices.unlimited(days),
                gb=0,
                days=days,
                fair_usage=fair,
            )
            for days in UNLIMITED_DAYS
        ]
        operators[0]["packages"].extend(unlimited)
    if code in VOICE_COUNTRIES:
        voice_brand = VOICE_COUNTRIES[code]
        voice_prefix = slugify(voice_brand)
        voice = [
            _package(
                ids.package(f"{voice_prefix}-{days}days-{gb}gb"),
                "sim",
                prices.voice_plan(gb, days, minutes),
                gb=gb,
                days=days,
                voice=minutes,
                text=sms,
            )
            for gb, days, minutes, sms in VOICE_PLANS
        ]
        documented = {"uki-mobile-15days-2gb": (7.5, 1.6), "bonbon-mobile-30days-3gb": (10, 8)}
        for package in voice:
            if package["id"] in documented:
                package["price"], package["net_price"] = documented[package["id"]]
        operators.append(
            _operator(
                ids,
                rng,
                title=voice_brand,
                kind="local",
                countries=[code],
                coverages=coverage,
                packages=_with_topups(voice, True),
                plan_type="voice-text",
            )
        )
    return {
        "slug": slugify(title),
        "country_code": code,
        "title": title,
        "image": {"width": 132, "height": 100, "url": f"/img/destinations/{slugify(title)}.svg"},
        "operators": operators,
    }


def _global_entry(
    slug: str, title: str, brand: str, members: list[str], ids: _Ids, level: float
) -> dict[str, Any]:
    rng = random.Random(f"{SEED}-{slug}")
    prices = _Prices(level, rng)
    prefix = slugify(brand)
    plans = [
        _package(
            ids.package(f"{prefix}-{days}days-{gb}gb"),
            "sim",
            prices.data_plan(gb, days),
            gb=gb,
            days=days,
        )
        for gb, days in REGIONAL_PLANS
    ]
    coverages = [c for code in members for c in _coverage(code, random.Random(f"{SEED}-{code}"))]
    operator = _operator(
        ids,
        rng,
        title=brand,
        kind="global",
        countries=members,
        coverages=coverages,
        packages=_with_topups(plans, True),
    )
    return {
        "slug": slug,
        "country_code": "",
        "title": title,
        "image": {"width": 132, "height": 100, "url": f"/img/destinations/{slug}.svg"},
        "operators": [operator],
    }


def generate() -> dict[str, Any]:
    """The whole demo catalogue as one ``GET /v2/packages`` response body (net pricing)."""
    ids = _Ids()
    entries = [_local_entry(code, ids) for code in local_country_codes()]
    local = {e["country_code"] for e in entries}
    for slug, (title, brand, members) in REGIONS.items():
        codes = [c for c in members.split() if c in local]
        entries.append(_global_entry(slug, title, brand, codes, ids, COST_LEVEL[slug] * 1.25))
    world = sorted(
        {c for _, _, m in REGIONS.values() for c in m.split()[:8]} | set(WORLD_EXTRA.split())
    )
    entries.append(_global_entry("world", "World", "GlobeHop", world, ids, 9.0))
    return {"pricing": {"model": "net_pricing", "discount_percentage": 0}, "data": entries}


def iter_packages(catalogue: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in catalogue["data"]:
        for operator in entry["operators"]:
            yield from operator["packages"]
