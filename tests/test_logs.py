"""Log lines as an operator's pipeline reads them: one JSON object per request and per webhook
attempt, tied together by the request id, and never a secret or a token in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from esimhub.kit import logs
from esimhub.kit.clock import FrozenClock
from esimhub.worker import Worker
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.receiver import Receiver
from tests.fixtures.sandbox import MIB, Sandbox, sandbox

KALLUR = "kallur-digital-7days-1gb"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, as ``esimhub serve`` logs with
    ``ESIMHUB_LOG_FORMAT=json``."""
    stream = io.StringIO()
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    saved = root.handlers[:], root.level, httpx_logger.level
    logs.configure("INFO", "json", stream)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]
    httpx_logger.setLevel(saved[2])


@pytest.fixture
async def box(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> AsyncIterator[Sandbox]:
    async with sandbox(database_url, clock, make_partner, access_log=True) as box:
        yield box


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_request_id_runs_from_the_request_into_the_worker_lines(
    box: Sandbox, hook: Receiver, log_lines: io.StringIO
) -> None:
    opted = await box.partner.post(
        "/v2/notifications/opt-in",
        json={"type": "webhook_low_data", "webhook_url": f"{hook.url}?token=hook-secret-1"},
    )
    assert opted.status_code == 200
    order = await box.partner.post(
        "/v2/orders",
        json={"package_id": KALLUR, "quantity": 1},
        headers={"X-Request-Id": "order-7f3a"},
    )
    assert order.headers["x-request-id"] == "order-7f3a"
    iccid = order.json()["data"]["sims"][0]["iccid"]
    record = {"id": "r1", "iccid": iccid, "started_at": box.clock.now().isoformat()}
    fed = await box.client.post(
        "/admin/v1/usage-records",
        json={"records": [{**record, "bytes": 800 * MIB}]},
        headers={**box.admin, "X-Request-Id": "feed-42"},
    )
    assert fed.status_code == 200
    worker = Worker(box.app.state.runtime)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
    assert len(hook.posts()) == 1

    lines = parsed(log_lines)
    requests = {line["request_id"]: line for line in lines if line["message"] == "request"}
    assert requests["order-7f3a"] | {"duration_ms": 0} == {
        "ts": requests["order-7f3a"]["ts"],
        "level": "info",
        "logger": "esimhub.access",
        "message": "request",
        "method": "POST",
        "route": "/v2/orders",
        "status": 200,
        "duration_ms": 0,
        "client_id": box.partner.credentials.client_id,
        "request_id": "order-7f3a",
    }
    # the request's own time (it was once measured from the Unix epoch's neighbourhood)
    assert 0 < requests["order-7f3a"]["duration_ms"] < 10_000
    assert requests["feed-42"]["route"] == "/admin/v1/usage-records"
    assert requests["feed-42"]["client_id"] is None  # the admin is no partner
    (attempt,) = [line for line in lines if line["message"] == "webhook attempt"]
    assert attempt["request_id"] == "feed-42"  # the feed request caused the alert
    assert attempt["kind"] == "low_data_notification"
    assert (attempt["attempt"], attempt["outcome"], attempt["http_status"]) == (1, "delivered", 200)
    assert attempt["target_host"] == "127.0.0.1"
    assert "hook-secret-1" not in log_lines.getvalue()  # a webhook URL's query stays out


async def test_request_ids_are_made_when_missing_or_unfit(box: Sandbox) -> None:
    made = await box.partner.get("/v2/balance")
    assert len(made.headers["x-request-id"]) == 32
    other = await box.partner.get("/v2/balance")
    assert other.headers["x-request-id"] != made.headers["x-request-id"]
    unfit = await box.partner.get("/v2/balance", headers={"X-Request-Id": "a b\tc" + "x" * 200})
    assert len(unfit.headers["x-request-id"]) == 32


async def test_no_secret_or_token_reaches_a_log_line(box: Sandbox, log_lines: io.StringIO) -> None:
    credentials = box.partner.credentials
    token = await box.client.post(
        "/v2/token",
        data={
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "grant_type": "client_credentials",
        },
    )
    access_token = token.json()["data"]["access_token"]
    wrong = await box.client.post(
        "/v2/token",
        data={
            "client_id": credentials.client_id,
            "client_secret": "not-it-" + "s" * 30,
            "grant_type": "client_credentials",
        },
    )
    assert wrong.status_code == 401
    await box.client.get("/v2/balance", headers={"Authorization": f"Bearer {access_token}"})
    await box.client.get("/v2/balance", headers={"Authorization": "Bearer forged.token.value"})
    await box.client.get("/admin/v1/partners", headers=box.admin)
    written = log_lines.getvalue()
    assert written.count('"message": "request"') == 5
    for secret in (
        credentials.client_secret,
        access_token,
        "not-it-",
        "forged.token",
        box.admin["Authorization"].split()[1],
    ):
        assert secret not in written
