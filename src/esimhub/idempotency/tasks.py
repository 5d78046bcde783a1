"""Idempotency work that owns its transaction: forgetting expired keys (the worker)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.config import Settings
from esimhub.idempotency import service
from esimhub.kit.clock import Clock


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> None:
    async with db.transaction(sessionmaker) as session:
        await service.purge(session, settings=settings, clock=clock)
