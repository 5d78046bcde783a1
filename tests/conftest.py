"""The fixtures every test may take: a real database (SQLite, or PostgreSQL + Redis), settings
isolated from the environment, a frozen clock, partners, clients and servers.

``ESIMHUB_TEST_BACKEND`` picks the pass (``scripts/test`` runs both). Each run migrates a fresh
database and loads the demo catalogue once; after every test the partner tables (and everything
partners own) are emptied. The helpers behind these fixtures live in ``tests/fixtures/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
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
from tests.fixtures.clients import AppClient, ClientFactory, Partnered, get_token
from tests.fixtures.clients import app_client as in_process
from tests.fixtures.database import (
    BACKEND,
    NOW,
    REDIS_URL,
    RUN_PREFIX,
    IsolatedSettings,
    make_settings,
    new_database,
    new_redis_key_prefix,
)
from tests.fixtures.factories import PartnerCredentials, PartnerFactory, create_partner
from tests.fixtures.receiver import Receiver, receiver
from tests.fixtures.sandbox import Sandbox, sandbox
from tests.fixtures.servers import LiveServer, serving


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    url, drop = await new_database(tmp_path_factory.mktemp("db"))
    settings = IsolatedSettings(database_url=url)
    async with transaction(settings) as session:
        await catalogue.generate_demo(session, clock=FrozenClock(NOW))
    yield url
    await drop()


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
    new_redis_key_prefix()
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


@pytest.fixture
def make_partner(settings: Settings, clock: FrozenClock) -> PartnerFactory:
    async def factory(name: str = "Test Partner", **options: Any) -> PartnerCredentials:
        return await create_partner(settings, clock, name, **options)

    return factory


@pytest.fixture
def client_for(database_url: str, clock: FrozenClock) -> ClientFactory:
    """``async with client_for(**settings) as client``: an in-process app with those settings."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[AppClient]:
        return in_process(make_settings(database_url, **overrides), clock)

    return factory


@pytest.fixture(name="app_client")
async def app_client_fixture(settings: Settings, clock: FrozenClock) -> AsyncIterator[AppClient]:
    async with in_process(settings, clock) as client:
        yield client


@pytest.fixture
async def partner_api(app_client: httpx.AsyncClient, make_partner: PartnerFactory) -> Partnered:
    credentials = await make_partner(balance_cents=50_000)
    token = await get_token(app_client, credentials)
    return Partnered(app_client, credentials, {"Authorization": f"Bearer {token}"})


@pytest.fixture
async def box(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> AsyncIterator[Sandbox]:
    """A partner plus the admin API (network, usage feed, clock) on a frozen clock."""
    async with sandbox(database_url, clock, make_partner) as box:
        yield box


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with serving(settings) as server:
        yield server


# Tests that start servers, subprocesses or a browser: `make test-fast` leaves them out.
SLOW_FIXTURES = {"live_server", "two_servers", "node_signature", "sdk", "sdk_with_worker", "hub"}
SLOW_TESTS = {
    "test_share_page_in_headless_chromium",
    "test_a_worker_killed_mid_delivery_loses_nothing",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or item.name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A webhook receiver on loopback (records every request, answers 200 unless told)."""
    with receiver() as hook:
        yield hook
