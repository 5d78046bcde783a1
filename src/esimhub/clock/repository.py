"""SQL of the clock: the one stored offset from real time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import ClockState


async def offset_ms(session: AsyncSession) -> int:
    return int(await session.scalar(select(ClockState.offset_ms).where(ClockState.id == 1)) or 0)


async def locked_state(session: AsyncSession) -> ClockState | None:
    return await session.get(ClockState, 1, with_for_update=True)
