"""Admin API under ``/admin/v1``: the same services the CLI calls, for remote operators.

A surface like the CLI: it parses, calls one service (or task) and renders, for several areas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from esimhub.auth import service as auth
from esimhub.auth.dependencies import AdminAccess
from esimhub.auth.schemas import partner_summary
from esimhub.catalogue import service as catalogue
from esimhub.clock.service import ClockBackwards
from esimhub.clock.tasks import move_and_settle
from esimhub.db import SessionDep
from esimhub.deps import BaseUrl, ClockDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.kit.clock import parse_duration
from esimhub.kit.forms import parse_json, read_body
from esimhub.kit.money import to_cents
from esimhub.kit.statuses import PricingModel
from esimhub.ledger import service as ledger
from esimhub.network import service as network
from esimhub.notifications import schemas as notification_schemas
from esimhub.notifications import service as notifications
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
    rows = await ledger.partners_with_balances(session)
    return {"data": [partner_summary(p, balance) for p, balance in rows]}


@router.post("/partners", status_code=201)
async def create_partner(
    body: PartnerIn, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Create a partner; the response is the only place its client secret appears."""
    created = await ledger.open_account(
        session,
        settings=runtime.settings,
        clock=runtime.clock,
        name=body.name,
        balance_cents=_cents(body.balance, "balance"),
        credit_limit_cents=_cents(body.credit_limit, "credit_limit"),
        sandbox=body.sandbox,
        pricing_model=PricingModel.NET
        if body.discount_percentage is None
        else PricingModel.DISCOUNT,
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
        document = parse_json(await request.body())
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
    _: AdminAccess, session: SessionDep, clock: ClockDep, base: BaseUrl
) -> dict[str, Any]:
    """The catalogue as a full ``GET /v2/packages`` body."""
    return await catalogue.export_catalogue(session, clock=clock, base_url=base)


class OverrideIn(BaseModel):
    price: str | None = None
    net_price: str | None = None
    hidden: bool = False


async def _partner_id(session: SessionDep, client_id: str) -> int:
    try:
        return (await auth.require_partner(session, client_id)).id
    except auth.PartnerNotFound:
        raise NotFound() from None


@router.get("/partners/{client_id}/package-overrides")
async def list_overrides(client_id: str, _: AdminAccess, session: SessionDep) -> dict[str, Any]:
    """The partner's own terms for packages, by package id."""
    partner_id = await _partner_id(session, client_id)
    found = await catalogue.overrides(session, partner_id)
    return {"data": [catalogue.override_item(o) for o in found]}


@router.put("/partners/{client_id}/package-overrides/{package_id}")
async def set_override(
    client_id: str,
    package_id: str,
    body: OverrideIn,
    _: AdminAccess,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Give the partner its own price and/or net price for a package, or hide it from it."""
    partner_id = await _partner_id(session, client_id)
    terms = catalogue.OverrideTerms(
        price_cents=None if body.price is None else _cents(body.price, "price"),
        net_price_cents=None if body.net_price is None else _cents(body.net_price, "net_price"),
        hidden=body.hidden,
    )
    try:
        override = await catalogue.set_override(
            session, clock=runtime.clock, partner_id=partner_id, package_id=package_id, terms=terms
        )
    except catalogue.OverrideRefused as exc:
        raise ValidationFailed({exc.field: str(exc)}) from None
    runtime.catalogue.invalidate()
    return {"data": catalogue.override_item(override)}


@router.delete("/partners/{client_id}/package-overrides/{package_id}")
async def clear_override(
    client_id: str, package_id: str, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Give the partner the catalogue's terms for a package again."""
    partner_id = await _partner_id(session, client_id)
    cleared = await catalogue.clear_override(
        session, clock=runtime.clock, partner_id=partner_id, package_id=package_id
    )
    if not cleared:
        raise NotFound()
    runtime.catalogue.invalidate()
    return {"data": {"package_id": package_id, "cleared": True}}


# -- usage feed, network, clock ---------------------------------------------------------------

MAX_USAGE_RECORDS = 1000


@router.post("/usage-records")
async def post_usage_records(
    request: Request, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """A batch of usage records from an operator's feed; each applied whole or rejected."""
    body = await read_body(request)
    records = body.get("records")
    if not isinstance(records, list):
        raise ValidationFailed({"records": "The records must be an array."})
    if len(records) > MAX_USAGE_RECORDS:
        raise ValidationFailed(
            {"records": f"The records may not have more than {MAX_USAGE_RECORDS} items."}
        )
    result = await network.ingest(session, records, runtime.clock.now())
    return {
        "data": {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
        }
    }


class NetworkEventIn(BaseModel):
    iccid: str = Field(min_length=1, max_length=22)
    country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")


@router.post("/network/{event}")
async def network_event(
    event: str, body: NetworkEventIn, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """What the network saw: ``install`` (profile downloaded) or ``attach`` (registered)."""
    now = runtime.clock.now()
    try:
        if event == "install":
            state = await network.install(session, body.iccid, now)
        elif event == "attach":
            state = await network.attach(session, body.iccid, now, body.country)
        else:
            raise NotFound()
    except network.NetworkError as exc:
        raise ValidationFailed({"iccid": str(exc)}) from None
    return {"data": {"iccid": state.sim.iccid, "status": state.report().status}}


class ClockMoveIn(BaseModel):
    by: str | None = None  # a duration: 3d, 15m, 1d12h
    now: datetime | None = None


def _clock_body(runtime: RuntimeDep, settled: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "now": runtime.clock.now().isoformat(),
        "offset_seconds": runtime.clock.offset.total_seconds(),
        "movable": runtime.settings.clock_control_enabled,
    }
    if settled is not None:
        data["settled_esims"] = settled
    return {"data": data}


@router.get("/clock")
async def get_clock(_: AdminAccess, runtime: RuntimeDep) -> dict[str, Any]:
    """The system clock and how far it has been moved from real time."""
    await runtime.clock_sync.refresh()
    return _clock_body(runtime)


@router.post("/clock")
async def move_clock(body: ClockMoveIn, _: AdminAccess, runtime: RuntimeDep) -> dict[str, Any]:
    """Move the sandbox clock forward (``by`` a duration or to ``now``); time-driven effects
    (expiry, thresholds, recycling) follow at once."""
    how: dict[str, Any] = {}
    try:
        if body.now is not None:
            if body.now.tzinfo is None:
                raise ValueError("now needs a time zone (e.g. 2027-01-01T00:00:00Z)")
            how["to"] = body.now
        elif body.by is not None:
            how["by"] = parse_duration(body.by)
        else:
            raise ValueError("give by (a duration such as 3d) or now (a timestamp)")
        moved = await move_and_settle(
            runtime.settings, runtime.clock, runtime.sessionmaker, sync=runtime.clock_sync, **how
        )
    except (ValueError, ClockBackwards) as exc:
        raise ValidationFailed({"clock": str(exc)}) from None
    return _clock_body(runtime, moved[1])


@router.delete("/clock")
async def reset_clock(_: AdminAccess, runtime: RuntimeDep) -> dict[str, Any]:
    """Back to real time (effects already applied stay)."""
    moved = await move_and_settle(
        runtime.settings, runtime.clock, runtime.sessionmaker, sync=runtime.clock_sync, reset=True
    )
    return _clock_body(runtime, moved[1])


# -- webhooks ---------------------------------------------------------------------------------


@router.get("/webhooks")
async def list_webhooks(
    _: AdminAccess, session: SessionDep, status: str | None = None, limit: int = 100
) -> dict[str, Any]:
    """Outbox events, newest first, with their delivery status."""
    found = await notifications.events(session, status=status, limit=max(1, min(limit, 1000)))
    return {"data": [notification_schemas.event_summary(event) for event in found]}


async def _event(session: SessionDep, event_id: str) -> Any:
    event = await notifications.event_by_public_id(session, event_id)
    if event is None:
        raise NotFound()
    return event


@router.get("/webhooks/{event_id}")
async def show_webhook(event_id: str, _: AdminAccess, session: SessionDep) -> dict[str, Any]:
    """One event with every delivery attempt (status, response code, body, duration)."""
    event = await _event(session, event_id)
    return {
        "data": notification_schemas.event_summary(
            event, await notifications.deliveries(session, event)
        )
    }


@router.post("/webhooks/{event_id}/replay")
async def replay_webhook(
    event_id: str, _: AdminAccess, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Deliver an event again, at once (the worker picks it up)."""
    event = await _event(session, event_id)
    await notifications.replay(session, event, runtime.clock.now())
    return {"data": notification_schemas.event_summary(event)}
