"""``GET /sims/{sim_iccid}/usage``, and the polling limit it shares with package history."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.db import SessionDep
from esimhub.kit.clock import format_datetime
from esimhub.limits import POLL_RULES, enforce
from esimhub.runtime import RuntimeDep
from esimhub.usage import lifecycle
from esimhub.usage import service as usage

router = APIRouter(tags=["esims"])

# sic: Airalo's usage endpoint answers with this untranslated, misspelt key
USAGE_META = {"message": "api.succes"}


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


def usage_data(report: lifecycle.Report, *, with_voice: bool) -> dict[str, Any]:
    """The ``data`` object: MB, minutes and SMS of the package the status describes."""
    package = report.package
    if package is None:  # RECYCLED or UNKNOWN: zeros and nulls, as Airalo's recycled example
        data: dict[str, Any] = {
            "remaining": 0,
            "total": 0,
            "expired_at": None,
            "is_unlimited": None,
            "status": report.status,
        }
        voice = {"remaining_voice": 0, "remaining_text": 0, "total_voice": 0, "total_text": 0}
    else:
        data = {
            "remaining": lifecycle.remaining_mb(package),
            "total": 0 if package.is_unlimited else package.amount_mb,
            "expired_at": format_datetime(package.expired_at) if package.expired_at else None,
            "is_unlimited": package.is_unlimited,
            "status": report.status,
        }
        voice = {
            "remaining_voice": lifecycle.remaining_voice(package),
            "remaining_text": lifecycle.remaining_text(package),
            "total_voice": package.voice_minutes or 0,
            "total_text": package.sms or 0,
        }
    return {**data, **voice} if with_voice else data


@router.get("/sims/{sim_iccid}/usage", dependencies=[poll_limit("usage")])
async def sim_usage(
    sim_iccid: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
) -> Response:
    """Data, voice and text left on the eSIM's current package (v1: data only)."""
    v1 = request.url.path.startswith("/v1/")
    now = runtime.clock.now()
    cache_key = f"{partner.id}:{sim_iccid}:{'v1' if v1 else 'v2'}"
    settings = runtime.settings
    max_age = 0
    if settings.usage_poll_policy == "current":
        sandbox = partner.is_sandbox
        max_age = settings.sandbox_usage_cache_seconds if sandbox else settings.usage_cache_seconds
        cached = await runtime.usage_cache.get(cache_key, now, max_age)
        if cached is not None:
            return Response(cached, media_type="application/json")
    report = await usage.usage(session, partner.id, sim_iccid, now)
    body = json.dumps(
        {"data": usage_data(report, with_voice=not v1), "meta": USAGE_META},
        separators=(",", ":"),
    ).encode()
    await runtime.usage_cache.put(cache_key, body, now, max_age)
    return Response(body, media_type="application/json")
