"""``POST /token``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from esimhub.auth import schemas, service
from esimhub.db import SessionDep
from esimhub.deps import ClockDep, SettingsDep
from esimhub.kit.forms import read_body
from esimhub.limits import ENDPOINT_RULES, client_ip, enforce

router = APIRouter(tags=["authentication"])

_TOKEN_BODY = {
    "required": True,
    "content": {
        media: {"schema": schemas.TokenRequest.model_json_schema()}
        for media in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/json",
        )
    },
}


@router.post(
    "/token",
    response_model=schemas.TokenResponse,
    openapi_extra={"requestBody": _TOKEN_BODY},
    responses={401: {"description": "Client authentication failed"}, 422: {}},
)
async def request_access_token(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> JSONResponse:
    """Request an access token (client credentials grant)."""
    # The airalo-signature header that the official SDKs send is accepted and ignored.
    fields = await read_body(request)
    if settings.rate_limits:  # per client, as Airalo counts it (per IP without one)
        client = fields.get("client_id")
        key = f"token:{client if isinstance(client, str) and client else client_ip(request)}"
        await enforce(request, [(key, ENDPOINT_RULES["token"])])
    issued = await service.issue_access_token(
        session,
        settings=settings,
        clock=clock,
        fields=fields,
        client_ip=request.client.host if request.client else None,
    )
    # a response, not a dict: the body is built here, not validated again against the model
    return JSONResponse(
        {
            "data": {
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "access_token": issued.access_token,
            },
            "meta": {"message": "success"},
        }
    )
