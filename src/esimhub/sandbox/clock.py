"""The movable system clock of sandbox and development deployments.

The offset from real time lives in the database (``clock_state``), so the CLI, the admin API and
every server process agree on it; servers re-read it every ``ESIMHUB_CLOCK_CHECK_SECONDS``.
Production refuses to move time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub.config import Settings
from esimhub.errors import MessageError
from esimhub.kit.clock import Clock
from esimhub.models import ClockState


class ClockControlDisabled(MessageError):
    def __init__(self) -> None:
        super().__init__("The clock cannot be moved on this deployment.", 403)


class ClockBackwards(ValueError):
    pass


async def stored_offset(session: AsyncSession) -> timedelta:
    offset_ms = await session.scalar(select(ClockState.offset_ms).where(ClockState.id == 1))
    return timedelta(milliseconds=offset_ms or 0)


async def move(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    *,
    by: timedelta | None = None,
    to: datetime | None = None,
    reset: bool = False,
) -> datetime:
    """Move the system clock forward ``by`` a duration or ``to`` a moment (or back to real time
    with ``reset``); returns the new now. Time-driven effects already applied are not undone."""
    if not settings.clock_control_enabled:
        raise ClockControlDisabled()
    state = await session.get(ClockState, 1, with_for_update=True)
    current = timedelta(milliseconds=state.offset_ms) if state else timedelta(0)
    base = clock.base()
    if reset:
        offset = timedelta(0)
    elif to is not None:
        offset = to - base
        if offset < current:
            raise ClockBackwards(f"{to.isoformat()} is before the current time; use reset")
    else:
        offset = current + (by or timedelta(0))
        if offset < current:
            raise ClockBackwards("the clock only moves forward; use reset")
    offset_ms = round(offset.total_seconds() * 1000)
    if state is None:
        session.add(ClockState(id=1, offset_ms=offset_ms, updated_at=base))
    else:
        state.offset_ms, state.updated_at = offset_ms, base
    clock.offset = timedelta(milliseconds=offset_ms)
    return clock.now()


async def move_and_settle(
    settings: Settings,
    clock: Clock,
    sessionmaker: async_sessionmaker[AsyncSession],
    **how: Any,
) -> tuple[datetime, int]:
    """Move the clock (committed), then settle every eSIM whose moment came: expiry, alerts,
    recycling. Returns the new now and how many eSIMs were settled."""
    from esimhub.usage.service import sweep  # usage reads the clock; the clock drives usage

    async with sessionmaker() as session, session.begin():
        now = await move(session, settings, clock, **how)
    return now, await sweep(sessionmaker, now)


class ClockSync:
    """Keeps this process's clock offset equal to the stored one (re-read every few seconds)."""

    def __init__(
        self, clock: Clock, sessionmaker: async_sessionmaker[AsyncSession], interval: float
    ) -> None:
        self._clock = clock
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        if time.monotonic() - self._checked_at < self._interval:
            return
        async with self._lock:
            if time.monotonic() - self._checked_at < self._interval:
                return
            async with self._sessionmaker() as session:
                self._clock.offset = await stored_offset(session)
            self._checked_at = time.monotonic()
