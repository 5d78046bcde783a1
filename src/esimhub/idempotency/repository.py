"""SQL of idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import IdempotencyKey


async def idempotency_key(
    session: AsyncSession, partner_id: int, key: str
) -> IdempotencyKey | None:
    query = select(IdempotencyKey).where(
        IdempotencyKey.partner_id == partner_id, IdempotencyKey.key == key
    )
    return (await session.scalars(query)).first()


async def delete_older_than(session: AsyncSession, cutoff: datetime) -> None:
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
