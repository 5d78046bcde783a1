"""SQL every area shares: claiming rows of a table used as a queue (outbox events, scheduled
orders, mail)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def claim(
    session: AsyncSession,
    model: Any,
    condition: ColumnElement[bool],
    *,
    order_by: Sequence[Any],
    limit: int,
    values: dict[str, Any],
) -> list[int]:
    """Mark up to ``limit`` rows matching ``condition`` with ``values``; their ids.

    PostgreSQL takes the rows with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers get
    disjoint sets without waiting; SQLite's single writer serialises claims. The condition is
    repeated on the UPDATE so a row changed since the subquery read it is not taken. An idle
    queue costs one read, no write.
    """
    if await session.scalar(select(model.id).where(condition).limit(1)) is None:
        return []
    due = (
        select(model.id)
        .where(condition)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(model)
        .where(model.id.in_(due.scalar_subquery()), condition)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


async def lease(
    session: AsyncSession,
    model: Any,
    ready: ColumnElement[bool],
    *,
    now: datetime,
    seconds: int,
    limit: int,
) -> list[int]:
    """Lease due rows (``due_at`` passed, no live lease) that are ``ready`` to this worker for
    ``seconds``; a worker that dies holding them lets them go when the lease ends."""
    condition = (
        ready & (model.due_at <= now) & or_(model.leased_until.is_(None), model.leased_until < now)
    )
    return await claim(
        session,
        model,
        condition,
        order_by=(model.due_at, model.id),
        limit=limit,
        values={"leased_until": now + timedelta(seconds=seconds)},
    )
