"""The bodies of the webhooks we send, built in one place for the real events and the simulator
(reference §7)."""

from __future__ import annotations

from typing import Any

from esimhub.kit.money import wire_number

LOW_DATA = "low_data_notification"
CREDIT_LIMIT = "credit_limit_notification"
ASYNC_ORDER = "async_order_notification"
EVENT_KINDS = (LOW_DATA, CREDIT_LIMIT, ASYNC_ORDER)
CREDIT_LEVELS = (50, 70, 80, 90)


def low_data(
    *, level: str, package_name: str, remaining_percentage: int, iccid: str
) -> dict[str, Any]:
    """``level`` is ``75%``, ``90%``, ``3days`` or ``1days``."""
    return {
        "level": level,
        "package_name": package_name,
        "remaining_percentage": remaining_percentage,
        "iccid": iccid,
    }


def credit_limit(*, level: int, available_cents: int) -> dict[str, Any]:
    return {
        "message": f"Surpassed {level}% of the credit limit balance",
        "remaining": wire_number(max(available_cents, 0)),
    }


def order_placed(order_body: dict[str, Any], request_id: str) -> dict[str, Any]:
    """An async or future order that was placed: the submit-order answer plus ``request_id``."""
    return {**order_body, "request_id": request_id}


def order_failed(request_id: str, reason: str) -> dict[str, Any]:
    return {"request_id": request_id, "reason": reason}


def mail_text(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and text of the email a low-data or credit-limit event sends."""
    if kind == LOW_DATA:
        subject = f"eSIM {payload['iccid']}: {payload['level']} reached"
        text = (
            f"The eSIM {payload['iccid']} ({payload['package_name']}) reached the "
            f"{payload['level']} notification level; {payload['remaining_percentage']}% of its "
            "data is left."
        )
        return subject, text
    return str(
        payload["message"]
    ), f"{payload['message']}. Remaining credit: {payload['remaining']} USD."
