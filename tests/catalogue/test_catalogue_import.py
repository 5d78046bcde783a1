"""Catalogue import and export: a saved GET /v2/packages body loads, round-trips, fails whole."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from esimhub.catalogue import repository
from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from tests.fixtures.clients import Partnered


@pytest.fixture
async def restore_demo(settings: Settings, clock: FrozenClock) -> AsyncIterator[None]:
    yield
    async with transaction(settings) as session:
        await catalogue.generate_demo(session, clock=clock)


async def export(settings: Settings, clock: FrozenClock) -> dict[str, Any]:
    async with transaction(settings) as session:
        return await catalogue.export_catalogue(session, clock=clock)


@pytest.mark.usefixtures("restore_demo")
async def test_export_then_import_round_trips(settings: Settings, clock: FrozenClock) -> None:
    exported = await export(settings, clock)
    async with transaction(settings) as session:
        before = await repository.version(session)
        summary = await catalogue.import_catalogue(
            session, clock=clock, document=json.loads(json.dumps(exported))
        )
    assert summary.version == before + 1
    assert summary.packages == sum(
        len(o["packages"]) for e in exported["data"] for o in e["operators"]
    )
    assert await export(settings, clock) == exported


SIM_PACKAGE = {
    "id": "change-in-7days-1gb",
    "type": "sim",
    "price": 4,
    "net_price": 1.8,
    "amount": 1024,
    "day": 7,
    "is_unlimited": False,
    "title": "1 GB - 7 days",
    "data": "1 GB",
    "voice": None,
    "text": None,
}


@pytest.mark.usefixtures("restore_demo")
async def test_import_a_snapshot_in_airalos_shape(
    settings: Settings, clock: FrozenClock, partner_api: Partnered
) -> None:
    snapshot = {
        "pricing": {"model": "net_pricing", "discount_percentage": 0},
        "data": [
            {
                "slug": "united-states",
                "country_code": "US",
                "title": "United States",
                "image": {"width": 132, "height": 100, "url": "https://cdn.example/us.png"},
                "operators": [
                    {
                        "id": 1180,
                        "title": "Change",
                        "type": "local",
                        "is_roaming": True,
                        "packages": [
                            SIM_PACKAGE,
                            {**SIM_PACKAGE, "id": "change-in-7days-1gb-topup", "type": "topup"},
                        ],
                        "apn_type": "manual",
                        "apn_value": "globaldata",
                        "countries": [{"country_code": "US", "title": "United States"}],
                    }
                ],
            }
        ],
        "links": {"first": "x", "last": "x", "prev": None, "next": None},
        "meta": {
            "message": "success",
            "current_page": 1,
            "from": 1,
            "last_page": 1,
            "path": "x",
            "per_page": "1",
            "to": 1,
            "total": 1,
        },
    }
    async with transaction(settings) as session:
        summary = await catalogue.import_catalogue(session, clock=clock, document=snapshot)
    assert (summary.destinations, summary.operators, summary.packages) == (1, 1, 2)
    body = (await partner_api.get("/v2/packages", params={"include": "topup"})).json()
    assert [e["slug"] for e in body["data"]] == ["united-states"]
    operator = body["data"][0]["operators"][0]
    assert operator["apn"]["android"] == {"apn_type": "manual", "apn_value": "globaldata"}
    assert operator["image"] is None
    assert body["data"][0]["image"]["url"] == "https://cdn.example/us.png"
    assert [(p["id"], p["price"], p["net_price"]) for p in operator["packages"]] == [
        ("change-in-7days-1gb", 4, 1.8),
        ("change-in-7days-1gb-topup", 4, 1.8),
    ]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["data"][0]["operators"][0]["packages"][0].update(type="bundle"), "type"),
        (
            lambda d: d["data"][1]["operators"][0].update(id=d["data"][0]["operators"][0]["id"]),
            "appears twice",
        ),
        (
            lambda d: d["data"][2]["operators"][0]["packages"][0].update(
                id=d["data"][0]["operators"][0]["packages"][0]["id"]
            ),
            "appears twice",
        ),
        (lambda d: d["data"][0].update(country_code="QQ"), "unknown country code"),
        (lambda d: d["data"][0]["operators"][0]["packages"][0].update(price="lots"), "price"),
    ],
)
async def test_a_bad_file_changes_nothing(
    settings: Settings, clock: FrozenClock, mutate: Any, message: str
) -> None:
    exported = await export(settings, clock)
    document = copy.deepcopy(exported)
    mutate(document)
    async with transaction(settings) as session:
        version = await repository.version(session)
    with pytest.raises(catalogue.CatalogueImportError, match=message):
        async with transaction(settings) as session:
            await catalogue.import_catalogue(session, clock=clock, document=document)
    async with transaction(settings) as session:
        assert await repository.version(session) == version
    assert await export(settings, clock) == exported


@pytest.mark.usefixtures("restore_demo")
async def test_a_new_catalogue_version_reaches_running_servers(
    settings: Settings, clock: FrozenClock, partner_api: Partnered
) -> None:
    first = await partner_api.get("/v2/packages", params={"filter[country]": "JP"})
    document = await export(settings, clock)
    japan = next(e for e in document["data"] if e["country_code"] == "JP")
    japan["operators"][0]["packages"][0]["price"] = 99
    async with transaction(settings) as session:
        await catalogue.import_catalogue(session, clock=clock, document=document)
    second = await partner_api.get(
        "/v2/packages",
        params={"filter[country]": "JP"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert second.status_code == 200
    assert second.json()["data"][0]["operators"][0]["packages"][0]["price"] == 99
    assert second.headers["etag"] != first.headers["etag"]


def test_pages_and_bare_lists_are_accepted() -> None:
    from esimhub.catalogue import demo

    document = demo.generate()
    total = catalogue.count_packages(document)
    pages = [{"data": document["data"][:100]}, {"data": document["data"][100:]}]
    assert catalogue.count_packages(pages) == total
    assert catalogue.count_packages(document["data"]) == total


async def test_demo_is_deterministic() -> None:
    from esimhub.catalogue import demo

    assert demo.generate() == demo.generate()
