"""The HTTP side of idempotency: a money-moving route's answer, stored or replayed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.config import Settings
from esimhub.idempotency import service
from esimhub.kit.clock import Clock

# The OpenAPI description of the optional header, for every route that honours it.
HEADER_PARAMETER = {
    "parameters": [
        {
            "name": service.HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Retries with the same key and body get the first answer back.",
        }
    ]
}


async def money_write(
    request: Request,
    session: AsyncSession,
    partner_id: int,
    *,
    settings: Settings,
    clock: Clock,
    body: dict[str, Any],
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    """Run ``work`` under the request's ``Idempotency-Key`` (if any) and answer its result."""
    outcome = await service.run(
        session,
        partner_id,
        key=request.headers.get(service.HEADER),
        request_fingerprint=service.fingerprint(request.method, request.url.path, body),
        settings=settings,
        clock=clock,
        work=work,
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)
