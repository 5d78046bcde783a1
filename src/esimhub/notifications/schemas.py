"""Wire shapes of notifications: the opt-in ``notification`` object and the admin event view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import ConfigDict, Field, JsonValue

from esimhub.kit import wire
from esimhub.models import NotificationSubscription, OutboxEvent, WebhookDelivery
from esimhub.notifications.payloads import CREDIT_LEVELS

NOTIFICATION_TYPES = (
    "async_orders",
    "webhook_low_data",
    "email_low_data",
    "webhook_credit_limit",
    "email_credit_limit",
)
V1_NOTIFICATION_TYPES = NOTIFICATION_TYPES[1:]  # v1 knew low data and credit limit only
_EMAIL_TYPES: list[JsonValue] = [kind for kind in NOTIFICATION_TYPES if kind.startswith("email_")]


class OptInBody(wire.RequestBody):
    """An email type needs ``email``; the others a ``webhook_url`` that answers ``HEAD`` 200."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "if": {"properties": {"type": {"enum": _EMAIL_TYPES}}},
            "then": {"required": ["email"]},
            "else": {"required": ["webhook_url"]},
        },
    )

    type: str = Field(json_schema_extra={"enum": list(NOTIFICATION_TYPES)})
    email: str | None = Field(default=None, json_schema_extra={"format": "email"})
    webhook_url: wire.WebhookUrl | None = None
    language: Annotated[str, Field(max_length=16, pattern=wire.NO_NUL)] | None = None
    levels: list[int] | None = Field(
        default=None, json_schema_extra={"items": {"enum": list(CREDIT_LEVELS)}}
    )


class OptOutBody(wire.RequestBody):
    type: str = Field(json_schema_extra={"enum": list(NOTIFICATION_TYPES)})


class Subscription(wire.Wire):
    type: str
    contact_point: str
    language: str | None = None
    levels: list[int] | None = None


class SubscriptionData(wire.Wire):
    notification: Subscription


class SubscriptionResponse(wire.Envelope[SubscriptionData]):
    pass


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
