"""``Idempotency-Key`` on money-moving POSTs: a retried request gets the first answer back.

The key is looked up after the partner is locked, so two requests with one key cannot both run.
Only successful answers are stored: a request that failed (validation, insufficient credit) left
nothing behind, and the client may fix the cause and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.config import Settings
from esimhub.errors import MessageError, ValidationFailed
from esimhub.idempotency import repository
from esimhub.kit.clock import Clock
from esimhub.ledger import service as ledger
from esimhub.models import IdempotencyKey

HEADER = "Idempotency-Key"


class IdempotencyConflict(MessageError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used with a different request; "
            "send a new key for a new request.",
            409,
        )


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: Any
    replayed: bool = False


def fingerprint(method: str, path: str, body: Any) -> str:
    """The request as the key remembers it: method, path (v1 and v2 alike) and parsed body."""
    route = path.split("/", 2)[-1] if path.startswith(("/v1/", "/v2/")) else path
    canonical = json.dumps([method.upper(), route, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run(
    session: AsyncSession,
    partner_id: int,
    *,
    key: str | None,
    request_fingerprint: str,
    settings: Settings,
    clock: Clock,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> Outcome:
    """Run ``work`` once per key; later calls with the key replay its stored answer."""
    if key is None:
        status_code, body = await work()
        return Outcome(status_code, body)
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed({"idempotency_key": "The Idempotency-Key must be 1-255 characters."})
    await ledger.lock(session, partner_id)
    now = clock.now()
    stored = await repository.idempotency_key(session, partner_id, key)
    if stored is not None and stored.created_at < now - timedelta(
        hours=settings.idempotency_key_hours
    ):
        await session.delete(stored)
        await session.flush()
        stored = None
    if stored is not None:
        if stored.fingerprint != request_fingerprint:
            raise IdempotencyConflict()
        return Outcome(stored.status_code, json.loads(stored.response_body), replayed=True)
    status_code, body = await work()
    session.add(
        IdempotencyKey(
            partner_id=partner_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=status_code,
            response_body=json.dumps(body, separators=(",", ":")),
            created_at=now,
        )
    )
    return Outcome(status_code, body)


async def purge(session: AsyncSession, *, settings: Settings, clock: Clock) -> None:
    """Forget keys older than ``ESIMHUB_IDEMPOTENCY_KEY_HOURS``."""
    cutoff = clock.now() - timedelta(hours=settings.idempotency_key_hours)
    await repository.delete_older_than(session, cutoff)
