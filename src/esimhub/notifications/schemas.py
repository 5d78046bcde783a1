"""Wire shapes of notifications: the opt-in ``notification`` object and the admin event view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from esimhub.models import NotificationSubscription, OutboxEvent, WebhookDelivery
from esimhub.notifications.payloads import CREDIT_LEVELS


def describe(found: NotificationSubscription) -> dict[str, Any]:
    """The ``notification`` object of the opt-in answers."""
    body: dict[str, Any] = {"type": found.type, "contact_point": found.contact_point}
    if found.type.startswith("email_"):
        body["language"] = found.language or "en"
    if found.type.endswith("credit_limit"):
        body["levels"] = found.levels or list(CREDIT_LEVELS)
    return body


def event_summary(event: OutboxEvent, attempts: Sequence[WebhookDelivery] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event.event_id,
        "kind": event.kind,
        "partner_id": event.partner_id,
        "status": event.status,
        "attempts": event.attempts,
        "created_at": event.created_at.isoformat(),
        "due_at": event.due_at.isoformat(),
        "delivered_at": event.delivered_at.isoformat() if event.delivered_at else None,
        "target_url": event.target_url,
        "payload": event.payload,
    }
    if attempts:
        body["deliveries"] = [
            {
                "attempt": d.attempt,
                "url": d.url,
                "ok": d.ok,
                "status_code": d.status_code,
                "duration_ms": d.duration_ms,
                "error": d.error,
                "response_body": d.response_body,
                "at": d.created_at.isoformat(),
            }
            for d in attempts
        ]
    return body
