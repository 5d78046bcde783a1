"""The official PyPI ``airalo-sdk`` (1.0.3) against a live esimhub on loopback.

Only the base URL changes (reference §14.15): a ``Config`` whose ``get_url`` points here, and the
SDK's pickle cache moved to a temporary directory so runs never share state.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from airalo import Airalo
from airalo.config import Config
from airalo.helpers.cached import Cached

from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.receiver import Receiver, receiver
from tests.fixtures.servers import LiveServer, serving

ADMIN = "sdk-admin-token-0123456789"


class LocalConfig(Config):  # type: ignore[misc]
    base_url = ""

    def get_url(self) -> str:
        return self.base_url


@pytest.fixture
def sdk(live_server: LiveServer, make_partner: PartnerFactory, tmp_path: Path) -> Iterator[Any]:
    Cached._cache_path = tmp_path / "airalo-cache"
    Cached._cache_path.mkdir()
    credentials = asyncio.run(make_partner(name="SDK Partner", balance_cents=10_000))
    LocalConfig.base_url = f"{live_server.base_url}/v2/"
    yield Airalo(
        LocalConfig(
            {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
        )
    )
    Cached._cache_path = None


def package_ids(result: dict[str, Any]) -> set[str]:
    return {
        p["id"] for entry in result["data"] for op in entry["operators"] for p in op["packages"]
    }


def test_sdk_gets_a_token(sdk: Any) -> None:
    token = sdk.get_access_token()
    assert isinstance(token, str)
    assert token.count(".") == 2


def test_sdk_reads_the_catalogue(sdk: Any) -> None:
    everything = sdk.get_all_packages()
    ids = package_ids(everything)
    assert len(ids) >= 3000
    assert any(i.endswith("-topup") for i in ids)
    assert everything["pricing"] == {"model": "net_pricing", "discount_percentage": 0}

    sims = sdk.get_sim_packages()
    assert not any(i.endswith("-topup") for i in package_ids(sims))

    local = sdk.get_local_packages()
    assert all(e["country_code"] for e in local["data"])
    global_ = sdk.get_global_packages()
    assert all(e["country_code"] == "" for e in global_["data"])

    japan = sdk.get_country_packages("JP")
    assert [e["country_code"] for e in japan["data"]] == ["JP"]
    assert "moshi-moshi-7days-1gb" in package_ids(japan)


def test_sdk_flat_and_paged_reads(sdk: Any) -> None:
    flat = sdk.get_all_packages(flat=True)
    assert {"package_id", "price", "net_price", "countries", "operator"} <= set(flat["data"][0])
    limited = sdk.get_local_packages(limit=5)
    assert len(limited["data"]) == 5


def test_sdk_devices_and_exchange_rates(sdk: Any) -> None:
    devices = sdk.get_compatible_devices()
    assert len(devices["data"]) >= 150
    rates = sdk.get_exchange_rates({"to": "EUR,GBP,JPY"})
    assert [r["to"] for r in rates["data"]["rates"]] == ["EUR", "GBP", "JPY"]


def test_sdk_orders_tops_up_and_reads_back(sdk: Any) -> None:
    order = sdk.order("change-7days-1gb", 1, "sdk order")
    sim = order["data"]["sims"][0]
    assert order["data"]["description"] == "sdk order"

    bulk = sdk.order_bulk({"merhaba-7days-1gb": 2, "moshi-moshi-7days-1gb": 1})
    assert len(bulk["merhaba-7days-1gb"]["data"]["sims"]) == 2
    assert len(bulk["moshi-moshi-7days-1gb"]["data"]["sims"]) == 1

    shared = sdk.order_with_email_sim_share(
        "merhaba-7days-1gb",
        1,
        {"to_email": "traveller@example.com", "sharing_option": ["link", "pdf"]},
    )
    assert shared["data"]["sims"][0]["sharing"]["access_code"]

    topups = sdk.get_sim_topups(sim["iccid"])
    assert "change-7days-1gb-topup" in [p["id"] for p in topups["data"]]
    topup = sdk.topup("change-7days-1gb-topup", sim["iccid"])
    assert topup["data"]["type"] == "topup"

    history = sdk.get_sim_package_history(sim["iccid"])
    assert [h["package"]["id"] for h in history["data"]] == [
        "change-7days-1gb",
        "change-7days-1gb-topup",
    ]
    instructions = sdk.get_installation_instructions({"iccid": sim["iccid"], "language": "fr"})
    assert instructions["data"]["instructions"]["language"] == "FR"


def test_sdk_buys_vouchers(sdk: Any) -> None:
    esim = sdk.create_esim_voucher(
        {"vouchers": [{"package_id": "jaco-mobile-7days-1gb", "quantity": 2}]}
    )
    assert len(esim["data"][0]["codes"]) == 2
    airmoney = sdk.create_voucher(
        {"usage_limit": 1, "amount": 5, "quantity": 1, "is_paid": False, "voucher_code": "SDK5"}
    )
    assert airmoney["data"]["code"] == "SDK5"


def test_sdk_reads_usage_one_by_one_and_in_bulk(sdk: Any) -> None:
    order = sdk.order("kallur-digital-7days-1gb", 3)
    first, *others = [sim["iccid"] for sim in order["data"]["sims"]]

    usage = sdk.sim_usage(first)
    assert usage["meta"] == {"message": "api.succes"}
    assert usage["data"]["status"] == "NOT_ACTIVE"
    assert (usage["data"]["remaining"], usage["data"]["total"]) == (1024, 1024)

    bulk = sdk.sim_usage_bulk([first, *others])
    assert set(bulk) == {first, *others}
    for iccid in others:
        assert bulk[iccid]["data"]["status"] == "NOT_ACTIVE"
    # polled a moment ago: the once-per-15-minutes limit answers Laravel's throttle body
    assert bulk[first] == {"message": "Too Many Attempts."}


@pytest.fixture
def sdk_with_worker(
    database_url: str, make_partner: PartnerFactory, tmp_path: Path
) -> Iterator[tuple[Any, str, Receiver]]:
    """The SDK against a live esimhub whose embedded worker runs, plus its admin API and a
    webhook receiver."""
    settings = make_settings(
        database_url, embedded_worker=True, worker_poll_seconds=0.1, admin_token=ADMIN
    )
    Cached._cache_path = tmp_path / "airalo-cache"
    Cached._cache_path.mkdir()
    credentials = asyncio.run(make_partner(name="SDK Async", balance_cents=10_000))
    with serving(settings) as server, receiver() as hook:
        LocalConfig.base_url = f"{server.base_url}/v2/"
        client = Airalo(
            LocalConfig(
                {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
            )
        )
        yield client, server.base_url, hook
    Cached._cache_path = None


def _wait_for(hook: Receiver, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(hook.posts()) < count:
        assert time.monotonic() < deadline, "no webhook arrived"
        time.sleep(0.05)


def test_sdk_async_and_future_orders(sdk_with_worker: tuple[Any, str, Receiver]) -> None:
    sdk, base_url, hook = sdk_with_worker
    accepted = sdk.order_async("kallur-digital-7days-1gb", 1, hook.url, "sdk async")
    request_id = accepted["data"]["request_id"]
    _wait_for(hook, 1)
    delivered = json.loads(hook.posts()[0].body)
    assert delivered["request_id"] == request_id
    assert delivered["data"]["description"] == "sdk async"

    due = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    future = sdk.create_future_order(
        {
            "package_id": "kallur-digital-7days-1gb",
            "quantity": 1,
            "due_date": due,
            "webhook_url": hook.url,
        }
    )
    kept = future["data"]["request_id"]
    dropped = sdk.create_future_order(
        {
            "package_id": "kallur-digital-7days-1gb",
            "quantity": 1,
            "due_date": due,
            "webhook_url": hook.url,
        }
    )["data"]["request_id"]
    cancelled = sdk.cancel_future_order({"request_ids": [dropped]})
    assert cancelled["meta"]["message"] == "Future orders cancelled successfully"

    moved = httpx.post(
        f"{base_url}/admin/v1/clock",
        json={"by": "3d"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert moved.status_code == 200
    _wait_for(hook, 2)
    fired = json.loads(hook.posts()[1].body)
    assert fired["request_id"] == kept
    time.sleep(0.5)
    assert len(hook.posts()) == 2  # the cancelled one never fires
