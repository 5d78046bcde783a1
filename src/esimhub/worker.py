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

import httpx

from esimhub.idempotency import tasks as idempotency
from esimhub.notifications import tasks as notifications
from esimhub.runtime import Runtime
from esimhub.scheduling import tasks as scheduling
from esimhub.usage import tasks as usage

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
        """One pass over what is due, counted and timed on /metrics."""
        metrics = self.runtime.metrics
        started = time.perf_counter()
        try:
            tally = await self._pass()
        except Exception:
            metrics.worker_passes.labels("failed").inc()
            raise
        finally:
            metrics.worker_pass_seconds.observe(time.perf_counter() - started)
        metrics.worker_passes.labels("done").inc()
        return tally

    async def _pass(self) -> Tally:
        runtime, settings = self.runtime, self.runtime.settings
        await runtime.clock_sync.refresh()
        tally = Tally()
        tick = time.monotonic()
        if settings.sweep_seconds and tick - self._last_sweep >= settings.sweep_seconds:
            self._last_sweep = tick
            tally.settled = await usage.sweep(runtime.sessionmaker, runtime.clock.now())
        lease = settings.webhook_lease_seconds
        sessionmaker, clock = runtime.sessionmaker, runtime.clock
        due = await scheduling.claim_due(sessionmaker, clock, lease)
        if due:
            catalogue = await runtime.catalogue.current()
            for scheduled in due:
                status = await scheduling.execute(
                    sessionmaker, scheduled, catalogue=catalogue, settings=settings, clock=clock
                )
                tally.orders[status] = tally.orders.get(status, 0) + 1
        claimed = await notifications.claim(sessionmaker, clock=clock, lease=lease)
        if claimed:
            delivered = await notifications.deliver(
                sessionmaker,
                settings,
                clock,
                self._client,
                claimed,
                on_delivered=runtime.metrics.delivery_lag.observe,
            )
            for status in delivered:
                tally.events[status] = tally.events.get(status, 0) + 1
        tally.mail = await notifications.send_mail(sessionmaker, settings, clock)
        if tick - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = tick
            await idempotency.purge(sessionmaker, settings, clock)
        return tally

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
