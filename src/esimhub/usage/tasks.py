"""Usage work that owns its transactions: the sweep that settles eSIMs whose time has come."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.usage import service


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Settle every eSIM whose next time-driven moment has come; one transaction per eSIM."""
    async with db.transaction(sessionmaker) as session:
        due = list(await service.due_sim_ids(session, now))
    for sim_id in due:
        async with db.transaction(sessionmaker) as session:
            await service.settle_due(session, sim_id, now)
    return len(due)
