"""Verify and read the webhooks esimhub (or Airalo) POSTs to a partner (reference §7).

``verify`` hashes the raw body exactly as it arrived: the sender signs the bytes it sends, so
there is nothing to re-encode, and a body with non-ASCII text or ``/`` verifies like any other.
Pass it the bytes your framework received, before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from esimhub.client.models import Money, Order

SIGNATURE_HEADER = "airalo-signature"


def sign(body: bytes, secret: str) -> str:
    """The ``airalo-signature`` of ``body``: lowercase hex HMAC-SHA512 keyed with the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """True when ``signature`` (the ``airalo-signature`` header) signs ``body`` under ``secret``
    (the partner's client secret). Constant-time; a missing or malformed header is False."""
    if not signature:
        return False
    given = signature.strip().lower().encode("ascii", "replace")
    return hmac.compare_digest(sign(body, secret).encode(), given)


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")


class LowDataEvent(_Event):
    """75 % or 90 % of the data used, or 3 days / 1 day left (``level`` ``75%``, ``90%``,
    ``3days``, ``1days``)."""

    kind: Literal["low_data"] = "low_data"
    level: str
    iccid: str
    package_name: str | None = None
    remaining_percentage: int | None = None


class CreditLimitEvent(_Event):
    """The balance passed a chosen share of the credit limit; ``remaining`` in USD."""

    kind: Literal["credit_limit"] = "credit_limit"
    message: str
    remaining: Money = None


class AsyncOrderEvent(_Event):
    """An async or future order's outcome: ``order`` when it was placed, ``reason`` when not."""

    kind: Literal["async_order"] = "async_order"
    request_id: str
    order: Order | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.order is not None


Event = Annotated[LowDataEvent | CreditLimitEvent | AsyncOrderEvent, Field(discriminator="kind")]
_events: TypeAdapter[LowDataEvent | CreditLimitEvent | AsyncOrderEvent] = TypeAdapter(Event)


class UnknownEventError(ValueError):
    """The body is JSON but none of the webhook kinds esimhub and Airalo send."""


def _kind(payload: dict[str, Any]) -> dict[str, Any]:
    if "request_id" in payload:
        data = payload.get("data")
        order = data if isinstance(data, dict) else (payload if "id" in payload else None)
        return {**payload, "kind": "async_order", "order": order}
    if "iccid" in payload and "level" in payload:
        return {**payload, "kind": "low_data"}
    if "message" in payload and "remaining" in payload:
        return {**payload, "kind": "credit_limit"}
    raise UnknownEventError(f"not a known webhook body: keys {sorted(payload)}")


def parse(body: bytes | str) -> LowDataEvent | CreditLimitEvent | AsyncOrderEvent:
    """The typed event of a webhook body (verify it first)."""
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise UnknownEventError("a webhook body is a JSON object")
    return _events.validate_python(_kind(payload))
