"""Wire shapes of async and future orders."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from esimhub.kit import wire
from esimhub.orders.schemas import OrderBody

MAX_CANCEL = 10
REQUEST_ID = r"^[0-9A-Za-z_-]{25}$"  # the nanoid alphabet, 25 long


class AsyncOrderBody(OrderBody):
    webhook_url: wire.WebhookUrl | None = Field(
        default=None, description="Where the outcome is POSTed (else the async_orders opt-in)"
    )


class FutureOrderBody(AsyncOrderBody):
    due_date: str = Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="UTC, Y-m-d H:i, from the day after tomorrow to a year ahead",
    )


class CancelFutureOrdersBody(wire.RequestBody):
    request_ids: list[Annotated[str, Field(pattern=REQUEST_ID)]] = Field(
        min_length=1, max_length=MAX_CANCEL, json_schema_extra={"uniqueItems": True}
    )


class AcceptedOrder(wire.Wire):
    request_id: str
    accepted_at: str


class AcceptedOrderResponse(wire.Envelope[AcceptedOrder]):
    pass


class ScheduledOrder(wire.Wire):
    request_id: str
    due_date: str
    latest_cancellation_date: str


class ScheduledOrderResponse(wire.Envelope[ScheduledOrder]):
    pass


class FutureOrder(wire.Wire):
    request_id: str
    quantity: int
    description: str
    status: str
    package_id: str
    due_date: str
    latest_cancellation_date: str


class FutureOrdersPage(wire.Page[FutureOrder]):
    pass
