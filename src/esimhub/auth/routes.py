"""``POST /token``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from esimhub.auth import schemas, service
from esimhub.errors import send_answer
from esimhub.kit import wire
from esimhub.kit.forms import read_body
from esimhub.limits import ENDPOINT_RULES, client_ip, enforce

router = APIRouter(tags=["authentication"])


@router.post(
    "/token",
    response_model=schemas.TokenResponse,
    openapi_extra=wire.request_body(schemas.TokenRequest),
    responses={401: {"model": wire.MessageBody, "description": "Client authentication failed"}},
)
async def request_access_token(request: Request) -> JSONResponse:
    """Request an access token (client credentials grant)."""
    return await access_token(request)


TOKEN_ROUTE = router.routes[-1]  # the route just declared
TOKEN_PATHS = frozenset({"/v1/token", "/v2/token"})


async def answer_token_at_edge(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer ``POST /v{1,2}/token`` as the route does, without the router (a token request
    reads one row and writes nothing); ``False`` when the request is not for a token."""
    if scope["method"] != "POST" or scope["path"] not in TOKEN_PATHS:
        return False
    scope["route"] = TOKEN_ROUTE  # for the metrics' route label
    return await send_answer(scope, receive, send, access_token(Request(scope, receive)))


async def access_token(request: Request) -> JSONResponse:
    # The airalo-signature header that the official SDKs send is accepted and ignored.
    runtime = request.app.state.runtime
    settings = runtime.settings
    fields = await read_body(request)
    if settings.rate_limits:  # per client, as Airalo counts it (per IP without one)
        client = fields.get("client_id")
        key = f"token:{client if isinstance(client, str) and client else client_ip(request)}"
        await enforce(request, [(key, ENDPOINT_RULES["token"])])
    issued = await service.issue_access_token(
        runtime.engine,
        settings=settings,
        clock=runtime.clock,
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
