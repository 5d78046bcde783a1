"""``/openapi.json`` describes the whole partner API, and ``/docs`` and ``/redoc`` show it with no
internet: what a client generator, Swagger's "Try it out" and a contract fuzzer rely on."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fixtures.clients import get_token
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.servers import LiveServer

WRITES = {"post", "put", "patch"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_operation_has_its_body_answer_and_errors(
    app_client: httpx.AsyncClient,
) -> None:
    spec = (await app_client.get("/openapi.json")).json()
    missing: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            responses = operation["responses"]
            if method in WRITES:
                content = operation.get("requestBody", {}).get("content", {})
                if set(content) != {
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                }:
                    missing.append(f"{name}: request body in JSON, urlencoded and multipart")
                for media in content.values():
                    if not _resolve(spec, media["schema"]).get("properties"):
                        missing.append(f"{name}: request body fields")
            answers = [code for code in responses if code.startswith("2")]
            if not any(
                code == "204" or responses[code].get("content", {}).get("application/json")
                for code in answers
            ):
                missing.append(f"{name}: a 2xx schema")
            for code, response in responses.items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                untyped = schema is not None and schema.get("type") == "object"
                if code.startswith("2") and untyped and not schema.get("properties"):
                    missing.append(f"{name}: {code} is an untyped object")
            wanted = {"422", "429", "500"}
            if operation.get("security"):
                wanted |= {"401", "403"}
            if "{" in path:
                wanted.add("404")
            if method in WRITES:
                wanted.add("413")
            missing += [f"{name}: {code}" for code in sorted(wanted - set(responses))]
            if "Retry-After" not in responses["429"].get("headers", {}):
                missing.append(f"{name}: 429 Retry-After")
    assert not missing, "\n".join(missing)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's shape, which esimhub never sends
    assert set(_resolve(spec, {"$ref": "#/components/schemas/FieldErrors"})["properties"]) == {
        "data",
        "meta",
    }


async def test_the_documented_bodies_are_the_ones_answered(
    app_client: httpx.AsyncClient, partner_api: Any
) -> None:
    """A placed order and the usage answer carry every field their models require (the fast
    paths render bytes themselves; the model must still describe them)."""
    spec = (await app_client.get("/openapi.json")).json()
    order = await partner_api.order()
    iccid = order["sims"][0]["iccid"]
    usage = (await partner_api.get(f"/v2/sims/{iccid}/usage")).json()
    for model, body in (("PlacedOrder", order), ("Usage", usage["data"])):
        schema = spec["components"]["schemas"][model]
        assert set(schema["required"]) <= set(body), model
    assert usage["meta"] == {"message": "api.succes"}


async def test_form_bodies_are_documented_without_nulls(app_client: httpx.AsyncClient) -> None:
    """A form field cannot be null: the urlencoded and multipart schemas say so, the JSON one
    allows null where the API takes it as "not sent"."""
    spec = (await app_client.get("/openapi.json")).json()
    content = spec["paths"]["/v2/orders"]["post"]["requestBody"]["content"]
    json_body = _resolve(spec, content["application/json"]["schema"])
    form_body = _resolve(spec, content["multipart/form-data"]["schema"])
    assert {"type": "null"} in json_body["properties"]["description"]["anyOf"]
    assert form_body["properties"]["description"]["type"] == "string"
    assert "null" not in str(form_body)


async def test_docs_load_nothing_from_elsewhere(app_client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await app_client.get(page)).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert sources, page
        for source in sources:
            assert not urlsplit(source).netloc, f"{page} loads {source}"
            if source.startswith("/docs/assets/"):
                assert (await app_client.get(source)).status_code == 200, source


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_docs_try_it_out_offline_in_headless_chromium(
    live_server: LiveServer, make_partner: PartnerFactory
) -> None:
    """Swagger UI renders from esimhub alone (every request off loopback is refused), takes a
    token in "Authorize" and runs a request with it."""
    from playwright.sync_api import Route, sync_playwright

    async def token() -> str:
        credentials = await make_partner()
        async with httpx.AsyncClient(base_url=live_server.base_url) as client:
            return await get_token(client, credentials)

    access_token = asyncio.run(token())
    elsewhere: list[str] = []

    def only_loopback(route: Route) -> None:
        if route.request.url.startswith(live_server.base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.route("**/*", only_loopback)
        page.goto(f"{live_server.base_url}/docs")
        page.get_by_role("button", name="Authorize").first.click()
        page.locator(".auth-container input").first.fill(access_token)
        page.locator(".auth-btn-wrapper button.authorize").first.click()
        page.locator(".btn-done").first.click()
        balance = page.locator("#operations-orders-get_balance_v2_balance_get")
        balance.locator(".opblock-summary").click()
        balance.get_by_role("button", name="Try it out").click()
        balance.get_by_role("button", name="Execute").click()
        answer = balance.locator(".responses-table .response .response-col_status").first
        answer.wait_for()
        assert answer.inner_text().strip().startswith("200")
        assert "availableBalance" in balance.locator(".responses-inner").inner_text()

        assert not elsewhere

        page.goto(f"{live_server.base_url}/redoc")
        page.locator("h1", has_text="esimhub partner API").wait_for()
        page.locator("h2", has_text="Submit Order").first.wait_for()
        browser.close()
    # ReDoc's bundle links its "powered by" badge from its CDN: cosmetic, and refused here
    assert elsewhere in ([], ["https://cdn.redoc.ly/redoc/logo-mini.svg"])
