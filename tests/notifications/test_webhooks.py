"""Notifications, signed webhook delivery with retries and replay, async and future orders, the
simulator — against a real HTTP receiver on loopback, verified with the official SDK's helper."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airalo.helpers.signature import Signature

from esimhub.cli.common import transaction
from esimhub.kit.clock import FrozenClock
from esimhub.ledger import service as ordering
from esimhub.worker import Worker
from tests.fixtures.clients import Partnered, get_token
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.node import npm_sdk
from tests.fixtures.receiver import Receiver, receiver
from tests.fixtures.sandbox import Sandbox, sandbox

KALLUR = "kallur-digital-7days-1gb"


async def work(box: Sandbox) -> None:
    """One worker pass, as `esimhub worker --once` would do."""
    worker = Worker(box.app.state.runtime)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()


def verified(box: Sandbox, post: Any) -> dict[str, Any]:
    return verified_as(box.partner.credentials.client_secret, post)


def verified_as(secret: str, post: Any) -> dict[str, Any]:
    """The payload of a delivered webhook, after checking its signature the SDK's way."""
    signature = post.headers["airalo-signature"]
    payload: dict[str, Any] = json.loads(post.body)
    assert Signature(secret).check_signature(signature, payload)
    assert post.headers["content-type"] == "application/json"
    # PHP json_encode style: compact, "/" escaped (these payloads are ASCII)
    assert post.body == json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()
    return payload


async def opt_in(box: Sandbox, **body: Any) -> Any:
    return await box.partner.post("/v2/notifications/opt-in", json=body)


async def test_opt_in_checks_the_url_and_reads_back(box: Sandbox, hook: Receiver) -> None:
    done = await opt_in(box, type="webhook_low_data", webhook_url=hook.url)
    assert done.status_code == 200
    assert done.json() == {
        "data": {"notification": {"type": "webhook_low_data", "contact_point": hook.url}},
        "meta": {"message": "success"},
    }
    assert [r.method for r in hook.received] == ["HEAD"]

    credit = await opt_in(
        box, type="email_credit_limit", email="ops@partner.example", levels=[90, 50]
    )
    assert credit.json()["data"]["notification"] == {
        "type": "email_credit_limit",
        "contact_point": "ops@partner.example",
        "language": "en",
        "levels": [50, 90],
    }
    read = await box.partner.get("/v2/notifications/opt-in", params={"type": "webhook_low_data"})
    assert read.json()["data"]["notification"]["contact_point"] == hook.url

    with receiver(head_status=404) as dead:
        refused = await opt_in(box, type="async_orders", webhook_url=dead.url)
    assert refused.status_code == 422
    assert "HEAD with 200 OK" in refused.json()["data"]["webhook_url"]
    invalid = await opt_in(box, type="sms_low_data", webhook_url=hook.url)
    assert invalid.json()["data"] == {"type": "The selected type is invalid."}
    v1_async = await box.partner.post(
        "/v1/notifications/opt-in", json={"type": "async_orders", "webhook_url": hook.url}
    )
    assert v1_async.status_code == 422
    bad_levels = await opt_in(box, type="webhook_credit_limit", webhook_url=hook.url, levels=[55])
    assert bad_levels.json()["data"] == {"levels.0": "The selected levels.0 is invalid."}

    out = await box.partner.post("/v2/notifications/opt-out", json={"type": "webhook_low_data"})
    assert (out.status_code, out.content) == (204, b"")
    gone = await box.partner.get("/v2/notifications/opt-in", params={"type": "webhook_low_data"})
    assert gone.status_code == 404


async def test_low_data_webhooks_are_signed_and_sent_once_per_level(
    box: Sandbox, hook: Receiver
) -> None:
    await opt_in(box, type="webhook_low_data", webhook_url=hook.url)
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    await box.consume(iccid, mb=800)  # 78 % used
    await work(box)
    await box.consume(iccid, mb=50)  # 83 %: no new level
    await work(box)
    posts = hook.posts()
    assert len(posts) == 1
    assert verified(box, posts[0]) == {
        "level": "75%",
        "package_name": KALLUR,
        "remaining_percentage": 21,
        "iccid": iccid,
    }
    raw = posts[0].body.decode()  # a raw-body verifier (re-encoding the string) agrees too
    assert Signature(box.partner.credentials.client_secret).check_signature(
        posts[0].headers["airalo-signature"], raw
    )
    assert posts[0].headers["x-esimhub-event"] == "low_data_notification"


async def test_credit_limit_webhooks_fire_once_per_crossing_and_rearm(
    box: Sandbox, make_partner: PartnerFactory, hook: Receiver
) -> None:
    """A partner on credit (balance 0, limit 100 USD) crossing 50 %, topped up, crossing again."""
    debtor = await make_partner(name="On credit", balance_cents=0, credit_limit_cents=10_000)
    token = await get_token(box.client, debtor)
    api = Partnered(box.client, debtor, {"Authorization": f"Bearer {token}"})
    await api.post(
        "/v2/notifications/opt-in",
        json={"type": "webhook_credit_limit", "webhook_url": hook.url, "levels": [50, 90]},
    )
    net = (await api.order(KALLUR))["net_price"]
    spent = net
    while spent < 60:  # past 50 % (and 70 %, which was not chosen) but short of 90 %
        await api.order(KALLUR)
        spent += net
    await work(box)
    first = [verified_as(debtor.client_secret, p) for p in hook.posts()]
    assert [p["message"] for p in first] == ["Surpassed 50% of the credit limit balance"]
    assert 50 - net < first[0]["remaining"] <= 50  # what was left after the crossing order
    await api.order(KALLUR)  # still past 50 %: nothing new
    spent += net
    async with transaction(box.settings) as session:
        await ordering.credit(session, debtor.partner_id, amount_cents=10_000, clock=box.clock)
    while spent < 160:  # 100 USD topped up: 50 % is crossed again after 150 USD
        await api.order(KALLUR)
        spent += net
    await work(box)
    messages = [verified_as(debtor.client_secret, p)["message"] for p in hook.posts()]
    assert messages == ["Surpassed 50% of the credit limit balance"] * 2


async def test_async_orders_post_the_order_with_its_request_id(
    box: Sandbox, hook: Receiver
) -> None:
    missing = await box.partner.post("/v2/orders-async", json={"package_id": KALLUR, "quantity": 1})
    assert (missing.status_code, missing.json()) == (
        422,
        {"reason": "User is not opted in and no webhook URL provided."},
    )
    accepted = await box.partner.post(
        "/v2/orders-async", json={"package_id": KALLUR, "quantity": 2, "webhook_url": hook.url}
    )
    assert accepted.status_code == 202
    data = accepted.json()["data"]
    assert len(data["request_id"]) == 25
    assert data["accepted_at"] == box.clock.now().strftime("%Y-%m-%d %H:%M:%S")
    bad = await box.partner.post("/v2/orders-async", json={"package_id": KALLUR, "quantity": 51})
    assert bad.json()["data"] == {"quantity": "The quantity may not be greater than 50."}

    await work(box)
    posts = hook.posts()
    assert len(posts) == 1
    payload = verified(box, posts[0])
    assert payload["request_id"] == data["request_id"]
    assert payload["meta"] == {"message": "success"}
    assert payload["data"]["package_id"] == KALLUR
    assert len(payload["data"]["sims"]) == 2
    assert b"https:\\/\\/" in posts[0].body or b"http:\\/\\/" in posts[0].body  # PHP-style
    orders = (await box.partner.get("/v2/orders")).json()["data"]
    assert [o["code"] for o in orders] == [payload["data"]["code"]]


NODE_CHECK = """
const Signature = require(process.argv[1]);
const body = require("fs").readFileSync(0, "utf8");
const helper = new Signature(process.argv[2]);
console.log(JSON.stringify([
  helper.checkSignature(process.argv[3], body),
  helper.checkSignature(process.argv[3], JSON.parse(body)),
]));
"""


@pytest.fixture(scope="session")
def node_signature() -> tuple[str, Path]:
    """Node.js, and the npm ``airalo-sdk``'s own signature helper."""
    node, package = npm_sdk()
    return node, package / "src" / "helpers" / "Signature.js"


@pytest.mark.external
async def test_the_node_sdk_verifies_an_order_webhook(
    box: Sandbox, hook: Receiver, node_signature: tuple[str, Path]
) -> None:
    """An async-order body holds URLs (escaped as ``\\/``): the Node SDK accepts the raw body and
    the parsed payload alike."""
    await box.partner.post(
        "/v2/orders-async", json={"package_id": KALLUR, "quantity": 1, "webhook_url": hook.url}
    )
    await work(box)
    post = hook.posts()[0]
    node, helper = node_signature
    secret, signature = box.partner.credentials.client_secret, post.headers["airalo-signature"]
    process = await asyncio.create_subprocess_exec(
        node,
        "-e",
        NODE_CHECK,
        str(helper),
        secret,
        signature,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(post.body), timeout=60)
    assert json.loads(output) == [True, True]
    assert b"\\/" in post.body


async def test_a_failed_async_order_posts_its_reason(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory, hook: Receiver
) -> None:
    async with sandbox(database_url, clock, make_partner) as box:
        await opt_in(box, type="async_orders", webhook_url=hook.url)
        poor = await make_partner(name="Poor", balance_cents=0)
        token = await get_token(box.client, poor)
        poor_api = Partnered(box.client, poor, {"Authorization": f"Bearer {token}"})
        await poor_api.post(
            "/v2/notifications/opt-in", json={"type": "async_orders", "webhook_url": hook.url}
        )
        accepted = await poor_api.post(
            "/v2/orders-async", json={"package_id": KALLUR, "quantity": 1}
        )
        assert accepted.status_code == 202
        await work(box)
        payload = json.loads(hook.posts()[0].body)
        assert payload["request_id"] == accepted.json()["data"]["request_id"]
        assert payload["reason"].startswith("Insufficient Airalo Credit")
        assert "data" not in payload


async def test_failed_deliveries_are_retried_on_schedule_and_can_be_replayed(
    box: Sandbox, hook: Receiver
) -> None:
    await opt_in(box, type="webhook_low_data", webhook_url=hook.url)
    hook.statuses = [500, 204]  # anything but 200 is a failure
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    await box.consume(iccid, mb=800)
    await work(box)
    await work(box)  # not due again yet
    assert len(hook.posts()) == 1
    box.clock.advance(timedelta(minutes=15))
    await work(box)
    box.clock.advance(timedelta(minutes=14))
    await work(box)
    assert len(hook.posts()) == 2
    box.clock.advance(timedelta(minutes=1))
    await work(box)
    posts = hook.posts()
    assert len(posts) == 3
    assert len({p.headers["x-esimhub-event-id"] for p in posts}) == 1
    assert [p.headers["x-esimhub-attempt"] for p in posts] == ["1", "2", "3"]

    listed = (await box.client.get("/admin/v1/webhooks", headers=box.admin)).json()["data"]
    event_id = listed[0]["event_id"]
    shown = (await box.client.get(f"/admin/v1/webhooks/{event_id}", headers=box.admin)).json()
    assert shown["data"]["status"] == "delivered"
    assert [d["status_code"] for d in shown["data"]["deliveries"]] == [500, 204, 200]
    assert all(d["duration_ms"] >= 0 for d in shown["data"]["deliveries"])

    replayed = await box.client.post(f"/admin/v1/webhooks/{event_id}/replay", headers=box.admin)
    assert replayed.json()["data"]["status"] == "pending"
    await work(box)
    assert len(hook.posts()) == 4
    assert hook.posts()[-1].body == posts[0].body


async def test_delivery_gives_up_after_the_configured_attempts(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory, hook: Receiver
) -> None:
    async with sandbox(
        database_url, clock, make_partner, webhook_attempts=3, webhook_retry_schedule="60,120"
    ) as box:
        await opt_in(box, type="webhook_low_data", webhook_url=hook.url)
        hook.statuses = [500] * 10
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        await box.consume(iccid, mb=800)
        for step in (0, 60, 120, 120, 120):
            clock.advance(timedelta(seconds=step))
            await work(box)
        assert len(hook.posts()) == 3
        listed = (await box.client.get("/admin/v1/webhooks", headers=box.admin)).json()["data"]
        assert listed[0]["status"] == "failed"


async def test_future_orders_fire_when_the_clock_passes_their_due_date(
    box: Sandbox, hook: Receiver
) -> None:
    due = (box.clock.now() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    created = await box.partner.post(
        "/v2/future-orders",
        json={"package_id": KALLUR, "quantity": 1, "due_date": due, "webhook_url": hook.url},
    )
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["due_date"] == due
    latest = (box.clock.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert data["latest_cancellation_date"] == latest
    assert [r.method for r in hook.received] == ["HEAD"]

    listed = (await box.partner.get("/v2/future-orders")).json()
    assert listed["data"] == [
        {
            "request_id": data["request_id"],
            "quantity": 1,
            "description": "",
            "status": "pending",
            "package_id": KALLUR,
            "due_date": due,
            "latest_cancellation_date": latest,
        }
    ]
    assert listed["meta"]["per_page"] == "25"

    await work(box)
    assert hook.posts() == []
    await box.advance("3d")
    await work(box)
    payload = verified(box, hook.posts()[0])
    assert payload["request_id"] == data["request_id"]
    assert payload["data"]["package_id"] == KALLUR
    assert (await box.partner.get("/v2/future-orders")).json()["data"] == []
    done = await box.partner.post(
        "/v2/cancel-future-orders", json={"request_ids": [data["request_id"]]}
    )
    assert done.json()["data"] == {
        "request_ids.0": f"Request ID: {data['request_id']} is already processed and can not "
        "be cancelled."
    }


async def test_future_order_validation_and_cancellation(box: Sandbox, hook: Receiver) -> None:
    soon = (box.clock.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    early = await box.partner.post(
        "/v2/future-orders",
        json={"package_id": KALLUR, "quantity": 1, "due_date": soon, "webhook_url": hook.url},
    )
    assert early.json()["data"] == {
        "due_date": "Minimum due date must be at least the day after tomorrow in UTC timezone."
    }
    due = (box.clock.now() + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    unknown = await box.partner.post(
        "/v2/future-orders",
        json={"package_id": "non-existent-package", "quantity": 1, "due_date": due},
    )
    assert unknown.json()["code"] == 34
    no_hook = await box.partner.post(
        "/v2/future-orders", json={"package_id": KALLUR, "quantity": 1, "due_date": due}
    )
    assert no_hook.json() == {"reason": "User is not opted in and no webhook URL provided."}

    ids = []
    for _ in range(2):
        made = await box.partner.post(
            "/v2/future-orders",
            json={"package_id": KALLUR, "quantity": 1, "due_date": due, "webhook_url": hook.url},
        )
        ids.append(made.json()["data"]["request_id"])
    missing = "x" * 25
    refused = await box.partner.post(
        "/v2/cancel-future-orders", json={"request_ids": [ids[0], "short", missing]}
    )
    assert refused.status_code == 422
    assert refused.json()["data"] == {
        "request_ids.1": "Each request ID must be exactly 25 characters long.",
        "request_ids.2": f"Request ID: {missing} does not exist.",
    }
    too_many = await box.partner.post(
        "/v2/cancel-future-orders", json={"request_ids": [missing] * 11}
    )
    assert too_many.status_code == 422
    cancelled = await box.partner.post("/v2/cancel-future-orders", json={"request_ids": ids})
    assert cancelled.json() == {
        "data": [],
        "meta": {"message": "Future orders cancelled successfully"},
    }
    assert (await box.partner.get("/v2/future-orders")).json()["data"] == []
    await box.advance("6d")
    await work(box)
    assert hook.posts() == []


async def test_the_simulator_sends_every_documented_kind(box: Sandbox, hook: Receiver) -> None:
    not_opted = await box.partner.post(
        "/v2/simulator/webhook", json={"event": "low_data_notification", "type": "data_75"}
    )
    assert (not_opted.status_code, not_opted.json()) == (400, {"error": "User is not opted in"})
    v1 = await box.partner.post(  # also on the deprecated v1, as in Airalo's menu
        "/v1/simulator/webhook", json={"event": "low_data_notification", "type": "data_75"}
    )
    assert (v1.status_code, v1.json()) == (400, {"error": "User is not opted in"})
    invalid = await box.partner.post("/v2/simulator/webhook", json={"event": "nope"})
    assert invalid.status_code == 422
    assert invalid.json()["data"]["event"] == (
        "Event must be one of: low_data_notification, credit_limit_notification, "
        "async_order_notification"
    )
    sends: list[dict[str, Any]] = [
        {"event": "low_data_notification", "type": "expire_3", "iccid": "8999000000000000011"},
        {"event": "credit_limit_notification", "level": 80},
        {"event": "async_order_notification"},
    ]
    for body in sends:
        sent = await box.partner.post(
            "/v2/simulator/webhook", json={**body, "webhook_url": hook.url}
        )
        assert (sent.status_code, sent.json()) == (200, {"success": "Notification sent"})
    low, credit, order = (verified(box, p) for p in hook.posts())
    assert low == {
        "level": "3days",
        "package_name": KALLUR,
        "remaining_percentage": 60,
        "iccid": "8999000000000000011",
    }
    assert credit["message"] == "Surpassed 80% of the credit limit balance"
    assert len(order["request_id"]) == 25

    await opt_in(box, type="webhook_low_data", webhook_url=hook.url)
    opted = await box.partner.post(
        "/v2/simulator/webhook", json={"event": "low_data_notification", "type": "data_90"}
    )
    assert opted.status_code == 200
    with receiver() as failing:
        failing.statuses = [500]
        broken = await box.partner.post(
            "/v2/simulator/webhook",
            json={"event": "credit_limit_notification", "level": 50, "webhook_url": failing.url},
        )
    assert (broken.status_code, broken.json()) == (
        400,
        {"error": f"Could not push data to {failing.url}"},
    )


async def test_production_refuses_private_webhook_targets(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory, hook: Receiver
) -> None:
    async with sandbox(
        database_url, clock, make_partner, env="production", secret_key="p" * 40
    ) as box:
        refused = await opt_in(box, type="webhook_low_data", webhook_url=hook.url)
        assert refused.status_code == 422
        assert "private address" in refused.json()["data"]["webhook_url"]
        assert hook.received == []
    async with sandbox(
        database_url,
        clock,
        make_partner,
        env="production",
        secret_key="p" * 40,
        webhooks_allow_private_targets=True,
    ) as box:
        assert (await opt_in(box, type="webhook_low_data", webhook_url=hook.url)).status_code == 200


async def test_sandbox_future_orders_park_in_the_documented_statuses(
    box: Sandbox, make_partner: PartnerFactory, hook: Receiver
) -> None:
    tester = await make_partner(name="Sandbox", sandbox=True)
    token = await get_token(box.client, tester)
    api = Partnered(box.client, tester, {"Authorization": f"Bearer {token}"})
    due = (box.clock.now() + timedelta(days=4)).strftime("%Y-%m-%d %H:%M")
    for status in ("pending", "failed", "retry"):
        made = await api.post(
            "/v2/future-orders",
            json={
                "package_id": f"test-create-{status}-future-order-7days-1gb",
                "quantity": 1,
                "due_date": due,
                "webhook_url": hook.url,
            },
        )
        assert made.status_code == 200, made.text
        listed = (await api.get("/v2/future-orders", params={"status": status})).json()["data"]
        assert [(o["status"], o["request_id"]) for o in listed] == [
            (status, made.json()["data"]["request_id"])
        ]
    await box.advance("5d")
    await work(box)
    assert hook.posts() == []
    assert (await api.get("/v2/future-orders", params={"status": "done"})).status_code == 422


async def test_email_low_data_goes_through_the_mail_outbox(box: Sandbox) -> None:
    opted = await opt_in(box, type="email_low_data", email="noc@partner.example", language="de")
    assert opted.json()["data"]["notification"]["language"] == "de"
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    await box.consume(iccid, mb=950)  # 92 %: both data levels at once
    await work(box)
    async with transaction(box.settings) as session:
        from esimhub.notifications import service as mail

        sent = [m for m in await mail.messages(session) if m.to_address == "noc@partner.example"]
    assert sorted(m.subject for m in sent) == [
        f"eSIM {iccid}: 75% reached",
        f"eSIM {iccid}: 90% reached",
    ]
    assert all(m.status == "kept" for m in sent)  # no SMTP configured in tests
