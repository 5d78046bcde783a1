"""Hostile webhook targets: refused where they are given, and, if one reaches the outbox anyway,
failing alone without holding up any other partner's webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from esimhub.cli.common import transaction
from esimhub.notifications import service as notifications
from esimhub.worker import Worker
from tests.fixtures.factories import PartnerFactory, outbox_events
from tests.fixtures.receiver import Receiver
from tests.fixtures.sandbox import Sandbox

KALLUR = "kallur-digital-7days-1gb"
INVALID = {
    "data": {"webhook_url": "The webhook url must be a valid http or https URL."},
    "meta": {"message": "the parameter is invalid"},
}
HOSTILE_URLS = [
    "http://example.com/\x01hook",
    "http://example.com/a\x00b",
    "http://exa mple.com/hook",
    "http://example.com/\nX-Injected: 1",
    "javascript:alert(1)",
    "ftp://example.com/hook",
    "http:///no-host",
    "http://[::1/broken",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
async def test_hostile_urls_are_refused_wherever_a_webhook_url_is_accepted(
    box: Sandbox, url: str
) -> None:
    due = (box.clock.now().replace(year=box.clock.now().year + 1)).strftime("%Y-%m-%d %H:%M")
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("/v2/orders-async", {"package_id": KALLUR, "quantity": 1, "webhook_url": url}),
        (
            "/v2/future-orders",
            {"package_id": KALLUR, "quantity": 1, "due_date": due, "webhook_url": url},
        ),
        ("/v2/notifications/opt-in", {"type": "webhook_low_data", "webhook_url": url}),
        (
            "/v2/simulator/webhook",
            {"event": "low_data_notification", "type": "data_75", "webhook_url": url},
        ),
    ]
    for path, body in attempts:
        response = await box.partner.post(path, json=body)
        assert (response.status_code, response.json()) == (422, INVALID), path
    async with transaction(box.settings) as session:
        assert await notifications.events(session) == []


async def test_an_overlong_url_is_refused(box: Sandbox) -> None:
    url = "https://example.com/" + "a" * 2000
    response = await box.partner.post(
        "/v2/orders-async", json={"package_id": KALLUR, "quantity": 1, "webhook_url": url}
    )
    assert response.status_code == 422
    assert "webhook_url" in response.json()["data"]


async def test_a_poisoned_event_fails_alone_and_others_are_delivered_on_time(
    box: Sandbox, make_partner: PartnerFactory, hook: Receiver
) -> None:
    """An event whose URL the HTTP client rejects (written before URLs were checked) is one
    failed attempt; the other partner's events in the same batch are all delivered."""
    attacker = await make_partner(name="Attacker")
    await outbox_events(
        box.settings, box.clock, attacker.partner_id, 3, target_url="http://example.com/\x01x"
    )
    opted = await box.partner.post(
        "/v2/notifications/opt-in", json={"type": "webhook_low_data", "webhook_url": hook.url}
    )
    assert opted.status_code == 200
    await outbox_events(box.settings, box.clock, box.partner.credentials.partner_id, 10)

    worker = Worker(box.app.state.runtime)
    try:
        tally = await worker.run_once()
    finally:
        await worker.aclose()

    assert len(hook.posts()) == 10
    assert tally.events == {"delivered": 10, "pending": 3}
    async with transaction(box.settings) as session:
        poisoned = await notifications.events(session, partner_id=attacker.partner_id)
        assert [event.attempts for event in poisoned] == [1, 1, 1]
        for event in poisoned:
            (attempt,) = await notifications.deliveries(session, event)
            assert attempt.ok is False
            assert attempt.error == "The webhook url must be a valid http or https URL."
        delivered = await notifications.events(
            session, partner_id=box.partner.credentials.partner_id
        )
        assert {event.status for event in delivered} == {"delivered"}
