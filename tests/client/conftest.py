"""Both clients against a live esimhub on loopback (SQLite or PostgreSQL + Redis, as the pass).

``drive`` runs each test twice, once through ``Client`` and once through ``AsyncClient``: the test
writes ``await drive(lambda c: c.orders.create(...))`` and ``await drive.all(lambda c:
c.orders.list())``, and the same assertions hold for both.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from esimhub.client import AsyncClient, Client, MemoryStore
from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerCredentials, PartnerFactory
from tests.fixtures.receiver import Receiver, receiver
from tests.fixtures.servers import serving

ADMIN = "client-admin-token-0123456789abcdef"
PACKAGE = "kallur-digital-7days-1gb"


@dataclass
class Hub:
    """The live server, its admin API, one partner and a webhook receiver."""

    url: str
    partner: PartnerCredentials
    hook: Receiver
    admin: httpx.Client

    def advance(self, seconds: float) -> None:
        """Move the server's sandbox clock forward."""
        response = self.admin.post("/admin/v1/clock", json={"by": f"{max(1, round(seconds))}s"})
        assert response.status_code == 200, response.text

    def rotate_secret(self) -> str:
        response = self.admin.post(f"/admin/v1/partners/{self.partner.client_id}/rotate-secret")
        assert response.status_code == 200, response.text
        secret: str = response.json()["data"]["client_secret"]
        return secret


@pytest.fixture
async def hub(database_url: str, make_partner: PartnerFactory) -> AsyncIterator[Hub]:
    settings = make_settings(
        database_url, embedded_worker=True, worker_poll_seconds=0.1, admin_token=ADMIN
    )
    partner = await make_partner(name="Client Partner", balance_cents=20_000)
    with serving(settings) as server, receiver() as hook:
        admin = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN}"})
        with admin:
            yield Hub(server.base_url, partner, hook, admin)


@dataclass
class Sent:
    """Every request a client put on the wire."""

    requests: list[httpx.Request] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@dataclass
class Drive:
    client: Client | AsyncClient
    sent: Sent
    slept: list[float]

    async def __call__(self, operation: Callable[[Any], Any]) -> Any:
        result = operation(self.client)
        return await result if inspect.isawaitable(result) else result

    async def close(self) -> None:
        """Close the client's connections (before its server stops, so that need not wait)."""
        if isinstance(self.client, Client):
            self.client._http.close()
        else:
            await self.client._http.aclose()

    async def all(self, listing: Callable[[Any], Any]) -> list[Any]:
        items = listing(self.client)
        if hasattr(items, "__aiter__"):
            return [item async for item in items]
        return list(items)


def sync_client(
    url: str, client_id: str, secret: str, sent: Sent, verify: Any, **options: Any
) -> Client:
    http = httpx.Client(event_hooks={"request": [sent.requests.append]}, verify=verify)
    return Client(url, client_id, secret, http_client=http, **options)


def async_client(
    url: str, client_id: str, secret: str, sent: Sent, verify: Any, **options: Any
) -> AsyncClient:
    async def record(request: httpx.Request) -> None:
        sent.requests.append(request)

    http = httpx.AsyncClient(event_hooks={"request": [record]}, verify=verify)
    return AsyncClient(url, client_id, secret, http_client=http, **options)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def make_drive(hub: Hub, kind: str) -> AsyncIterator[Callable[..., Drive]]:
    """``make_drive(**options)``: a client of the test's kind for the hub's partner (or
    ``client_id``/``secret``), at ``url`` (the hub by default), trusting ``verify`` (httpx's:
    an ``ssl.SSLContext`` for a CA of your own). The client never really sleeps:
    each wait is recorded in ``Drive.slept`` and handed to ``on_sleep``."""
    made: list[tuple[Drive, httpx.Client | httpx.AsyncClient]] = []

    def factory(
        client_id: str | None = None,
        secret: str | None = None,
        *,
        url: str | None = None,
        on_sleep: Callable[[float], None] = lambda seconds: None,
        verify: Any = True,
        **options: Any,
    ) -> Drive:
        options.setdefault("token_store", MemoryStore())
        sent, slept = Sent(), []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            on_sleep(seconds)

        async def async_sleep(seconds: float) -> None:
            sleep(seconds)

        build = sync_client if kind == "sync" else async_client
        client = build(
            url or hub.url,
            client_id or hub.partner.client_id,
            secret or hub.partner.client_secret,
            sent,
            verify,
            sleep=sleep if kind == "sync" else async_sleep,
            **options,
        )
        made.append((Drive(client, sent, slept), client._http))
        return made[-1][0]

    yield factory
    for _, http in made:
        if isinstance(http, httpx.Client):
            http.close()
        else:
            await http.aclose()


@pytest.fixture
async def drive(make_drive: Callable[..., Drive]) -> Drive:
    return make_drive()
