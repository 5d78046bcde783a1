"""Partners, their credentials and access tokens."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from esimhub.auth import repository, tokens
from esimhub.auth.directory import PartnerPrincipal
from esimhub.config import Settings
from esimhub.errors import (
    ClientAuthenticationFailed,
    EsimhubError,
    IpNotAllowed,
    ValidationFailed,
)
from esimhub.kit.clock import Clock
from esimhub.kit.statuses import PricingModel
from esimhub.kit.validation import nul_message
from esimhub.models import Partner

MAX_ALLOWLIST_ENTRIES = 100  # Airalo's documented allowlist size


class PartnerNotFound(EsimhubError):
    status_code = 404

    def __init__(self, client_id: str) -> None:
        super().__init__(f"no partner with client_id {client_id!r}")


@dataclass(frozen=True)
class Credentials:
    partner: Partner
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


async def create_partner(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    name: str,
    credit_limit_cents: int = 0,
    sandbox: bool = False,
    pricing_model: str = PricingModel.NET,
    discount_percentage: int = 0,
) -> Credentials:
    if credit_limit_cents < 0:
        raise ValueError("a credit limit cannot be negative")
    if pricing_model not in set(PricingModel):
        raise ValueError("pricing model is net_pricing or discount_pricing")
    salt = tokens.new_salt()
    secret = tokens.client_secret(settings.secret_key.get_secret_value(), salt)
    partner = Partner(
        name=name,
        client_id=tokens.new_client_id(),
        secret_hash=tokens.hash_secret(secret),
        secret_salt=salt,
        token_generation=1,
        is_sandbox=sandbox,
        is_active=True,
        credit_limit_cents=credit_limit_cents,
        pricing_model=pricing_model,
        discount_percentage=discount_percentage,
        ip_allowlist=[],
        created_at=clock.now(),
    )
    session.add(partner)
    await session.flush()
    return Credentials(partner=partner, client_id=partner.client_id, client_secret=secret)


async def partner_named(session: AsyncSession, name: str) -> Partner | None:
    return await repository.get_by_name(session, name)


async def require_partner(session: AsyncSession, client_id: str) -> Partner:
    partner = await repository.get_by_client_id(session, client_id)
    if partner is None:
        raise PartnerNotFound(client_id)
    return partner


async def rotate_secret(
    session: AsyncSession, *, settings: Settings, client_id: str
) -> Credentials:
    """A new secret; every token issued under the old one stops working."""
    partner = await require_partner(session, client_id)
    partner.secret_salt = tokens.new_salt()
    secret = tokens.client_secret(settings.secret_key.get_secret_value(), partner.secret_salt)
    partner.secret_hash = tokens.hash_secret(secret)
    partner.token_generation += 1
    return Credentials(partner=partner, client_id=partner.client_id, client_secret=secret)


async def set_ip_allowlist(
    session: AsyncSession, *, client_id: str, entries: Sequence[str], replace: bool = False
) -> list[str]:
    """Add (or with ``replace`` set) IPv4/IPv6 addresses and CIDR ranges; returns the list."""
    partner = await require_partner(session, client_id)
    parsed = []
    for entry in entries:
        try:
            parsed.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError as exc:
            raise ValueError(f"not an IP address or CIDR range: {entry!r}") from exc
    current = [] if replace else list(partner.ip_allowlist)
    merged = current + [p for p in parsed if p not in current]
    if len(merged) > MAX_ALLOWLIST_ENTRIES:
        raise ValueError(f"an allowlist holds at most {MAX_ALLOWLIST_ENTRIES} entries")
    partner.ip_allowlist = merged
    return merged


async def list_partners(session: AsyncSession) -> Sequence[Partner]:
    return await repository.list_all(session)


def _required(fields: dict[str, object], name: str, errors: dict[str, str]) -> str:
    value = fields.get(name)
    if value is None or value == "":
        errors[name] = f"The {name.replace('_', ' ')} field is required."
        return ""
    if not isinstance(value, str):
        errors[name] = f"The {name.replace('_', ' ')} must be a string."
        return ""
    if "\x00" in value:  # PostgreSQL cannot compare text holding NUL: refused on every backend
        errors[name] = nul_message(name)
        return ""
    return value


async def issue_access_token(
    engine: AsyncEngine,
    *,
    settings: Settings,
    clock: Clock,
    fields: dict[str, object],
    client_ip: str | None,
) -> IssuedToken:
    errors: dict[str, str] = {}
    client_id = _required(fields, "client_id", errors)
    client_secret = _required(fields, "client_secret", errors)
    # Live Airalo takes a token request without grant_type as client_credentials (some clients
    # never send it; docs/compatibility.md); any other value is refused.
    grant_type = fields.get("grant_type") or "client_credentials"
    if not isinstance(grant_type, str):
        errors["grant_type"] = "The grant type must be a string."
    elif grant_type != "client_credentials":
        errors["grant_type"] = "The selected grant type is invalid."
    if errors:
        raise ValidationFailed(errors)
    partner = await repository.credentials(engine, client_id)
    if partner is None or not partner.is_active:
        raise ValidationFailed({"client_id": "The selected client id is invalid."})
    if not tokens.secret_matches(client_secret, partner.secret_hash):
        raise ClientAuthenticationFailed()
    if not PartnerPrincipal.of(partner).ip_allowed(client_ip):
        raise IpNotAllowed()
    token = tokens.issue_token(
        settings.secret_key.get_secret_value(),
        partner_id=partner.id,
        client_id=partner.client_id,
        generation=partner.token_generation,
        now=clock.now(),
        lifetime=settings.token_lifetime_seconds,
    )
    return IssuedToken(access_token=token, expires_in=settings.token_lifetime_seconds)


async def set_credit_limit(
    session: AsyncSession, *, client_id: str, credit_limit_cents: int
) -> Partner:
    if credit_limit_cents < 0:
        raise ValueError("a credit limit is not negative")
    partner = await require_partner(session, client_id)
    partner.credit_limit_cents = credit_limit_cents
    return partner
