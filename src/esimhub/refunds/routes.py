"""``POST /refund``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.deps import ClockDep, SettingsDep
from esimhub.idempotency.http import HEADER_PARAMETER, money_write
from esimhub.kit import wire
from esimhub.kit.envelope import SUCCESS
from esimhub.kit.forms import read_body
from esimhub.kit.validation import Fields
from esimhub.limits import client_ip, endpoint_limit
from esimhub.refunds import schemas, service

router = APIRouter(tags=["orders"])


@router.post(
    "/refund",
    openapi_extra={**HEADER_PARAMETER, **wire.request_body(schemas.RefundBody)},
    **wire.answers(schemas.RefundResponse, 202, status_code=202),
    dependencies=[endpoint_limit("refund", client_ip)],
)
async def request_refund(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """Ask for a refund of up to 5 eSIMs; approved refunds are credited to the balance."""
    body = await read_body(request)
    fields = Fields(body)
    iccids = fields.string_list("iccids")
    if not iccids:
        raise service.RefundRefused("The iccids field is required.")
    if len(iccids) > 5:
        raise service.RefundRefused("The iccids may not have more than 5 items.")
    reason = fields.string("reason", required=True)
    if reason is not None and reason not in schemas.REFUND_REASONS:
        fields.fail(
            "reason",
            "The selected reason is invalid. It must be one of the following: "
            + ", ".join(schemas.REFUND_REASONS),
        )
    notes = fields.string("notes", max_length=255)
    if reason == "OTHERS" and not notes:
        fields.fail("notes", "The notes field is required when reason is OTHERS.")
    email = fields.email("email")
    fields.check()
    assert reason is not None

    async def work() -> tuple[int, Any]:
        refund = await service.request_refund(
            session,
            partner,
            iccids=iccids,
            reason=reason,
            notes=notes,
            email=email,
            clock=clock,
        )
        data = {"refund_id": str(refund.id), "created_at": f"{refund.created_at:%Y-%m-%d %H:%M}"}
        return 202, {"data": data, "meta": dict(SUCCESS)}

    return await money_write(
        request, session, partner.id, settings=settings, clock=clock, body=body, work=work
    )
