"""Wire shapes of ``POST /refund``."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from esimhub.kit import wire

MAX_REFUND_ICCIDS = 5

REFUND_REASONS = (
    "INSTALLATION_FAILURE",
    "NO_COVERAGE",
    "APN_FAILURE",
    "TRIP_CANCELLATION",
    "INTERMITTENT_CONNECTION",
    "BLOCKED_NETWORK",
    "CHANGE_OF_PLAN",
    "DELETED_ESIM",
    "EARLY_EXPIRY",
    "HOTSPOT_NOT_WORKING",
    "IMSI_CHANGE",
    "INCOMPATIBLE_DEVICE",
    "LOCKED_DEVICE",
    "NO_VOICE_TEXT_SERVICES",
    "OVERCHARGED",
    "SLOW_SPEED",
    "TOP_UP_PACKAGE_FAILURE",
    "UNKNOWN_CHARGES",
    "WRONG_PURCHASE",
    "UNABLE_TO_ACCESS_APPS",
    "SERVICE_DEGRADATION",
    "QR_ISSUE_PARTNERS",
    "OTHERS",
)


class RefundBody(wire.RequestBody):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "if": {"properties": {"reason": {"const": "OTHERS"}}},
            "then": {
                "required": ["notes"],
                "properties": {"notes": {"type": "string", "minLength": 1}},
            },
        },
    )

    iccids: list[Annotated[str, Field(min_length=1, max_length=22, pattern=wire.NO_NUL)]] = Field(
        min_length=1, max_length=MAX_REFUND_ICCIDS
    )
    reason: str = Field(json_schema_extra={"enum": list(REFUND_REASONS)})
    notes: wire.Text | None = None
    email: str | None = Field(default=None, json_schema_extra={"format": "email"})


class RefundAccepted(wire.Wire):
    refund_id: str
    created_at: str = Field(description="Y-m-d H:i")


class RefundResponse(wire.Envelope[RefundAccepted]):
    pass
