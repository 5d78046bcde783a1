"""Wire shapes of the auth endpoints (for OpenAPI; responses are rendered as documented)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from esimhub.auth.directory import PartnerPrincipal
from esimhub.kit import wire
from esimhub.kit.clock import format_datetime
from esimhub.kit.money import wire_string
from esimhub.kit.statuses import PricingModel
from esimhub.models import Partner


class TokenData(BaseModel):
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int
    access_token: str


class TokenResponse(BaseModel):
    data: TokenData
    meta: wire.Meta


class TokenRequest(wire.RequestBody):
    client_id: wire.RequiredText
    client_secret: wire.RequiredText
    grant_type: Literal["client_credentials"] = Field(
        default="client_credentials", description="Optional: taken as client_credentials"
    )


def partner_summary(partner: Partner, balance_cents: int) -> dict[str, Any]:
    """A partner as the admin API and ``esimhub partner list --json`` show it (never its secret)."""
    return {
        "id": partner.id,
        "name": partner.name,
        "client_id": partner.client_id,
        "sandbox": partner.is_sandbox,
        "pricing_model": partner.pricing_model,
        "discount_percentage": partner.discount_percentage,
        "balance": wire_string(balance_cents),
        "credit_limit": wire_string(partner.credit_limit_cents),
        "ip_allowlist": partner.ip_allowlist,
    }


def user_dict(partner: PartnerPrincipal) -> dict[str, Any]:
    """The ordering user: Airalo keeps no end-user data, so this is the partner's company."""
    return {
        "id": partner.id,
        "created_at": format_datetime(partner.created_at),  # never null: clients parse it
        "name": partner.name,
        "email": None,
        "mobile": None,
        "address": None,
        "state": None,
        "city": None,
        "postal_code": None,
        "country_id": None,
        "company": partner.name,
    }


def pricing(partner: PartnerPrincipal) -> dict[str, Any]:
    if partner.uses_discount_pricing:
        return {"model": PricingModel.DISCOUNT, "discount_percentage": partner.discount_percentage}
    return {"model": PricingModel.NET, "discount_percentage": 0}
