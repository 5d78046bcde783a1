"""Admin API under ``/admin/v1``: the same services the CLI calls, for remote operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from esimhub.admin.dependencies import AdminAccess
from esimhub.auth import service as auth
from esimhub.auth.schemas import partner_summary
from esimhub.catalogue import service as catalogue
from esimhub.db import SessionDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.kit.money import to_cents
from esimhub.runtime import RuntimeDep

router = APIRouter(prefix="/admin/v1", tags=["admin"])


class PartnerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    balance: str = "0"
    credit_limit: str = "0"
    sandbox: bool = False
    discount_percentage: int | None = Field(default=None, ge=0, le=100)


class AllowlistIn(BaseModel):
    entries: list[str] = Field(min_length=1)
    replace: bool = False


def _cents(value: str, field: str) -> int:
    try:
        cents = to_cents(value)
    except ValueError:
        raise ValidationFailed(
            {field: f"The {field.replace('_', ' ')} must be a number."}
        ) from None
    if cents < 0:
        raise ValidationFailed({field: f"The {field.replace('_', ' ')} must be at least 0."})
    return cents


@router.get("/partners")
async def list_partners(_: AdminAccess, session: SessionDep) -> dict[str, Any]:
    """Every partner with its balance."""
    rows = await auth.list_partners(session)
    return {"data": [partner_summary(p, balance) for p, balance in rows]}


@router.post("/partners", status_code=201)
async def create_partner(
    body: PartnerIn, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Create a partner; the response is the only place its client secret appears."""
    created = await auth.create_partner(
        session,
        settings=runtime.settings,
        clock=runtime.clock,
        name=body.name,
        balance_cents=_cents(body.balance, "balance"),
        credit_limit_cents=_cents(body.credit_limit, "credit_limit"),
        sandbox=body.sandbox,
        pricing_model="net_pricing" if body.discount_percentage is None else "discount_pricing",
        discount_percentage=body.discount_percentage or 0,
    )
    return {"data": {"client_id": created.client_id, "client_secret": created.client_secret}}


@router.post("/partners/{client_id}/rotate-secret")
async def rotate_secret(
    client_id: str, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """A new client secret; tokens issued before stop working."""
    try:
        rotated = await auth.rotate_secret(session, settings=runtime.settings, client_id=client_id)
    except auth.PartnerNotFound:
        raise NotFound() from None
    runtime.partners.forget(rotated.partner.id)
    return {"data": {"client_id": rotated.client_id, "client_secret": rotated.client_secret}}


@router.post("/partners/{client_id}/ip-allowlist")
async def allow_ip(
    client_id: str, body: AllowlistIn, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Add (or replace) allowed addresses and CIDR ranges."""
    try:
        entries = await auth.set_ip_allowlist(
            session, client_id=client_id, entries=body.entries, replace=body.replace
        )
    except auth.PartnerNotFound:
        raise NotFound() from None
    except ValueError as exc:
        raise ValidationFailed({"entries": str(exc)}) from None
    return {"data": {"ip_allowlist": entries}}


@router.put("/catalogue")
async def import_catalogue(
    request: Request, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Replace the catalogue with a ``GET /v2/packages`` body (all or nothing)."""
    try:
        document = await request.json()
        summary = await catalogue.import_catalogue(session, clock=runtime.clock, document=document)
    except ValueError as exc:  # bad JSON or CatalogueImportError
        raise ValidationFailed({"catalogue": str(exc)}) from None
    runtime.catalogue.invalidate()
    return {
        "data": {
            "version": summary.version,
            "destinations": summary.destinations,
            "operators": summary.operators,
            "packages": summary.packages,
        }
    }


@router.get("/catalogue")
async def export_catalogue(
    request: Request, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The catalogue as a full ``GET /v2/packages`` body."""
    base = (runtime.settings.public_base_url or str(request.base_url)).rstrip("/")
    return await catalogue.export_catalogue(session, clock=runtime.clock, base_url=base)
