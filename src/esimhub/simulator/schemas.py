"""Wire shapes of ``POST /simulator/webhook``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from esimhub.kit import wire
from esimhub.notifications.payloads import CREDIT_LEVELS, CREDIT_LIMIT, EVENT_KINDS, LOW_DATA

SIMULATED_LEVELS = {"data_75": "75%", "data_90": "90%", "expire_1": "1days", "expire_3": "3days"}


class SimulatorBody(wire.RequestBody):
    """``type`` goes with a low-data event, ``level`` with a credit-limit one."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"event": {"const": LOW_DATA}}},
                    "then": {"required": ["type"]},
                },
                {
                    "if": {"properties": {"event": {"const": CREDIT_LIMIT}}},
                    "then": {"required": ["level"]},
                },
            ]
        },
    )

    event: str = Field(json_schema_extra={"enum": list(EVENT_KINDS)})
    type: str | None = Field(default=None, json_schema_extra={"enum": list(SIMULATED_LEVELS)})
    level: int | None = Field(default=None, json_schema_extra={"enum": list(CREDIT_LEVELS)})
    iccid: Annotated[str, Field(max_length=22, pattern=wire.NO_NUL)] | None = None
    webhook_url: wire.WebhookUrl | None = None


class Sent(BaseModel):
    success: str = Field(examples=["Notification sent"])


class NotSent(BaseModel):
    error: str
