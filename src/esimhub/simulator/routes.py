"""``POST /simulator/webhook``: any documented webhook, sent now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.deps import ClockDep, SessionmakerDep, SettingsDep
from esimhub.kit import wire
from esimhub.kit.forms import read_body
from esimhub.kit.validation import Fields
from esimhub.limits import client_ip, endpoint_limit
from esimhub.notifications import payloads
from esimhub.notifications import tasks as notifications
from esimhub.simulator import schemas, service

router = APIRouter(tags=["notifications"])


@router.post(
    "/simulator/webhook",
    dependencies=[endpoint_limit("simulator", client_ip)],
    openapi_extra=wire.request_body(schemas.SimulatorBody),
    **wire.answers(
        schemas.Sent,
        responses={400: {"model": schemas.NotSent, "description": "The target did not take it"}},
    ),
)
async def simulate_webhook(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    sessionmaker: SessionmakerDep,
) -> Response:
    """Send a mock webhook of any documented kind, now, to the opted-in URL or ``webhook_url``."""
    body = await read_body(request)
    fields = Fields(body)
    event = fields.string("event", required=True, max_length=64)
    if event is not None and event not in payloads.EVENT_KINDS:
        fields.fail("event", "Event must be one of: " + ", ".join(payloads.EVENT_KINDS))
    kind = level = None
    if event == payloads.LOW_DATA:
        kind = fields.string("type", required=True, max_length=16)
        if kind is not None and kind not in schemas.SIMULATED_LEVELS:
            fields.fail("type", "Type must be one of: " + ", ".join(schemas.SIMULATED_LEVELS))
    if event == payloads.CREDIT_LIMIT:
        level = fields.integer("level", required=True)
        if level is not None and level not in payloads.CREDIT_LEVELS:
            fields.fail("level", "Level must be one of: 50, 70, 80, 90")
    iccid = fields.string("iccid", max_length=22)
    webhook_url = fields.webhook_url()
    fields.check()
    assert event is not None
    simulated = await service.simulate(
        session,
        partner.id,
        event=event,
        level_type=kind,
        credit_level=level,
        iccid=iccid,
        webhook_url=webhook_url,
        settings=settings,
        clock=clock,
    )
    delivered = await notifications.push_now(
        sessionmaker,
        settings,
        clock,
        partner_id=partner.id,
        kind=event,
        payload=simulated.payload,
        url=simulated.url,
    )
    if delivered:
        return JSONResponse({"success": "Notification sent"})
    return JSONResponse({"error": f"Could not push data to {simulated.url}"}, 400)
