"""One injectable clock for the whole system; nothing else calls ``datetime.now()``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta


class Clock:
    """Real time, shifted by ``offset`` (sandbox deployments move time forward)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def base(self) -> datetime:
        """The time before the offset is applied."""
        return datetime.now(UTC)

    def now(self) -> datetime:
        return self.base() + self.offset


class FrozenClock(Clock):
    """A clock that only moves when told to; for tests."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def base(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def format_datetime(value: datetime) -> str:
    """Airalo's ``Y-m-d H:i:s`` in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


_DURATION_PART = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """``3d``, ``15m``, ``1d12h``, ``90s`` → a timedelta; anything else raises ``ValueError``."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (use e.g. 3d, 15m, 1d12h, 90s)")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    return total
