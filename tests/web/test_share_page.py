"""The eSIMs Cloud share page: access code, lockout, and what the end user sees.

The last test drives Debian's Chromium through Playwright (no browser download); it is skipped
only when ``/usr/bin/chromium`` is absent (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.esims import service as esims
from esimhub.kit.clock import FrozenClock
from tests.fixtures.clients import AppClient, Partnered, get_token
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.servers import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10_000:04d}"


async def test_share_page_asks_for_the_code_then_shows_the_esim(partner_api: Partnered) -> None:
    sim = (await partner_api.order("uki-mobile-15days-2gb"))["sims"][0]
    path = urlsplit(sim["sharing"]["link"]).path
    form = await partner_api.client.get(path)
    assert form.status_code == 200
    assert 'name="access_code"' in form.text
    assert sim["matching_id"] not in form.text
    assert form.headers["cache-control"] == "no-store"

    refused = await partner_api.client.post(
        path, data={"access_code": wrong(sim["sharing"]["access_code"])}
    )
    assert refused.status_code == 403
    assert "not right" in refused.text
    assert sim["matching_id"] not in refused.text

    shown = await partner_api.client.post(path, data={"access_code": sim["sharing"]["access_code"]})
    assert shown.status_code == 200
    page = shown.text
    assert sim["matching_id"] in page
    assert sim["lpa"] in page
    qr = urlsplit(sim["qrcode_url"])
    assert f'src="{qr.path}?{qr.query}"'.replace("&", "&amp;") in page
    assert sim["direct_apple_installation_url"] in page
    assert "2 GB of 2 GB left" in page
    assert 'role="progressbar"' in page


async def test_wrong_codes_lock_the_page(partner_api: Partnered, clock: FrozenClock) -> None:
    sim = (await partner_api.order())["sims"][0]
    path = urlsplit(sim["sharing"]["link"]).path
    bad = {"access_code": wrong(sim["sharing"]["access_code"])}
    for _ in range(esims.SHARE_ATTEMPTS - 1):
        assert (await partner_api.client.post(path, data=bad)).status_code == 403
    assert (await partner_api.client.post(path, data=bad)).status_code == 403
    locked = await partner_api.client.post(
        path, data={"access_code": sim["sharing"]["access_code"]}
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    clock.advance(esims.SHARE_LOCK)
    opened = await partner_api.client.post(
        path, data={"access_code": sim["sharing"]["access_code"]}
    )
    assert opened.status_code == 200


async def test_branded_links_only_answer_on_their_brand(
    partner_api: Partnered, settings: Settings, clock: FrozenClock
) -> None:
    async with transaction(settings) as session:
        await esims.create_brand(
            session, partner_api.credentials.partner_id, clock=clock, name="Nomad", color="#aa3300"
        )
    sim = (await partner_api.order(brand_settings_name="Nomad"))["sims"][0]
    path = urlsplit(sim["sharing"]["link"]).path
    page = await partner_api.client.get(path)
    assert page.status_code == 200
    assert "Nomad" in page.text
    assert "#aa3300" in page.text
    share_id = path.rsplit("/", 1)[1]
    assert (await partner_api.client.get(f"/s/{share_id}")).status_code == 404
    assert (await partner_api.client.get(f"/s/other/{share_id}")).status_code == 404
    assert (await partner_api.client.get("/s/nobody-here")).status_code == 404


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_share_page_in_headless_chromium(
    live_server: LiveServer, make_partner: PartnerFactory
) -> None:
    from playwright.sync_api import sync_playwright

    async def place_order() -> dict[str, Any]:
        credentials = await make_partner(balance_cents=10_000)
        async with httpx.AsyncClient(base_url=live_server.base_url) as client:
            token = await get_token(client, credentials)
            response = await client.post(
                "/v2/orders",
                json={"package_id": "moshi-moshi-7days-1gb", "quantity": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
        sim: dict[str, Any] = response.json()["data"]["sims"][0]
        return sim

    sim = asyncio.run(place_order())
    share = urlsplit(sim["sharing"]["link"])
    url = f"{live_server.base_url}{share.path}"
    code: str = sim["sharing"]["access_code"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        page.get_by_label("Access code").fill(wrong(code))
        page.get_by_role("button", name="Show my eSIM").click()
        assert page.get_by_role("alert").inner_text().startswith("That access code is not right")
        assert page.locator("img.qr").count() == 0

        page.get_by_label("Access code").fill(code)
        page.get_by_role("button", name="Show my eSIM").click()
        page.get_by_alt_text("QR code that installs the eSIM").wait_for()
        # visible is not loaded: wait until every request settled and the image is decoded
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "() => { const i = document.querySelector('img.qr'); return i && i.complete; }"
        )
        width = page.evaluate("() => document.querySelector('img.qr').naturalWidth")
        assert width > 100
        assert page.locator("#activation-code").inner_text() == sim["matching_id"]
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        browser.close()


def _from(app_client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """Another client of the same app, from ``address``."""
    assert isinstance(app_client, AppClient)
    transport = httpx.ASGITransport(app=app_client.app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://esimhub.test")


async def test_concurrent_wrong_codes_check_at_most_five(partner_api: Partnered) -> None:
    sim = (await partner_api.order())["sims"][0]
    path = urlsplit(sim["sharing"]["link"]).path
    bad = {"access_code": wrong(sim["sharing"]["access_code"])}
    answers = await asyncio.gather(*(partner_api.client.post(path, data=bad) for _ in range(200)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(403) == esims.SHARE_ATTEMPTS
    assert statuses.count(429) == 200 - esims.SHARE_ATTEMPTS


async def test_a_stranger_guessing_does_not_lock_the_owner_out(partner_api: Partnered) -> None:
    sim = (await partner_api.order())["sims"][0]
    path = urlsplit(sim["sharing"]["link"]).path
    right = {"access_code": sim["sharing"]["access_code"]}
    bad = {"access_code": wrong(sim["sharing"]["access_code"])}
    async with _from(partner_api.client, "203.0.113.66") as stranger:
        for _ in range(esims.SHARE_ATTEMPTS):
            assert (await stranger.post(path, data=bad)).status_code == 403
        assert (await stranger.post(path, data=right)).status_code == 429
    assert (await partner_api.client.post(path, data=right)).status_code == 200


async def test_many_guessers_together_lock_the_page_for_everyone(
    partner_api: Partnered, clock: FrozenClock
) -> None:
    sim = (await partner_api.order())["sims"][0]
    path = urlsplit(sim["sharing"]["link"]).path
    right = {"access_code": sim["sharing"]["access_code"]}
    bad = {"access_code": wrong(sim["sharing"]["access_code"])}
    guessers = esims.SHARE_CEILING // esims.SHARE_ATTEMPTS
    for number in range(guessers):
        async with _from(partner_api.client, f"203.0.113.{number + 1}") as guesser:
            for _ in range(esims.SHARE_ATTEMPTS):
                assert (await guesser.post(path, data=bad)).status_code == 403
    assert (await partner_api.client.post(path, data=right)).status_code == 429
    clock.advance(esims.SHARE_LOCK)
    assert (await partner_api.client.post(path, data=right)).status_code == 200
