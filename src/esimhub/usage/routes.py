"""``GET /sims/{sim_iccid}/usage`` and ``GET /sims/{iccid}/packages``, and the polling limit
they share.

Usage is the hottest path of the API (one poll per eSIM per 15 minutes, for every eSIM a partner
sold), so the Edge answers it without the router: ``answer_usage_at_edge`` runs the same steps as
the route (the partner, the polling limit, the cache, one read) and hands the request to the
route only when the eSIM has something due to settle first.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from esimhub.auth.dependencies import CurrentPartner, current_partner
from esimhub.auth.directory import PartnerPrincipal
from esimhub.auth.schemas import pricing
from esimhub.db import SessionDep, transaction
from esimhub.deps import ClockDep
from esimhub.errors import send_answer
from esimhub.kit import wire
from esimhub.limits import POLL_RULES, enforce
from esimhub.usage import schemas, service

router = APIRouter(tags=["esims"])

# Set in the request's state once its poll has been counted (by the Edge), so the route, which
# then finishes the answer, does not count it twice.
POLL_COUNTED = "usage_poll_counted"
USAGE_PATH = re.compile(r"/(v[12])/sims/([^/]+)/usage")


async def count_poll(request: Request, partner: PartnerPrincipal, endpoint: str) -> None:
    """The usage polling limit of ESIMHUB_USAGE_POLL_POLICY (429 when exhausted), decided
    before any database work."""
    if request.scope.get("state", {}).get(POLL_COUNTED):
        return
    rules = POLL_RULES[request.app.state.runtime.settings.usage_poll_policy][endpoint]
    if not rules:
        return
    iccid = request.path_params.get("sim_iccid") or request.path_params.get("iccid", "")
    checks = [
        (f"{endpoint}:{partner.id}:{iccid}" if scope == "sim" else f"{endpoint}:{partner.id}", rule)
        for scope, rule in rules
    ]
    await enforce(request, checks)


def poll_limit(endpoint: str) -> Any:
    async def dependency(request: Request, partner: CurrentPartner) -> None:
        await count_poll(request, partner, endpoint)

    return Depends(dependency)


async def settled_usage(request: Request, partner: PartnerPrincipal, iccid: str) -> bytes | None:
    """The usage body from the cache (policy "current") or from one read; ``None`` when the
    eSIM has something due (an expiry, an alert, recycling) that a transaction must settle."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    now = runtime.clock.now()
    version = "v1" if request.scope["path"].startswith("/v1/") else "v2"
    cache_key = f"{partner.id}:{iccid}:{version}"
    max_age = 0
    if settings.usage_poll_policy == "current":
        sandbox = partner.is_sandbox
        max_age = settings.sandbox_usage_cache_seconds if sandbox else settings.usage_cache_seconds
        cached: bytes | None = await runtime.usage_cache.get(cache_key, now, max_age)
        if cached is not None:
            return cached
    report = await service.usage_if_settled(runtime.engine, partner.id, iccid, now)
    if report is None:
        return None
    body = schemas.usage_body(report, with_voice=version == "v2")
    await runtime.usage_cache.put(cache_key, body, now, max_age)
    return body


@router.get(
    "/sims/{sim_iccid}/usage",
    dependencies=[poll_limit("usage")],
    **wire.answers(schemas.UsageResponse),
)
async def sim_usage(
    sim_iccid: str, request: Request, partner: CurrentPartner, clock: ClockDep
) -> Response:
    """Data, voice and text left on the eSIM's current package (v1: data only)."""
    body = await settled_usage(request, partner, sim_iccid)
    if body is None:  # something is due: settle it (and record its alerts) first
        async with transaction(request.app.state.runtime.sessionmaker) as session:
            report = await service.usage(session, partner.id, sim_iccid, clock.now())
        body = schemas.usage_body(report, with_voice=not request.scope["path"].startswith("/v1/"))
    return Response(body, media_type="application/json")


USAGE_ROUTE = router.routes[-1]  # the route just declared


async def answer_usage_at_edge(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer ``GET /v{1,2}/sims/{sim_iccid}/usage`` as the route would, without the router and
    the dependency machinery; ``False`` when the route must answer (the eSIM has something due,
    or the request is not a usage poll)."""
    found = USAGE_PATH.fullmatch(scope["path"]) if scope["method"] == "GET" else None
    if found is None:
        return False
    scope["route"] = USAGE_ROUTE  # for the metrics' route label
    scope["path_params"] = {"sim_iccid": found[2]}
    request = Request(scope, receive)

    async def answer() -> Response | None:
        partner = await current_partner(request)
        await count_poll(request, partner, "usage")
        body = await settled_usage(request, partner, found[2])
        if body is None:
            scope.setdefault("state", {})[POLL_COUNTED] = True
            return None
        return Response(body, media_type="application/json")

    return await send_answer(scope, receive, send, answer())


@router.get(
    "/sims/{iccid}/packages",
    dependencies=[poll_limit("history")],
    **wire.answers(schemas.PackageHistoryResponse),
)
async def sim_package_history(
    iccid: str, session: SessionDep, partner: CurrentPartner, clock: ClockDep
) -> dict[str, Any]:
    """The eSIM's packages: the original purchase and each top-up, with their status."""
    history = await service.package_history(session, partner.id, iccid, clock.now())
    net = not partner.uses_discount_pricing
    return {
        "pricing": pricing(partner),
        "data": [schemas.history_item(item, net=net) for item in history],
    }
