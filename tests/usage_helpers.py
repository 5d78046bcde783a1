"""A sandbox for usage tests: a partner, the admin API (network, usage feed, clock) and polling."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from esimhub.app import create_app
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from tests.conftest import Partnered, PartnerFactory, get_token, make_settings

ADMIN_TOKEN = "usage-admin-token-0123456789"
MIB = 1024 * 1024


@dataclass
class Sandbox:
    partner: Partnered
    clock: FrozenClock
    settings: Settings
    app: FastAPI
    admin: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.partner.client

    async def advance(self, by: str) -> dict[str, Any]:
        response = await self.client.post("/admin/v1/clock", json={"by": by}, headers=self.admin)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def usage(self, iccid: str, version: str = "v2") -> httpx.Response:
        return await self.partner.get(f"/{version}/sims/{iccid}/usage")

    async def usage_data(self, iccid: str) -> dict[str, Any]:
        response = await self.usage(iccid)
        assert response.status_code == 200, response.text
        assert response.json()["meta"] == {"message": "api.succes"}
        data: dict[str, Any] = response.json()["data"]
        return data

    async def network(self, event: str, iccid: str, country: str | None = None) -> httpx.Response:
        body = {"iccid": iccid, "country": country}
        return await self.client.post(f"/admin/v1/network/{event}", json=body, headers=self.admin)

    async def feed(self, *records: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/admin/v1/usage-records", json={"records": list(records)}, headers=self.admin
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def consume(self, iccid: str, *, mb: int = 0, **amounts: int) -> dict[str, Any]:
        """One feed record of ``mb`` megabytes (and voice_seconds / sms), stamped now."""
        record = {
            "id": f"rec-{next(self._ids)}-{iccid}",
            "iccid": iccid,
            "started_at": self.clock.now().isoformat(),
            "bytes": mb * MIB,
            **amounts,
        }
        return await self.feed(record)


@asynccontextmanager
async def sandbox(
    database_url: str,
    clock: FrozenClock,
    make_partner: PartnerFactory,
    **overrides: Any,
) -> AsyncIterator[Sandbox]:
    settings = make_settings(database_url, admin_token=ADMIN_TOKEN, **overrides)
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://esimhub.test") as client:
        credentials = await make_partner(balance_cents=100_000)
        token = await get_token(client, credentials)
        partner = Partnered(client, credentials, {"Authorization": f"Bearer {token}"})
        yield Sandbox(partner, clock, settings, app)
    await app.state.runtime.engine.dispose()
    if app.state.redis is not None:
        await app.state.redis.aclose()
