"""The movable system clock of sandbox and development deployments.

The offset from real time lives in the database (``clock_state``), so the CLI, the admin API and
every server process agree on it; servers re-read it every ``ESIMHUB_CLOCK_CHECK_SECONDS``.
Production refuses to move time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.clock import repository
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
    return timedelta(milliseconds=await repository.offset_ms(session))


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
    state = await repository.locked_state(session)
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
