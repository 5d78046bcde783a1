"""GET /packages and the other catalogue endpoints, as Airalo clients read them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fixtures.clients import Partnered, get_token
from tests.fixtures.factories import PartnerFactory

WELL_KNOWN_IDS = [
    "moshi-moshi-7days-1gb",
    "merhaba-7days-1gb",
    "kallur-digital-7days-1gb",
    "change-7days-1gb",
    "change-in-7days-1gb",
    "uki-mobile-15days-2gb",
    "bonbon-mobile-30days-3gb-topup",
    "change-7days-1gb-topup",
    "change-in-3days-unlimited",
]


def packages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for entry in body["data"] for op in entry["operators"] for p in op["packages"]]


async def test_full_catalogue_in_one_response(partner_api: Partnered) -> None:
    response = await partner_api.get("/v2/packages", params={"include": "topup"})
    assert response.status_code == 200
    body = response.json()
    packages = packages_of(body)
    assert len(packages) >= 3000
    assert body["meta"]["total"] == len(body["data"]) == body["meta"]["to"]
    assert body["meta"]["last_page"] == 1
    local = [e for e in body["data"] if e["country_code"]]
    assert len(local) >= 200
    assert {"europe", "asia", "africa", "world", "caribbean", "oceania"} <= {
        e["slug"] for e in body["data"]
    }
    ids = {p["id"] for p in packages}
    assert set(WELL_KNOWN_IDS) <= ids
    assert "non-existent-package" not in ids
    assert len(ids) == len(packages)
    assert any(p["voice"] and p["text"] for p in packages)
    assert any(p["is_unlimited"] and p["fair_usage_policy"] for p in packages)


async def test_package_fields_and_types(partner_api: Partnered) -> None:
    response = await partner_api.get(
        "/v2/packages", params={"filter[country]": "GB", "include": "topup"}
    )
    entry = response.json()["data"][0]
    assert entry["slug"] == "united-kingdom"
    assert entry["title"] == "United Kingdom"
    assert set(entry["min_price"]) == {"net_price", "recommended_retail_price"}
    assert entry["min_price"]["recommended_retail_price"]["USD"] > 0
    voice = next(
        p for op in entry["operators"] for p in op["packages"] if p["id"] == "uki-mobile-15days-2gb"
    )
    assert voice["price"] == 7.5
    assert voice["net_price"] == 1.6
    assert voice["amount"] == 2048
    assert voice["day"] == 15
    assert isinstance(voice["voice"], int)
    assert voice["data"] == "2 GB"
    assert isinstance(voice["prices"]["net_price"]["JPY"], int)
    assert voice["prices"]["recommended_retail_price"]["USD"] == 7.5
    operator = next(op for op in entry["operators"] if op["plan_type"] == "voice-text")
    assert operator["type"] == "local"
    assert set(operator["apn"]) == {"ios", "android"}
    assert operator["countries"][0]["country_code"] == "GB"
    assert operator["coverages"][0]["networks"]
    assert operator["image"]["url"].startswith("http://esimhub.test/img/operators/")
    assert isinstance(operator["install_window_days"], int)


async def test_whole_prices_are_json_integers(partner_api: Partnered) -> None:
    response = await partner_api.get(
        "/v2/packages", params={"include": "topup", "filter[country]": "HR"}
    )
    topup = next(
        p for p in packages_of(response.json()) if p["id"] == "bonbon-mobile-30days-3gb-topup"
    )
    assert '"price":10,' in response.text
    assert topup["title"] == "3 GB - 100 SMS - 100 Mins - 30 Days"
    assert (topup["price"], topup["net_price"], topup["type"]) == (10, 8, "topup")


async def test_topups_only_with_include_topup(partner_api: Partnered) -> None:
    sims = packages_of((await partner_api.get("/v2/packages")).json())
    everything = packages_of(
        (await partner_api.get("/v2/packages", params={"include": "topup"})).json()
    )
    assert {p["type"] for p in sims} == {"sim"}
    assert {p["type"] for p in everything} == {"sim", "topup"}
    assert len(everything) > len(sims)


@pytest.mark.parametrize("country", ["JP", "jp"])
async def test_filter_country(partner_api: Partnered, country: str) -> None:
    body = (await partner_api.get("/v2/packages", params={"filter[country]": country})).json()
    assert [e["country_code"] for e in body["data"]] == ["JP"]
    assert "moshi-moshi-7days-1gb" in {p["id"] for p in packages_of(body)}


async def test_filter_type(partner_api: Partnered) -> None:
    local = (await partner_api.get("/v2/packages", params={"filter[type]": "local"})).json()
    global_ = (await partner_api.get("/v2/packages", params={"filter[type]": "global"})).json()
    assert all(e["country_code"] for e in local["data"])
    assert all(e["country_code"] == "" for e in global_["data"])
    assert {e["slug"] for e in global_["data"]} >= {"world", "europe"}
    assert all(op["type"] == "global" for e in global_["data"] for op in e["operators"])
    world = next(e for e in global_["data"] if e["slug"] == "world")
    assert len(world["operators"][0]["countries"]) > 50


async def test_invalid_filters_and_limit_get_the_documented_422(partner_api: Partnered) -> None:
    response = await partner_api.get(
        "/v2/packages",
        params={"limit": "ten", "filter[type]": "regional", "filter[country]": "XX"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "data": {
            "limit": "The limit must be an integer.",
            "filter.type": "The selected type is not supported. Supported values:local, global.",
            "filter.country": "Unsupported country code. Please provide a valid 2-character "
            "country code Example: DE, TR, JP",
        },
        "meta": {"message": "the parameter is invalid"},
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"page": "x"}, "page", "The page must be an integer."),
        ({"limit": "0"}, "limit", "The limit must be at least 1."),
        ({"limit": "-5"}, "limit", "The limit must be at least 1."),
        ({"limit": "1.5"}, "limit", "The limit must be an integer."),
        (
            {"filter[operator]": "x"},
            "filter.operator",
            "The filter operator is not supported. Supported filters: type, country.",
        ),
        ({"filter[country]": "USA"}, "filter.country", None),
    ],
)
async def test_malformed_query_is_422_never_500(
    partner_api: Partnered, params: dict[str, str], field: str, message: str | None
) -> None:
    response = await partner_api.get("/v2/packages", params=params)
    assert response.status_code == 422
    assert response.json()["meta"] == {"message": "the parameter is invalid"}
    assert field in response.json()["data"]
    if message:
        assert response.json()["data"][field] == message


async def test_huge_limit_returns_everything(partner_api: Partnered) -> None:
    response = await partner_api.get("/v2/packages", params={"limit": "9" * 40})
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["last_page"] == 1
    assert len(body["data"]) == body["meta"]["total"]


async def test_pagination_envelope(partner_api: Partnered) -> None:
    response = await partner_api.get(
        "/v2/packages", params={"limit": "2", "page": "3", "filter[type]": "local"}
    )
    body = response.json()
    meta = body["meta"]
    assert len(body["data"]) == 2
    assert meta["per_page"] == "2"  # a string, as Laravel echoes it
    assert isinstance(meta["last_page"], int)
    assert (meta["current_page"], meta["from"], meta["to"]) == (3, 5, 6)
    assert meta["last_page"] == -(-meta["total"] // 2)
    assert meta["path"] == "http://esimhub.test/v2/packages"
    links = body["links"]
    assert "filter%5Btype%5D=local" in links["next"]
    query = parse_qs(urlsplit(links["next"]).query)
    assert query == {"limit": ["2"], "filter[type]": ["local"], "language": ["en"], "page": ["4"]}
    assert parse_qs(urlsplit(links["prev"]).query)["page"] == ["2"]
    assert parse_qs(urlsplit(links["last"]).query)["page"] == [str(meta["last_page"])]
    last = (await partner_api.get(links["last"])).json()
    assert last["links"]["next"] is None
    first = (await partner_api.get(links["first"])).json()
    assert first["links"]["prev"] is None


async def test_page_past_the_end_is_200_with_empty_data(partner_api: Partnered) -> None:
    response = await partner_api.get("/v2/packages", params={"limit": "50", "page": "1000"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["meta"]["from"] is None
    assert body["meta"]["to"] is None
    assert body["meta"]["current_page"] == 1000


async def test_pages_together_hold_every_entry_once(partner_api: Partnered) -> None:
    everything = (await partner_api.get("/v2/packages")).json()["data"]
    seen: list[str] = []
    page = 1
    while True:
        body = (
            await partner_api.get("/v2/packages", params={"limit": "40", "page": str(page)})
        ).json()
        seen += [e["slug"] for e in body["data"]]
        if page >= body["meta"]["last_page"]:
            break
        page += 1
    assert seen == [e["slug"] for e in everything]


async def test_etag_and_304(partner_api: Partnered) -> None:
    first = await partner_api.get("/v2/packages", params={"filter[country]": "FR"})
    etag = first.headers["etag"]
    again = await partner_api.get(
        "/v2/packages", params={"filter[country]": "FR"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    other_query = await partner_api.get(
        "/v2/packages", params={"filter[country]": "DE"}, headers={"If-None-Match": etag}
    )
    assert other_query.status_code == 200
    other_language = await partner_api.get(
        "/v2/packages",
        params={"filter[country]": "FR"},
        headers={"If-None-Match": etag, "Accept-Language": "de"},
    )
    assert other_language.status_code == 200


async def test_accept_language_translates_country_titles(partner_api: Partnered) -> None:
    response = await partner_api.get(
        "/v2/packages",
        params={"filter[country]": "DE"},
        headers={"Accept-Language": "de-DE,de;q=0.9"},
    )
    body = response.json()
    assert body["data"][0]["title"] == "Deutschland"
    assert "language=de" in body["links"]["first"]
    fallback = await partner_api.get(
        "/v2/packages", params={"filter[country]": "DE"}, headers={"Accept-Language": "xx"}
    )
    assert fallback.json()["data"][0]["title"] == "Germany"


async def test_discount_pricing_hides_net_prices(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner(pricing_model="discount_pricing", discount_percentage=10)
    headers = {"Authorization": f"Bearer {await get_token(app_client, credentials)}"}
    response = await app_client.get(
        "/v2/packages", params={"filter[country]": "JP"}, headers=headers
    )
    body = response.json()
    assert body["pricing"] == {"model": "discount_pricing", "discount_percentage": 10}
    assert "net_price" not in response.text
    assert set(body["data"][0]["min_price"]) == {"recommended_retail_price"}
    package = packages_of(body)[0]
    assert set(package["prices"]) == {"recommended_retail_price"}


async def test_v1_packages_same_shape(partner_api: Partnered) -> None:
    v1 = await partner_api.get("/v1/packages", params={"filter[country]": "TR"})
    assert v1.status_code == 200
    assert "merhaba-7days-1gb" in {p["id"] for p in packages_of(v1.json())}
    assert v1.json()["meta"]["path"] == "http://esimhub.test/v1/packages"


async def test_product_information(partner_api: Partnered) -> None:
    response = await partner_api.get("/v2/packages/change-in-3days-unlimited/product-information")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    data = body["data"]
    assert data["package_id"] == "change-in-3days-unlimited"
    assert data["is_unlimited"] is True
    assert data["validity_days"] == 3
    assert data["throttle_threshold_mb"] in {1024, 2048, 3072}
    assert "T-Mobile" in data["network_providers"]
    assert len(data["version_hash"]) == 64
    # the fields the reference shows as strings are strings, the seller's from the settings
    for field in (
        "max_download_speed_mbit",
        "max_upload_speed_mbit",
        "terms_url",
        "partner_brand_name",
        "partner_logo_url",
        "legal_entity_name",
        "legal_address",
    ):
        assert isinstance(data[field], str), field
    assert data["partner_brand_name"] == data["legal_entity_name"] == "esimhub"
    assert float(data["max_download_speed_mbit"]) >= float(data["max_upload_speed_mbit"]) > 0
    for linked in (data["terms_url"], data["partner_logo_url"]):
        page = await partner_api.client.get(linked.removeprefix("http://esimhub.test"))
        assert page.status_code == 200, linked
    assert "esimhub" in (await partner_api.client.get("/help/terms")).text
    again = await partner_api.get("/v2/packages/change-in-3days-unlimited/product-information")
    assert again.json()["data"]["version_hash"] == data["version_hash"]
    missing = await partner_api.get("/v2/packages/non-existent-package/product-information")
    assert missing.status_code == 404
    assert missing.json() == {
        "data": [],
        "meta": {"message": "Package not found for slug: non-existent-package"},
    }


async def test_exchange_rates(partner_api: Partnered) -> None:
    response = await partner_api.get("/v2/finance/exchange-rates", params={"to": "EUR,gbp"})
    body = response.json()
    assert body["meta"] == {"message": "success"}
    assert body["data"]["date"] == "2026-11-24"
    assert [r["to"] for r in body["data"]["rates"]] == ["EUR", "GBP"]
    assert all(r["from"] == "USD" and isinstance(r["mid"], str) for r in body["data"]["rates"])
    everything = (await partner_api.get("/v2/finance/exchange-rates")).json()
    assert len(everything["data"]["rates"]) >= 17
    yesterday = await partner_api.get(
        "/v2/finance/exchange-rates", params={"date": "2026-11-23", "to": "EUR,GBP"}
    )
    assert yesterday.json()["data"]["date"] == "2026-11-23"  # labelled as asked
    assert yesterday.json()["data"]["rates"] == body["data"]["rates"]  # the newest known
    bad = await partner_api.get(
        "/v2/finance/exchange-rates", params={"date": "24/11/2026", "to": "EURO"}
    )
    assert bad.status_code == 422
    assert set(bad.json()["data"]) == {"date", "to"}


async def test_compatible_devices(partner_api: Partnered) -> None:
    full = (await partner_api.get("/v2/compatible-devices")).json()
    lite = (await partner_api.get("/v2/compatible-devices-lite")).json()
    assert set(full) == {"data"}
    assert set(lite) == {"data"}
    assert len(full["data"]) >= 150
    assert len(lite["data"]) == len(full["data"])
    assert all(set(d) == {"os", "brand", "name"} for d in lite["data"])
    names = {d["name"] for d in lite["data"]}
    assert {
        "iPhone 16 Pro",
        "Pixel 9",
        "Galaxy S24",
        "Galaxy Z Fold6",
        "Apple Watch Ultra 2",
    } <= names
    assert {d["os"] for d in full["data"]} == {"ios", "android"}
    assert any(d["model"] == "iPhone13,2" and d["name"] == "iPhone 12" for d in full["data"])
    v1 = await partner_api.get("/v1/compatible-devices")
    assert v1.json() == full


async def test_catalogue_images_resolve(partner_api: Partnered) -> None:
    body = (await partner_api.get("/v2/packages", params={"filter[country]": "JP"})).json()
    for url in (body["data"][0]["image"]["url"], body["data"][0]["operators"][0]["image"]["url"]):
        image = await partner_api.client.get(url)
        assert image.status_code == 200
        assert image.headers["content-type"].startswith("image/svg+xml")
    assert (await partner_api.client.get("/img/operators/1.svg")).status_code == 404


async def test_a_remembered_answer_is_never_another_partners_pricing_or_an_error(
    partner_api: Partnered, app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    query = {"filter[country]": "JP"}
    net = await partner_api.get("/v2/packages", params=query)
    assert "net_price" in net.text
    credentials = await make_partner(pricing_model="discount_pricing", discount_percentage=10)
    headers = {"Authorization": f"Bearer {await get_token(app_client, credentials)}"}
    for _ in range(2):  # the second answer is the remembered one
        discount = await app_client.get(
            "/v2/packages", params=query, headers={**headers, "If-None-Match": net.headers["etag"]}
        )
        assert discount.status_code == 200
        assert "net_price" not in discount.text
        assert discount.headers["etag"] != net.headers["etag"]
    assert (await partner_api.get("/v2/packages", params=query)).content == net.content

    for _ in range(2):  # an invalid request is checked every time, never remembered
        bad = await partner_api.get("/v2/packages", params={"filter[planet]": "mars"})
        assert bad.status_code == 422
