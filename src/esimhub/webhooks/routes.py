"""Notifications opt-in/opt-out and the webhook simulator."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.esims import profiles
from esimhub.esims import repository as sims_repository
from esimhub.kit.forms import read_body
from esimhub.kit.money import wire_number
from esimhub.kit.validation import Fields
from esimhub.limits import client_ip, endpoint_limit
from esimhub.models import OutboxEvent, Partner
from esimhub.ordering import repository as ledger
from esimhub.outbox import event_id
from esimhub.runtime import Runtime, RuntimeDep
from esimhub.scheduling.service import request_id
from esimhub.webhooks import service, targets

router = APIRouter(tags=["notifications"])

SUCCESS = {"message": "success"}
SIMULATED_LEVELS = {"data_75": "75%", "data_90": "90%", "expire_1": "1days", "expire_3": "3days"}
SIMULATED_REMAINING = {"data_75": 25, "data_90": 10, "expire_1": 40, "expire_3": 60}
EVENTS = (service.LOW_DATA, service.CREDIT_LIMIT, service.ASYNC_ORDER)


def _allowed_types(request: Request) -> tuple[str, ...]:
    v1 = request.url.path.startswith("/v1/")
    return service.V1_NOTIFICATION_TYPES if v1 else service.NOTIFICATION_TYPES


@router.post("/notifications/opt-in")
async def opt_in(
    request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> dict[str, Any]:
    """Subscribe to a notification type; a webhook URL must answer ``HEAD`` with 200 OK."""
    fields = Fields(await read_body(request))
    kind = fields.string("type", required=True, max_length=32)
    if kind is not None and kind not in _allowed_types(request):
        fields.fail("type", "The selected type is invalid.")
    contact: str | None = None
    levels: list[int] | None = None
    if kind and kind.startswith("email_"):
        contact = fields.email("email", required=True)
    elif kind:
        contact = fields.string("webhook_url", required=True, max_length=2000)
    language = fields.string("language", max_length=16)
    if kind and kind.endswith("credit_limit"):
        given = fields.string_list("levels")
        if given is not None:
            levels = []
            for index, level in enumerate(given):
                if str(level) not in {str(v) for v in service.CREDIT_LEVELS}:
                    fields.fail(f"levels.{index}", f"The selected levels.{index} is invalid.")
                else:
                    levels.append(int(level))
            levels = sorted(set(levels))
    fields.check()
    assert kind is not None
    assert contact is not None
    if not kind.startswith("email_"):
        try:
            await targets.answers_head(contact, runtime.settings)
        except targets.TargetRefused as exc:
            raise ValidationFailed({"webhook_url": str(exc)}) from None
    found = await service.opt_in(
        session,
        partner.id,
        kind=kind,
        contact_point=contact,
        language=language or ("en" if kind.startswith("email_") else None),
        levels=levels,
        at=runtime.clock.now(),
    )
    return {"data": {"notification": service.describe(found)}, "meta": SUCCESS}


@router.get("/notifications/opt-in")
async def get_opt_in(
    request: Request, session: SessionDep, partner: CurrentPartner, type: str | None = None
) -> dict[str, Any]:
    """Your subscription of ``type`` (or your newest one); 404 when there is none."""
    if type is not None and type not in _allowed_types(request):
        raise ValidationFailed({"type": "The selected type is invalid."})
    found = await service.subscription(session, partner.id, type)
    if found is None:
        raise NotFound()
    return {"data": {"notification": service.describe(found)}, "meta": SUCCESS}


@router.post("/notifications/opt-out", status_code=204)
async def opt_out(request: Request, session: SessionDep, partner: CurrentPartner) -> Response:
    """Unsubscribe from a notification type (204, also when not subscribed)."""
    fields = Fields(await read_body(request))
    kind = fields.string("type", required=True, max_length=32)
    if kind is not None and kind not in _allowed_types(request):
        fields.fail("type", "The selected type is invalid.")
    fields.check()
    assert kind is not None
    await service.opt_out(session, partner.id, kind)
    return Response(status_code=204)


# -- the simulator ----------------------------------------------------------------------------


@router.post("/simulator/webhook", dependencies=[endpoint_limit("simulator", client_ip)])
async def simulate_webhook(
    request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> Response:
    """Send a mock webhook of any documented kind, now, to the opted-in URL or ``webhook_url``."""
    body = await read_body(request)
    fields = Fields(body)
    event = fields.string("event", required=True, max_length=64)
    if event is not None and event not in EVENTS:
        fields.fail("event", "Event must be one of: " + ", ".join(EVENTS))
    kind = level = None
    if event == service.LOW_DATA:
        kind = fields.string("type", required=True, max_length=16)
        if kind is not None and kind not in SIMULATED_LEVELS:
            fields.fail("type", "Type must be one of: " + ", ".join(SIMULATED_LEVELS))
    if event == service.CREDIT_LIMIT:
        level = fields.integer("level", required=True)
        if level is not None and level not in service.CREDIT_LEVELS:
            fields.fail("level", "Level must be one of: 50, 70, 80, 90")
    iccid = fields.string("iccid", max_length=22)
    webhook_url = fields.string("webhook_url", max_length=2000)
    fields.check()
    assert event is not None
    url = webhook_url
    if url is None:
        found = await service.subscription(session, partner.id, service.WEBHOOK_TYPES[event])
        if found is None:
            email_type = service.EMAIL_TYPES.get(event)
            if email_type and await service.subscription(session, partner.id, email_type):
                return JSONResponse({"error": "User is not configured for webhook push"}, 400)
            return JSONResponse({"error": "User is not opted in"}, 400)
        url = found.contact_point
    iccid = iccid or profiles.generated_iccid("8999", random.randrange(10**9), 1)
    if event == service.LOW_DATA:
        assert kind is not None
        sim = await sims_repository.by_iccid(session, partner.id, iccid)
        packages = await sims_repository.packages_of(session, sim.id) if sim else []
        payload: dict[str, Any] = {
            "level": SIMULATED_LEVELS[kind],
            "package_name": packages[-1].package_id if packages else "kallur-digital-7days-1gb",
            "remaining_percentage": SIMULATED_REMAINING[kind],
            "iccid": iccid,
        }
    elif event == service.CREDIT_LIMIT:
        account = await session.get(Partner, partner.id)
        limit = account.credit_limit_cents if account else 0
        available = await ledger.balance_cents(session, partner.id) + limit
        payload = {
            "message": f"Surpassed {level}% of the credit limit balance",
            "remaining": wire_number(max(available, 0)),
        }
    else:
        payload = _sample_async_order(runtime, iccid)
    if await _push(runtime, partner.id, event, payload, url):
        return JSONResponse({"success": "Notification sent"})
    return JSONResponse({"error": f"Could not push data to {url}"}, 400)


async def _push(
    runtime: Runtime, partner_id: int, kind: str, payload: dict[str, Any], url: str
) -> bool:
    """One immediate, recorded delivery attempt (not retried: the simulator answers now)."""
    now = runtime.clock.now()
    async with runtime.sessionmaker() as session, session.begin():
        event = OutboxEvent(
            event_id=event_id(),
            partner_id=partner_id,
            kind=kind,
            dedupe_key=f"simulator:{event_id()}",
            payload=payload,
            status="pending",
            due_at=now,
            created_at=now,
            target_url=url,
            attempts=0,
            leased_until=now + timedelta(seconds=runtime.settings.webhook_lease_seconds),
        )
        session.add(event)
    settings = runtime.settings
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
        (status,) = await service.deliver(
            runtime.sessionmaker, settings, runtime.clock, client, [event.id]
        )
    if status == "pending":  # a failed attempt: the simulator does not retry
        async with runtime.sessionmaker() as session, session.begin():
            stored = await session.get(OutboxEvent, event.id)
            if stored is not None:
                stored.status = "failed"
    return status == "delivered"


def _sample_async_order(runtime: Runtime, iccid: str) -> dict[str, Any]:
    """A made-up completed order, shaped like the real async-order webhook."""
    now = runtime.clock.now()
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    matching = profiles.matching_id()
    smdp = runtime.settings.smdp_address
    return {
        "data": {
            "id": 0,
            "code": f"{now:%Y%m%d}-000000",
            "currency": "USD",
            "package_id": "kallur-digital-7days-1gb",
            "quantity": 1,
            "type": "sim",
            "description": "Webhook simulator",
            "esim_type": "Prepaid",
            "validity": 7,
            "package": "Kallur Digital-1 GB - 7 Days",
            "data": "1 GB",
            "price": 5,
            "pricing_model": "net_pricing",
            "created_at": stamp,
            "text": None,
            "voice": None,
            "net_price": 4,
            "sims": [
                {
                    "id": 0,
                    "created_at": stamp,
                    "iccid": iccid,
                    "lpa": smdp,
                    "matching_id": matching,
                    "qrcode": profiles.lpa_string(smdp, matching),
                    "airalo_code": None,
                    "apn_type": "automatic",
                    "apn_value": None,
                    "is_roaming": True,
                    "confirmation_code": None,
                }
            ],
        },
        "meta": {"message": "success"},
        "request_id": request_id(),
    }
