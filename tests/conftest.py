"""Fixtures: a real database (SQLite, or PostgreSQL + Redis), a frozen clock, factories, clients.

``ESIMHUB_TEST_BACKEND`` picks the pass (``scripts/test`` runs both). Each run migrates a fresh
database, loads the demo catalogue once, and empties the partner tables (and everything partners own) after every test.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
import redis.asyncio as redis
import uvicorn
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.app import create_app
from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from esimhub.ledger import service as ledger
from esimhub.models import (
    Brand,
    ClockState,
    IdempotencyKey,
    LedgerEntry,
    MailMessage,
    NotificationSubscription,
    Operator,
    Order,
    OutboxEvent,
    Partner,
    Refund,
    ScheduledOrder,
    Sim,
    SimPackage,
    UsageRecord,
    Voucher,
    WebhookDelivery,
)

if TYPE_CHECKING:
    from tests.usage_helpers import Sandbox

BACKEND = os.environ.get("ESIMHUB_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "ESIMHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ESIMHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The suite never empties a Redis database (others may share it): every test writes under a key
# prefix of its own, and the run deletes its own keys when it ends.
RUN_PREFIX = f"esimhub-test-{uuid.uuid4().hex[:12]}:"
_test_prefix = [RUN_PREFIX]


def redis_key_prefix() -> str:
    """The Redis key prefix of the running test (limits and caches start empty in each test)."""
    return _test_prefix[0]


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _postgres_server_url(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


async def _create_postgres_database() -> str:
    name = f"esimhub_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_postgres_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def new_database(tmp_dir: Path) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A migrated, empty database of the current backend, and how to drop it."""
    if BACKEND == "postgres":
        name = await _create_postgres_database()
        url = _postgres_server_url(POSTGRES_URL, name)

        async def drop() -> None:
            await _drop_postgres_database(name)

    else:
        url = f"sqlite+aiosqlite:///{tmp_dir / f'esimhub-{uuid.uuid4().hex[:8]}.db'}"

        async def drop() -> None:
            return None

    await asyncio.to_thread(db.upgrade, url)
    return url, drop


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    url, drop = await new_database(tmp_path_factory.mktemp("db"))
    settings = IsolatedSettings(database_url=url)
    async with transaction(settings) as session:
        await catalogue.generate_demo(session, clock=FrozenClock(NOW))
    yield url
    await drop()


class IsolatedSettings(Settings):
    """Settings from the test's own values only: a developer's ``.env`` and ``ESIMHUB_*``
    variables never reach the suite."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": REDIS_URL if BACKEND == "postgres" else None,
        "redis_key_prefix": redis_key_prefix(),
        "partner_cache_seconds": 0,
        "catalogue_check_seconds": 0,
        "public_base_url": "http://esimhub.test",
        # Airalo's per-endpoint limits (token 3/min) would throttle a suite that asks for many
        # tokens; tests/test_rate_limits.py switches them on.
        "rate_limits": False,
        # tests run the worker themselves (Worker.run_once), so nothing happens behind their back
        "embedded_worker": False,
    }
    values.update(overrides)
    return IsolatedSettings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture(scope="session", autouse=True)
async def _delete_own_redis_keys() -> AsyncIterator[None]:
    yield
    if BACKEND != "postgres":
        return
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{RUN_PREFIX}*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


@pytest.fixture(autouse=True)
async def _empty_partner_tables(database_url: str) -> AsyncIterator[None]:
    # rate-limit counters and cached usage live in Redis: each test gets keys of its own
    _test_prefix[0] = f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}:"
    yield
    async with transaction(IsolatedSettings(database_url=database_url)) as session:
        for table in (
            WebhookDelivery,
            OutboxEvent,
            ScheduledOrder,
            NotificationSubscription,
            UsageRecord,
            MailMessage,
            IdempotencyKey,
            Refund,
            Voucher,
            SimPackage,
            Sim,
            Order,
            Brand,
            ClockState,
        ):
            await session.execute(delete(table))
        await session.execute(delete(LedgerEntry))
        await session.execute(delete(Partner))
        await session.execute(update(Operator).values(supply="generated"))


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session for arranging data; committed when the test's block ends."""
    async with transaction(settings) as session:
        yield session


@dataclass
class PartnerCredentials:
    client_id: str
    client_secret: str
    partner_id: int

    def form(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "grant_type": "client_credentials",
        }


PartnerFactory = Callable[..., Coroutine[Any, Any, PartnerCredentials]]


@pytest.fixture
def make_partner(settings: Settings, clock: FrozenClock) -> PartnerFactory:
    async def factory(name: str = "Test Partner", **options: Any) -> PartnerCredentials:
        async with transaction(settings) as session:
            created = await ledger.open_account(
                session, settings=settings, clock=clock, name=name, **options
            )
            return PartnerCredentials(created.client_id, created.client_secret, created.partner.id)

    return factory


@pytest.fixture
async def app_client(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://esimhub.test") as client:
        yield client
    await app.state.runtime.engine.dispose()
    if app.state.redis is not None:
        await app.state.redis.aclose()


async def get_token(client: httpx.AsyncClient, credentials: PartnerCredentials) -> str:
    response = await client.post("/v2/token", data=credentials.form())
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["access_token"]
    return token


@dataclass
class Partnered:
    """A client authenticated as a fresh partner."""

    client: httpx.AsyncClient
    credentials: PartnerCredentials
    headers: dict[str, str]

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.get(url, headers=headers, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.post(url, headers=headers, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.put(url, headers=headers, **kwargs)

    async def order(
        self, package_id: str = "kallur-digital-7days-1gb", quantity: int = 1, **fields: Any
    ) -> Any:
        """Place an order that must succeed; its ``data``."""
        body = {"package_id": package_id, "quantity": quantity, **fields}
        response = await self.post("/v2/orders", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture
async def partner_api(app_client: httpx.AsyncClient, make_partner: PartnerFactory) -> Partnered:
    credentials = await make_partner(balance_cents=50_000)
    token = await get_token(app_client, credentials)
    return Partnered(app_client, credentials, {"Authorization": f"Bearer {token}"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str


@contextmanager
def serving(settings: Settings) -> Iterator[LiveServer]:
    """esimhub on a real loopback port, in a thread with its own event loop."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield LiveServer(base_url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
async def box(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> AsyncIterator[Sandbox]:
    """A partner plus the admin API (network, usage feed, clock) on a frozen clock."""
    from tests.usage_helpers import sandbox

    async with sandbox(database_url, clock, make_partner) as box:
        yield box


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with serving(settings) as server:
        yield server


# Tests that start servers, subprocesses or a browser: `make test-fast` leaves them out.
SLOW_FIXTURES = {"live_server", "two_servers", "node_signature", "sdk", "sdk_with_worker"}
SLOW_TESTS = {
    "test_share_page_in_headless_chromium",
    "test_a_worker_killed_mid_delivery_loses_nothing",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or item.name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
