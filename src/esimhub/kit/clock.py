"""One injectable clock for the whole system; nothing else calls ``datetime.now()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The system clock, optionally shifted by an offset (sandbox deployments move time)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FrozenClock(Clock):
    """A clock that only moves when told to; for tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def format_datetime(value: datetime) -> str:
    """Airalo's ``Y-m-d H:i:s`` in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
