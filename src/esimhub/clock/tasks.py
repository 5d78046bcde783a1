"""Clock work that owns its transactions: moving time, then settling what came due."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.clock import service
from esimhub.config import Settings
from esimhub.kit.clock import Clock
from esimhub.usage import tasks as usage


async def read_offset(sessionmaker: async_sessionmaker[AsyncSession]) -> timedelta:
    async with db.transaction(sessionmaker) as session:
        return await service.stored_offset(session)


async def move_and_settle(
    settings: Settings,
    clock: Clock,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    sync: ClockSync | None = None,
    **how: Any,
) -> tuple[datetime, int]:
    """Move the clock (committed), then settle every eSIM whose moment came: expiry, alerts,
    recycling. Returns the new now and how many eSIMs were settled. With this process's
    ``sync``, no re-read of the stored clock runs while the move is being written."""
    guard = sync.moving() if sync is not None else contextlib.nullcontext()
    async with guard, db.transaction(sessionmaker) as session:
        now = await service.move(session, settings, clock, **how)
    return now, await usage.sweep(sessionmaker, now)


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
            self._clock.offset = await read_offset(self._sessionmaker)
            self._checked_at = time.monotonic()

    @contextlib.asynccontextmanager
    async def moving(self) -> AsyncIterator[None]:
        """Around a move of the clock by this process. A re-read running alongside it would see
        the offset from before the move's commit and put it back over the moved one (a poll right
        after ``esimhub clock advance`` then ran on the old time until the next re-read)."""
        async with self._lock:
            yield
            self._checked_at = time.monotonic()  # the offset just set is the stored one
