"""/metrics after a scripted day: every family an operator alerts on, with the figures the flow
produced."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from esimhub.kit.clock import FrozenClock
from esimhub.metrics import Metrics
from esimhub.worker import Worker
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.receiver import Receiver
from tests.fixtures.sandbox import MIB, Sandbox, sandbox

KALLUR = "kallur-digital-7days-1gb"
METRICS_TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
async def box(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> AsyncIterator[Sandbox]:
    async with sandbox(database_url, clock, make_partner, metrics_token=METRICS_TOKEN) as box:
        yield box


def value(text: str, sample: str) -> float:
    """The value of one sample line (``name{labels}``) of an exposition."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{sample} is missing"
    return float(match.group(1))


async def test_metrics_show_every_family_after_a_scripted_flow(
    box: Sandbox, hook: Receiver
) -> None:
    partner = box.partner
    for kind in ("webhook_low_data", "email_low_data"):
        contact = (
            {"webhook_url": hook.url} if kind.startswith("webhook") else {"email": "o@p.example"}
        )
        opted = await partner.post("/v2/notifications/opt-in", json={"type": kind, **contact})
        assert opted.status_code == 200, opted.text
    order = (await partner.post("/v2/orders", json={"package_id": KALLUR, "quantity": 2})).json()
    iccid = order["data"]["sims"][0]["iccid"]
    assert (await box.usage(iccid)).status_code == 200
    assert (await box.usage(iccid)).status_code == 429  # within the polling window
    await box.consume(iccid, mb=800)  # 78 %: a low-data event, by webhook and by mail
    worker = Worker(box.app.state.runtime)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
    assert len(hook.posts()) == 1

    assert (await box.client.get("/metrics")).status_code == 401
    scraped = await box.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    text = scraped.text
    net_cents = round(order["data"]["net_price"] * 100) * 2
    assert value(text, "esimhub_orders_total") == 1
    assert value(text, "esimhub_esims_issued_total") == 2
    assert value(text, "esimhub_ledger_debits_cents_total") == net_cents
    assert value(text, "esimhub_ledger_credits_cents_total") == 100_000  # the opening balance
    assert value(text, 'esimhub_webhook_deliveries_total{outcome="delivered"}') == 1
    assert value(text, 'esimhub_webhook_deliveries_total{outcome="failed"}') == 0
    assert value(text, "esimhub_outbox_pending_events") == 0
    assert value(text, "esimhub_outbox_oldest_pending_age_seconds") == 0
    assert value(text, "esimhub_webhook_delivery_lag_seconds_count") == 1
    assert value(text, 'esimhub_usage_polls_total{outcome="answered"}') == 1
    assert value(text, 'esimhub_usage_polls_total{outcome="limited"}') == 1
    assert value(text, "esimhub_rate_limiter_failures_total") == 0
    assert value(text, 'esimhub_mail_messages{status="kept"}') == 1  # no SMTP configured
    assert value(text, 'esimhub_worker_passes_total{result="done"}') == 1
    assert value(text, "esimhub_worker_pass_duration_seconds_count") == 1
    route = 'method="POST",route="/v2/orders",status="200"'
    assert value(text, f"esimhub_http_requests_total{{{route}}}") == 1


async def test_the_backlog_shows_events_nobody_has_delivered_yet(
    box: Sandbox, hook: Receiver
) -> None:
    await box.partner.post(
        "/v2/notifications/opt-in", json={"type": "webhook_low_data", "webhook_url": hook.url}
    )
    order = await box.partner.post("/v2/orders", json={"package_id": KALLUR, "quantity": 1})
    iccid = order.json()["data"]["sims"][0]["iccid"]
    record = {"id": "r1", "iccid": iccid, "started_at": box.clock.now().isoformat()}
    await box.feed({**record, "bytes": 800 * MIB})
    box.clock.advance(timedelta(minutes=7))  # nobody delivers for seven minutes
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    text = (await box.client.get("/metrics", headers=headers)).text
    assert value(text, "esimhub_outbox_pending_events") == 1
    assert value(text, "esimhub_outbox_oldest_pending_age_seconds") == pytest.approx(420, abs=1)


def test_request_latency_is_a_cumulative_histogram_per_route() -> None:
    metrics = Metrics()
    usage = "/v2/sims/{sim_iccid}/usage"
    for seconds in (0.0005, 0.001, 0.003, 0.2, 9.0):
        metrics.observe("GET", usage, 200, seconds)
    metrics.observe("GET", usage, 429, 0.001)
    metrics.observe("POST", "/v2/orders", 200, 0.04)
    text = bytes(metrics.response().body).decode()
    labels = f'method="GET",route="{usage}"'
    assert value(text, f'esimhub_http_requests_total{{{labels},status="200"}}') == 5
    assert value(text, f'esimhub_http_requests_total{{{labels},status="429"}}') == 1
    bucket = "esimhub_http_request_duration_seconds_bucket"
    assert value(text, f'{bucket}{{le="0.001",{labels}}}') == 3  # a bound is "less or equal"
    assert value(text, f'{bucket}{{le="0.005",{labels}}}') == 4
    assert value(text, f'{bucket}{{le="5.0",{labels}}}') == 5
    assert value(text, f'{bucket}{{le="+Inf",{labels}}}') == 6
    assert value(text, f"esimhub_http_request_duration_seconds_count{{{labels}}}") == 6
    assert value(text, f"esimhub_http_request_duration_seconds_sum{{{labels}}}") == pytest.approx(
        9.2055
    )
    assert value(text, 'esimhub_usage_polls_total{outcome="answered"}') == 5
    assert value(text, 'esimhub_usage_polls_total{outcome="limited"}') == 1
    orders = 'method="POST",route="/v2/orders"'
    assert value(text, f'{bucket}{{le="0.025",{orders}}}') == 0
    assert value(text, f'{bucket}{{le="0.05",{orders}}}') == 1
