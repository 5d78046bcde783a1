"""Webhook delivery throughput of one worker against a receiver on loopback.

The baseline is the same number of signed POSTs sent straight to the same receiver with one
client (no database, no claims, no attempt records), measured in the same run.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select
from tests.fixtures.factories import outbox_events

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import Clock
from esimhub.models import OutboxEvent
from esimhub.notifications import service as webhooks
from esimhub.notifications import signing
from esimhub.runtime import Runtime
from esimhub.worker import Worker


@contextmanager
def _receiver() -> Iterator[str]:
    """A minimal ASGI receiver under uvicorn (TCP_NODELAY, keep-alive) in its own thread."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _payload(number: int) -> dict[str, Any]:
    return {
        "level": "75%",
        "package_name": "kallur-digital-7days-1gb",
        "remaining_percentage": 25,
        "iccid": f"89990000000{number:08d}",
    }


async def _queue(settings: Settings, partner_id: int, url: str, count: int, batch: int) -> None:
    now = Clock().now()
    async with transaction(settings) as session:
        await webhooks.opt_in(
            session,
            partner_id,
            kind="webhook_low_data",
            contact_point=url,
            language=None,
            levels=None,
            at=now,
        )
    await outbox_events(settings, Clock(), partner_id, count, batch=f"bench:{batch}")


async def _pending(settings: Settings) -> int:
    async with transaction(settings) as session:
        query = select(func.count(OutboxEvent.id)).where(OutboxEvent.status == "pending")
        return int(await session.scalar(query) or 0)


async def measure(settings: Settings, partner_id: int, count: int) -> tuple[float, float]:
    """(baseline POSTs per second, worker deliveries per second)."""
    with _receiver() as url:
        async with httpx.AsyncClient() as client:
            started = time.perf_counter()
            for number in range(count):
                body = signing.encode(_payload(number))
                headers = {
                    "Content-Type": "application/json",
                    signing.HEADER: signing.sign("secret", body),
                }
                await client.post(url, content=body, headers=headers)
            baseline = count / (time.perf_counter() - started)

        await _queue(settings, partner_id, url, count, batch=int(time.time()))
        runtime = Runtime.create(settings.model_copy(update={"sweep_seconds": 0}))
        worker = Worker(runtime)
        try:
            started = time.perf_counter()
            while await _pending(settings):
                await worker.run_once()
            rate = count / (time.perf_counter() - started)
        finally:
            await worker.aclose()
            await runtime.engine.dispose()
    return baseline, rate


def run(settings: Settings, partner_id: int, count: int) -> tuple[float, float]:
    return asyncio.run(measure(settings, partner_id, count))
