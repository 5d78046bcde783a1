"""Application-wide behaviour: unknown routes, OpenAPI, health, metrics, migrations."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from esimhub.config import Settings
from esimhub.db import create_engine
from esimhub.models import Base
from tests.fixtures.clients import ClientFactory, Partnered
from tests.fixtures.database import BACKEND, make_settings, new_database
from tests.fixtures.servers import serving


async def test_unknown_route_and_method(partner_api: Partnered) -> None:
    missing = await partner_api.get("/v2/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"data": [], "meta": {"message": "messages.resource_not_found"}}
    wrong_method = await partner_api.client.delete("/v2/packages", headers=partner_api.headers)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["data"] == []


async def test_openapi_describes_partner_operations(app_client: httpx.AsyncClient) -> None:
    spec = (await app_client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v2/token",
        "/v2/packages",
        "/v2/packages/{package_slug}/product-information",
        "/v2/finance/exchange-rates",
        "/v2/compatible-devices",
        "/v2/compatible-devices-lite",
        "/v2/balance",
        "/v1/packages",
        "/v1/token",
    ):
        assert path in paths, path
    token_body = paths["/v2/token"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "multipart/form-data", "application/json"} <= set(
        token_body
    )
    packages_schema = paths["/v2/packages"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert packages_schema["$ref"].endswith("PackagesResponse")
    assert "PackageOut" in spec["components"]["schemas"]
    assert paths["/v2/compatible-devices"]["get"]["deprecated"] is True
    docs = await app_client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_openapi_declares_the_bearer_schemes(
    app_client: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    """A generated client and Swagger's "Authorize" send the token where it is asked for; the
    admin API is described only when it exists."""
    spec = (await app_client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["partnerToken"]["scheme"] == "bearer"
    assert spec["paths"]["/v2/balance"]["get"]["security"] == [{"partnerToken": []}]
    assert "security" not in spec["paths"]["/v2/token"]["post"]
    assert not [path for path in spec["paths"] if path.startswith("/admin/")]
    async with client_for(admin_token="a-long-enough-admin-token-0123456789") as admin:
        paths = (await admin.get("/openapi.json")).json()["paths"]
    assert paths["/admin/v1/partners"]["get"]["security"] == [{"adminToken": []}]


async def test_healthz_reports_database_and_redis(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if BACKEND == "postgres" else "not configured")


async def test_metrics_count_requests_by_route_template(partner_api: Partnered) -> None:
    await partner_api.get("/v2/packages", params={"filter[country]": "JP"})
    await partner_api.get("/v2/packages", params={"limit": "x"})
    metrics = (await partner_api.client.get("/metrics")).text
    assert (
        'esimhub_http_requests_total{method="GET",route="/v2/packages",status="200"} 1.0' in metrics
    )
    assert (
        'esimhub_http_requests_total{method="GET",route="/v2/packages",status="422"} 1.0' in metrics
    )
    assert (
        'esimhub_http_requests_total{method="POST",route="/v2/token",status="200"} 1.0' in metrics
    )
    assert (
        'esimhub_http_request_duration_seconds_count{method="GET",route="/v2/packages"} 2.0'
        in metrics
    )


async def test_migrations_match_the_models(tmp_path: Path) -> None:
    url, drop = await new_database(tmp_path)
    engine = create_engine(url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
        await drop()
    await asyncio.sleep(0)


def test_production_refuses_unsafe_settings() -> None:
    with pytest.raises(ValidationError, match="ESIMHUB_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(env="production", secret_key="short")
    strong = "k" * 40
    with pytest.raises(ValidationError, match="CLOCK_CONTROL"):
        Settings(env="production", secret_key=strong, clock_control=True)
    production = Settings(env="production", secret_key=strong)
    assert production.clock_control_enabled is False
    assert production.private_webhook_targets_allowed is False
    assert Settings(
        env="production", secret_key=strong, webhooks_allow_private_targets=True
    ).private_webhook_targets_allowed
    assert Settings(env="sandbox").clock_control_enabled is True
    assert Settings().private_webhook_targets_allowed is True


def test_production_refuses_a_short_admin_token() -> None:
    strong = "k" * 40
    with pytest.raises(ValidationError, match="ESIMHUB_ADMIN_TOKEN"):
        Settings(env="production", secret_key=strong, admin_token="x")
    assert Settings(env="production", secret_key=strong, admin_token="a" * 32).admin_token
    assert Settings(env="sandbox", admin_token="x").admin_token  # development and sandbox: any


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: esimhub.test\r\n\r\n")
    return sock.recv(65536)


def test_an_idle_connection_stays_open_for_the_keep_alive_setting(database_url: str) -> None:
    """Clients reuse connections; the server must not close one the client may be reusing, and
    must close the ones left idle once the setting's time is up."""
    with serving(make_settings(database_url, keep_alive_seconds=0.6)) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            assert _get(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.3)
            assert _get(sock).startswith(b"HTTP/1.1 200")  # the same connection, reused
            time.sleep(1.0)
            assert sock.recv(1) == b""  # closed by the server
    assert Settings().keep_alive_seconds > 5  # above httpx's and the SDKs' own 5 s expiry
