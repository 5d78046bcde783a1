"""The worker: delivers the outbox (webhooks), sends queued mail, places due scheduled orders,
settles eSIMs whose time has come and forgets expired idempotency keys.

Runs inside ``esimhub serve`` by default, or as ``esimhub worker`` processes (any number on
PostgreSQL: work is claimed with ``FOR UPDATE SKIP LOCKED`` and leased, so a worker that dies
only delays what it held until its lease runs out).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import delete

from esimhub.mail import service as mail
from esimhub.models import IdempotencyKey
from esimhub.runtime import Runtime
from esimhub.scheduling import service as scheduling
from esimhub.usage import service as usage
from esimhub.webhooks import service as webhooks

log = logging.getLogger("esimhub.worker")

PURGE_EVERY_SECONDS = 600.0


@dataclass
class Tally:
    """What one pass did."""

    settled: int = 0
    orders: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    mail: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.orders or self.events or self.mail)


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._client = httpx.AsyncClient(
            timeout=runtime.settings.webhook_timeout_seconds, follow_redirects=False
        )
        self._last_sweep = float("-inf")
        self._last_purge = float("-inf")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run_once(self) -> Tally:
        runtime, settings = self.runtime, self.runtime.settings
        await runtime.clock_sync.refresh()
        tally = Tally()
        tick = time.monotonic()
        if settings.sweep_seconds and tick - self._last_sweep >= settings.sweep_seconds:
            self._last_sweep = tick
            tally.settled = await usage.sweep(runtime.sessionmaker, runtime.clock.now())
        lease = settings.webhook_lease_seconds
        for scheduled in await scheduling.claim_due(runtime, runtime.clock.now(), lease):
            status = await scheduling.execute(runtime, scheduled)
            tally.orders[status] = tally.orders.get(status, 0) + 1
        claimed = await webhooks.claim(runtime.sessionmaker, now=runtime.clock.now(), lease=lease)
        if claimed:
            delivered = await webhooks.deliver(
                runtime.sessionmaker, settings, runtime.clock, self._client, claimed
            )
            for status in delivered:
                tally.events[status] = tally.events.get(status, 0) + 1
        async with runtime.sessionmaker() as session, session.begin():
            tally.mail = await mail.deliver(session, settings=settings, clock=runtime.clock)
        if tick - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = tick
            await self._purge_idempotency_keys()
        return tally

    async def _purge_idempotency_keys(self) -> None:
        cutoff = self.runtime.clock.now() - timedelta(
            hours=self.runtime.settings.idempotency_key_hours
        )
        async with self.runtime.sessionmaker() as session, session.begin():
            await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))

    async def run_forever(self) -> None:
        """Pass after pass; straight on while there is work, else wait ``worker_poll_seconds``."""
        while True:
            try:
                tally = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed pass must not stop the worker; the next retries
                log.exception("worker pass failed")
                tally = Tally()
            if not tally.busy:
                await asyncio.sleep(self.runtime.settings.worker_poll_seconds)
