"""The admin API under /admin/v1: off without ESIMHUB_ADMIN_TOKEN, token-gated with it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from tests.fixtures.clients import ClientFactory

ADMIN_TOKEN = "admin-token-for-tests"


@pytest.fixture
async def admin_client(client_for: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(admin_token=ADMIN_TOKEN) as client:
        yield client


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_admin_api_is_absent_without_a_token(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/admin/v1/partners", headers=ADMIN)
    assert response.status_code == 404


async def test_admin_api_refuses_wrong_tokens(admin_client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = await admin_client.get("/admin/v1/partners", headers=headers)
        assert response.status_code == 401


async def test_partner_lifecycle_through_the_admin_api(admin_client: httpx.AsyncClient) -> None:
    created = await admin_client.post(
        "/admin/v1/partners", json={"name": "Remote Co", "balance": "12.34"}, headers=ADMIN
    )
    assert created.status_code == 201
    credentials = created.json()["data"]
    form = {**credentials, "grant_type": "client_credentials"}
    token = (await admin_client.post("/v2/token", data=form)).json()["data"]["access_token"]
    balance = await admin_client.get("/v2/balance", headers={"Authorization": f"Bearer {token}"})
    assert balance.json()["data"]["balances"]["availableBalance"]["amount"] == 12.34

    listing = (await admin_client.get("/admin/v1/partners", headers=ADMIN)).json()["data"]
    assert [(p["name"], p["balance"]) for p in listing] == [("Remote Co", "12.34")]

    allow = await admin_client.post(
        f"/admin/v1/partners/{credentials['client_id']}/ip-allowlist",
        json={"entries": ["192.0.2.0/24"]},
        headers=ADMIN,
    )
    assert allow.json() == {"data": {"ip_allowlist": ["192.0.2.0/24"]}}
    bad = await admin_client.post(
        f"/admin/v1/partners/{credentials['client_id']}/ip-allowlist",
        json={"entries": ["not-an-ip"]},
        headers=ADMIN,
    )
    assert bad.status_code == 422

    rotated = await admin_client.post(
        f"/admin/v1/partners/{credentials['client_id']}/rotate-secret", headers=ADMIN
    )
    assert rotated.json()["data"]["client_secret"] != credentials["client_secret"]
    missing = await admin_client.post("/admin/v1/partners/nobody/rotate-secret", headers=ADMIN)
    assert missing.status_code == 404


async def test_admin_rejects_bad_partner_input(admin_client: httpx.AsyncClient) -> None:
    for body in ({}, {"name": "x", "balance": "-5"}, {"name": "x", "balance": "abc"}):
        response = await admin_client.post("/admin/v1/partners", json=body, headers=ADMIN)
        assert response.status_code == 422
        assert response.json()["meta"] == {"message": "the parameter is invalid"}


async def test_catalogue_import_and_export_through_the_admin_api(
    admin_client: httpx.AsyncClient, settings: Settings, clock: FrozenClock
) -> None:
    exported = (await admin_client.get("/admin/v1/catalogue", headers=ADMIN)).json()
    assert len(exported["data"]) >= 200
    try:
        broken = await admin_client.put(
            "/admin/v1/catalogue",
            content=b"{oops",
            headers={**ADMIN, "Content-Type": "application/json"},
        )
        assert broken.status_code == 422
        response = await admin_client.put("/admin/v1/catalogue", json=exported, headers=ADMIN)
        assert response.status_code == 200
        assert response.json()["data"]["packages"] >= 3000
    finally:
        async with transaction(settings) as session:
            await catalogue.generate_demo(session, clock=clock)
