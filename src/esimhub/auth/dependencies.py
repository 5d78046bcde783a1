"""``CurrentPartner``: the partner behind the bearer token, checked against its IP allowlist;
``AdminAccess``: the operator behind the admin token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from esimhub.auth import tokens
from esimhub.auth.directory import PartnerDirectory, PartnerPrincipal
from esimhub.errors import IpNotAllowed, NotFound, Unauthenticated


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def current_partner(request: Request) -> PartnerPrincipal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated()
    runtime = request.app.state.runtime
    claims = tokens.read_token(
        runtime.settings.secret_key.get_secret_value(), token, now=runtime.clock.now()
    )
    if claims is None:
        raise Unauthenticated()
    partners: PartnerDirectory = runtime.partners
    partner = await partners.get(claims.partner_id)
    if partner is None or not partner.is_active or partner.token_generation != claims.generation:
        raise Unauthenticated()
    if not partner.ip_allowed(request.client.host if request.client else None):
        raise IpNotAllowed()
    request.state.partner_id = partner.id
    request.state.client_id = partner.client_id  # for the request's log line
    return partner


CurrentPartner = Annotated[PartnerPrincipal, Depends(current_partner)]


async def require_admin(request: Request) -> None:
    """The admin API answers only to ``Authorization: Bearer $ESIMHUB_ADMIN_TOKEN``."""
    configured = request.app.state.runtime.settings.admin_token
    if configured is None:
        raise NotFound()  # disabled: the admin API does not exist
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(
        token.encode(), configured.get_secret_value().encode()
    ):
        raise Unauthenticated()


AdminAccess = Annotated[None, Depends(require_admin)]
