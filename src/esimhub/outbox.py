"""The outbox: side effects written in the same transaction as the change that causes them.

The webhook worker delivers them; here they are only recorded, each once (``dedupe_key``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.models import OutboxEvent


def event_id() -> str:
    return secrets.token_hex(16)


async def emit(
    session: AsyncSession,
    *,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    partner_id: int | None,
    at: datetime,
    target_url: str | None = None,
) -> None:
    """Record an event unless one with the same ``dedupe_key`` exists (even if written just now
    by another process). ``target_url`` overrides the partner's subscription."""
    statement = (
        db.insert(session, OutboxEvent)
        .values(
            event_id=event_id(),
            partner_id=partner_id,
            kind=kind,
            dedupe_key=dedupe_key,
            payload=payload,
            status="pending",
            due_at=at,
            created_at=at,
            target_url=target_url,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    await session.execute(statement)
