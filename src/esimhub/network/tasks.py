"""Network work that owns its transactions: the traffic generator's one transaction per burst."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.network import service
from esimhub.usage.lifecycle import SimState


async def newest_sold_iccids(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> list[str]:
    async with db.transaction(sessionmaker) as session:
        return await service.newest_sold_iccids(session, count)


async def burst(
    sessionmaker: async_sessionmaker[AsyncSession], iccid: str, now: datetime, *, megabytes: float
) -> SimState:
    """``megabytes`` of traffic on one eSIM, committed on its own."""
    async with db.transaction(sessionmaker) as session:
        return await service.consume(session, iccid, now, megabytes=megabytes)
