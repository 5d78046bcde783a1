"""Every state machine's states, one enum each. They are ``StrEnum``s: stored and sent on the
wire as the plain strings Airalo uses, and equal to those strings."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class PackageStatus(StrEnum):
    """A package on an eSIM, and the eSIM as usage reports it (Airalo's capitals)."""

    NOT_ACTIVE = "NOT_ACTIVE"
    ACTIVE = "ACTIVE"
    FINISHED = "FINISHED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"
    RECYCLED = "RECYCLED"


class EventStatus(StrEnum):
    """An outbox event on its way to a webhook."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    KEPT = "kept"
    FAILED = "failed"


class ScheduledStatus(StrEnum):
    """An async or future order (``retry`` only ever appears on sandbox-parked ones)."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRY = "retry"
    CANCELLED = "cancelled"


class RefundStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Supply(StrEnum):
    """Where an operator's eSIM profiles come from."""

    GENERATED = "generated"
    POOL = "pool"


class PricingModel(StrEnum):
    NET = "net_pricing"
    DISCOUNT = "discount_pricing"
