"""Notifications opt-in and opt-out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.deps import ClockDep, SettingsDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.kit import wire
from esimhub.kit.envelope import ok
from esimhub.kit.forms import read_body
from esimhub.kit.validation import Fields
from esimhub.notifications import schemas, service, targets
from esimhub.notifications.payloads import CREDIT_LEVELS

router = APIRouter(tags=["notifications"])


def _allowed_types(request: Request) -> tuple[str, ...]:
    v1 = request.url.path.startswith("/v1/")
    return schemas.V1_NOTIFICATION_TYPES if v1 else schemas.NOTIFICATION_TYPES


@router.post(
    "/notifications/opt-in",
    openapi_extra=wire.request_body(schemas.OptInBody),
    **wire.answers(schemas.SubscriptionResponse),
)
async def opt_in(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
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
        contact = fields.webhook_url(required=True)
    language = fields.string("language", max_length=16)
    given = fields.string_list("levels")  # checked whatever the type, kept for credit limits
    if given is not None:
        chosen = []
        for index, level in enumerate(given):
            if str(level) not in {str(v) for v in CREDIT_LEVELS}:
                fields.fail(f"levels.{index}", f"The selected levels.{index} is invalid.")
            else:
                chosen.append(int(level))
        if kind and kind.endswith("credit_limit"):
            levels = sorted(set(chosen))
    fields.check()
    assert kind is not None
    assert contact is not None
    if not kind.startswith("email_"):
        try:
            await targets.answers_head(contact, settings)
        except targets.TargetRefused as exc:
            raise ValidationFailed({"webhook_url": str(exc)}) from None
    found = await service.opt_in(
        session,
        partner.id,
        kind=kind,
        contact_point=contact,
        language=language or ("en" if kind.startswith("email_") else None),
        levels=levels,
        at=clock.now(),
    )
    return ok({"notification": schemas.describe(found)})


@router.get(
    "/notifications/opt-in",
    **wire.answers(
        schemas.SubscriptionResponse,
        responses={404: {"model": wire.MessageBody, "description": "Not subscribed"}},
    ),
)
async def get_opt_in(
    request: Request, session: SessionDep, partner: CurrentPartner, type: str | None = None
) -> dict[str, Any]:
    """Your subscription of ``type`` (or your newest one); 404 when there is none."""
    if type and type not in _allowed_types(request):
        raise ValidationFailed({"type": "The selected type is invalid."})
    found = await service.subscription(session, partner.id, type or None)
    if found is None:
        raise NotFound()
    return ok({"notification": schemas.describe(found)})


@router.post(
    "/notifications/opt-out",
    status_code=204,
    openapi_extra=wire.request_body(schemas.OptOutBody),
    responses={204: {"description": "Unsubscribed (also when not subscribed)"}},
)
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
