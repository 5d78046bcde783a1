"""``CurrentPartner``: the partner behind the bearer token, checked against its IP allowlist."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from esimhub.auth import tokens
from esimhub.auth.directory import PartnerPrincipal
from esimhub.errors import IpNotAllowed, Unauthenticated
from esimhub.runtime import RuntimeDep


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def current_partner(request: Request, runtime: RuntimeDep) -> PartnerPrincipal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated()
    claims = tokens.read_token(
        runtime.settings.secret_key.get_secret_value(), token, now=runtime.clock.now()
    )
    if claims is None:
        raise Unauthenticated()
    partner = await runtime.partners.get(claims.partner_id)
    if partner is None or not partner.is_active or partner.token_generation != claims.generation:
        raise Unauthenticated()
    if not partner.ip_allowed(request.client.host if request.client else None):
        raise IpNotAllowed()
    request.state.partner_id = partner.id
    return partner


CurrentPartner = Annotated[PartnerPrincipal, Depends(current_partner)]
