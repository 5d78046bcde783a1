"""The worker loses nothing: several workers share the outbox, and a worker killed mid-delivery
leaves its events to the next one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import Clock, FrozenClock
from esimhub.models import OutboxEvent
from esimhub.notifications import service as webhooks
from esimhub.notifications import tasks as notifications
from esimhub.runtime import Runtime
from esimhub.worker import Worker
from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerFactory, outbox_events
from tests.fixtures.receiver import Receiver


async def _events(
    settings: Settings, make_partner: PartnerFactory, url: str, count: int
) -> set[str]:
    """A partner subscribed to low-data webhooks at ``url`` and ``count`` pending events."""
    partner = await make_partner(name="Busy")
    now = Clock().now()
    async with transaction(settings) as session:
        await webhooks.opt_in(
            session,
            partner.partner_id,
            kind="webhook_low_data",
            contact_point=url,
            language=None,
            levels=None,
            at=now,
        )
    await outbox_events(settings, Clock(), partner.partner_id, count)
    async with transaction(settings) as session:
        return set(await session.scalars(select(OutboxEvent.event_id)))


async def _undelivered(settings: Settings) -> int:
    async with transaction(settings) as session:
        query = select(func.count(OutboxEvent.id)).where(OutboxEvent.status != "delivered")
        return int(await session.scalar(query) or 0)


async def test_two_workers_deliver_each_event_once(
    database_url: str, make_partner: PartnerFactory, hook: Receiver
) -> None:
    settings = make_settings(database_url)
    expected = await _events(settings, make_partner, hook.url, 60)
    runtimes = [Runtime.create(settings, Clock()) for _ in range(2)]
    workers = [Worker(runtime) for runtime in runtimes]

    async def drain(worker: Worker) -> None:
        for _ in range(20):
            await worker.run_once()

    try:
        await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for worker, runtime in zip(workers, runtimes, strict=True):
            await worker.aclose()
            await runtime.engine.dispose()
    seen = Counter(p.headers["x-esimhub-event-id"] for p in hook.posts())
    assert set(seen) == expected
    assert set(seen.values()) == {1}
    assert await _undelivered(settings) == 0


def _start_worker(database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ESIMHUB_DATABASE_URL": database_url,
        "ESIMHUB_WEBHOOK_LEASE_SECONDS": "2",
        "ESIMHUB_WORKER_POLL_SECONDS": "0.2",
        "ESIMHUB_LOG_LEVEL": "WARNING",
    }
    env.pop("ESIMHUB_REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "esimhub", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_worker_killed_mid_delivery_loses_nothing(
    database_url: str, make_partner: PartnerFactory, hook: Receiver
) -> None:
    settings = make_settings(database_url)
    expected = asyncio.run(_events(settings, make_partner, hook.url, 40))
    hook.delay = 0.3  # deliveries are in flight when the worker dies
    first = _start_worker(database_url)
    try:
        _wait(lambda: len(hook.posts()) >= 5, 30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    received_before = {p.headers["x-esimhub-event-id"] for p in hook.posts()}
    assert received_before < expected  # it died with work left

    second = _start_worker(database_url)
    try:
        _wait(lambda: {p.headers["x-esimhub-event-id"] for p in hook.posts()} >= expected, 60)
        _wait(lambda: asyncio.run(_undelivered(settings)) == 0, 30)
    finally:
        second.terminate()
        second.wait(timeout=10)
    delivered = Counter(p.headers["x-esimhub-event-id"] for p in hook.posts())
    assert set(delivered) == expected  # every event arrived, at least once


async def test_attempts_are_used_up_even_by_workers_that_die_mid_delivery(
    database_url: str, make_partner: PartnerFactory, hook: Receiver
) -> None:
    """Each attempt is counted when it starts: workers that keep dying between leasing an
    event and recording its delivery cannot send it without end."""
    settings = make_settings(database_url, webhook_attempts=3, webhook_lease_seconds=60)
    await _events(settings, make_partner, hook.url, 1)
    clock = FrozenClock(Clock().now())
    runtime = Runtime.create(settings, clock)
    try:
        for _ in range(settings.webhook_attempts):
            # a worker leases and prepares the event, then dies before it POSTs
            leased = await notifications.claim(runtime.sessionmaker, clock=clock, lease=60)
            assert len(leased) == 1
            async with transaction(settings) as session:
                await webhooks.prepare(session, settings, leased, clock.now())
            clock.advance(timedelta(seconds=61))  # its lease runs out
        worker = Worker(runtime)
        try:
            tally = await worker.run_once()
        finally:
            await worker.aclose()
    finally:
        await runtime.aclose()
    assert tally.events == {"failed": 1}
    assert hook.posts() == []
