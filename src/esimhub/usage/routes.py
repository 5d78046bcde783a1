"""``GET /sims/{sim_iccid}/usage`` and ``GET /sims/{iccid}/packages``, and the polling limit
they share."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.auth.schemas import pricing
from esimhub.db import ReaderDep, SessionDep, transaction
from esimhub.deps import ClockDep, SessionmakerDep, SettingsDep
from esimhub.limits import POLL_RULES, enforce
from esimhub.usage import schemas, service
from esimhub.usage.cache import UsageCache

router = APIRouter(tags=["esims"])


async def usage_cache(request: Request) -> UsageCache:
    cache: UsageCache = request.app.state.runtime.usage_cache
    return cache


UsageCacheDep = Annotated[UsageCache, Depends(usage_cache)]


def poll_limit(endpoint: str) -> Any:
    """The usage polling limit of ESIMHUB_USAGE_POLL_POLICY, decided before any database work."""

    async def dependency(request: Request, partner: CurrentPartner) -> None:
        rules = POLL_RULES[request.app.state.runtime.settings.usage_poll_policy][endpoint]
        if not rules:
            return
        iccid = request.path_params.get("sim_iccid") or request.path_params.get("iccid", "")
        checks = [
            (
                f"{endpoint}:{partner.id}:{iccid}"
                if scope == "sim"
                else f"{endpoint}:{partner.id}",
                rule,
            )
            for scope, rule in rules
        ]
        await enforce(request, checks)

    return Depends(dependency)


@router.get("/sims/{sim_iccid}/usage", dependencies=[poll_limit("usage")])
async def sim_usage(
    sim_iccid: str,
    request: Request,
    reader: ReaderDep,
    sessionmaker: SessionmakerDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    cache: UsageCacheDep,
) -> Response:
    """Data, voice and text left on the eSIM's current package (v1: data only)."""
    v1 = request.url.path.startswith("/v1/")
    now = clock.now()
    cache_key = f"{partner.id}:{sim_iccid}:{'v1' if v1 else 'v2'}"
    max_age = 0
    if settings.usage_poll_policy == "current":
        sandbox = partner.is_sandbox
        max_age = settings.sandbox_usage_cache_seconds if sandbox else settings.usage_cache_seconds
        cached = await cache.get(cache_key, now, max_age)
        if cached is not None:
            return Response(cached, media_type="application/json")
    async with reader.connect() as connection:
        report = await service.usage_if_settled(connection, partner.id, sim_iccid, now)
    if report is None:  # something is due: settle it (and record its alerts) first
        async with transaction(sessionmaker) as session:
            report = await service.usage(session, partner.id, sim_iccid, now)
    body = schemas.usage_body(report, with_voice=not v1)
    await cache.put(cache_key, body, now, max_age)
    return Response(body, media_type="application/json")


@router.get("/sims/{iccid}/packages", dependencies=[poll_limit("history")])
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
