"""The usage model: one eSIM and its queue of packages, moved through time and consumption.

Rules (docs/compatibility.md, "Usage lifecycle"):

- An eSIM is *live* once the network has seen it the way its operator's activation policy asks:
  installed (``installation``) or attached to a network (``first-usage``).
- The head of the queue activates when the eSIM goes live. Validity runs from activation;
  ``expired_at`` is set then. A package is FINISHED when its data is used up (never when
  unlimited) and EXPIRED when its validity ends; the next queued package (a top-up) activates at
  that moment, or at purchase when nothing was active. Top-ups always queue; none replaces another.
- RECYCLED: never installed within the install window (counted from issue), or no usable package
  for longer than the top-up grace window (counted from when the last one ended). Terminal.
- Thresholds, each once per package: 75 % and 90 % of data used; 3 days and 1 day before expiry
  (only for packages valid longer than that lead, and only while the package is still active).

Nothing here touches the database: callers load an eSIM with its packages under a lock, call
these methods and write the ``Alert``s they return to the outbox.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from esimhub.kit.statuses import PackageStatus
from esimhub.models import Sim, SimPackage

MIB = 1024 * 1024

NOT_ACTIVE = PackageStatus.NOT_ACTIVE
ACTIVE = PackageStatus.ACTIVE
FINISHED = PackageStatus.FINISHED
EXPIRED = PackageStatus.EXPIRED
UNKNOWN = PackageStatus.UNKNOWN
RECYCLED = PackageStatus.RECYCLED

DATA_LEVELS = ((75, "75%"), (90, "90%"))
EXPIRY_LEVELS = ((timedelta(days=3), "3days"), (timedelta(days=1), "1days"))


@dataclass(frozen=True)
class Alert:
    """A package crossed a threshold at ``at``."""

    package: SimPackage
    level: str
    at: datetime


@dataclass(frozen=True)
class Report:
    """What ``GET /sims/{iccid}/usage`` answers: a status and the package it describes."""

    status: str
    package: SimPackage | None


def remaining_mb(package: SimPackage) -> int:
    if package.is_unlimited:
        return 0
    return max(0, package.amount_mb * MIB - package.used_bytes) // MIB


def remaining_percentage(package: SimPackage) -> int:
    if package.is_unlimited or package.amount_mb <= 0:
        return 100
    left = max(0, package.amount_mb * MIB - package.used_bytes)
    return math.floor(left * 100 / (package.amount_mb * MIB))


def remaining_voice(package: SimPackage) -> int:
    return max(0, (package.voice_minutes or 0) - math.ceil(package.used_voice_seconds / 60))


def remaining_text(package: SimPackage) -> int:
    return max(0, (package.sms or 0) - package.used_sms)


class SimState:
    """One eSIM and its package queue (in purchase order)."""

    def __init__(self, sim: Sim, packages: Sequence[SimPackage]) -> None:
        self.sim = sim
        self.packages = sorted(packages, key=lambda p: p.id)

    # -- reading ------------------------------------------------------------------------------

    @property
    def recycled(self) -> bool:
        return self.sim.recycled_at is not None

    def live_since(self) -> datetime | None:
        if self.sim.activation_policy == "installation":
            return self.sim.installed_at
        return self.sim.attached_at

    def active(self) -> SimPackage | None:
        return next((p for p in self.packages if p.status == ACTIVE), None)

    def head(self) -> SimPackage | None:
        """The next package waiting to start."""
        return next((p for p in self.packages if p.status == NOT_ACTIVE), None)

    def ended_at(self) -> datetime | None:
        """When the most recently ended package ended."""
        ends = [p.finished_at or p.expired_at for p in self.packages if p.status in _ENDED]
        return max((e for e in ends if e is not None), default=None)

    def report(self) -> Report:
        if self.recycled:
            return Report(RECYCLED, None)
        shown = self.active() or self.head()
        if shown is None:
            ended = [p for p in self.packages if p.status in _ENDED]
            shown = ended[-1] if ended else None
        return Report(shown.status, shown) if shown else Report(UNKNOWN, None)

    def due_at(self) -> datetime | None:
        """The next moment something time-driven happens to this eSIM."""
        if self.recycled:
            return None
        moments: list[datetime] = []
        active = self.active()
        if active is not None and active.expired_at is not None:
            moments.append(active.expired_at)
            moments.extend(at for _, at in self._pending_expiry_alerts(active))
        recycle_at = self.recycle_at()
        if recycle_at is not None:
            moments.append(recycle_at)
        return min(moments, default=None)

    def recycle_at(self) -> datetime | None:
        sim = self.sim
        if sim.installed_at is None:
            if sim.install_window_days is None or sim.issued_at is None:
                return None
            return sim.issued_at + timedelta(days=sim.install_window_days)
        if self.active() is not None or self.head() is not None:
            return None
        ended = self.ended_at()
        if ended is None or sim.topup_grace_window_days is None:
            return None
        return ended + timedelta(days=sim.topup_grace_window_days)

    # -- moving -------------------------------------------------------------------------------

    def settle(self, now: datetime) -> list[Alert]:
        """Apply everything time-driven up to ``now``: activation, expiry, alerts, recycling."""
        alerts: list[Alert] = []
        while not self.recycled:
            active = self.active()
            if active is None:
                if not self._promote():
                    break
                continue
            assert active.expired_at is not None
            if active.expired_at <= now:
                active.status = EXPIRED
                continue
            for level, at in self._pending_expiry_alerts(active):
                if at <= now:
                    alerts.append(self._raise(active, level, at))
            break
        recycle_at = self.recycle_at()
        if recycle_at is not None and recycle_at <= now and not self.recycled:
            self.sim.recycled_at = recycle_at
        self.sim.due_at = self.due_at()
        return alerts

    def install(self, at: datetime) -> None:
        if self.sim.installed_at is None:
            self.sim.installed_at = at

    def attach(self, at: datetime, country: str | None, *, covered: bool) -> None:
        """The device registered on a network; the first time in a covered country is first use."""
        self.install(at)
        self.sim.last_country = country or self.sim.last_country
        if covered and self.sim.attached_at is None:
            self.sim.attached_at = at

    def consume(
        self, now: datetime, *, data_bytes: int, voice_seconds: int, sms: int
    ) -> tuple[SimPackage | None, list[Alert]]:
        """Charge usage to the active package, spilling data over into queued ones.

        Returns the package charged first (``None`` when nothing could be charged) and the
        thresholds crossed. Data beyond the last package is not carried: the network stops.
        """
        alerts = self.settle(now)
        first: SimPackage | None = None
        left = data_bytes
        while (package := self.active()) is not None:
            first = first or package
            package.used_voice_seconds += voice_seconds
            package.used_sms += sms
            voice_seconds = sms = 0
            if package.is_unlimited:
                package.used_bytes += left
                break
            take = min(left, max(0, package.amount_mb * MIB - package.used_bytes))
            package.used_bytes += take
            left -= take
            alerts.extend(self._data_alerts(package, now))
            if package.used_bytes < package.amount_mb * MIB:
                break
            package.status = FINISHED
            package.finished_at = now
            alerts.extend(self.settle(now))
            if left == 0:
                break
        self.sim.due_at = self.due_at()
        return first, alerts

    # -- internals ----------------------------------------------------------------------------

    def _promote(self) -> bool:
        """Start the head of the queue if the eSIM is live; ``False`` if nothing can start."""
        head, live_since = self.head(), self.live_since()
        if head is None or live_since is None:
            return False
        starts = max(d for d in (head.created_at, live_since, self.ended_at()) if d is not None)
        head.status = ACTIVE
        head.activated_at = starts
        head.expired_at = starts + timedelta(days=head.days)
        return True

    def _pending_expiry_alerts(self, package: SimPackage) -> list[tuple[str, datetime]]:
        assert package.expired_at is not None
        return [
            (level, package.expired_at - lead)
            for lead, level in EXPIRY_LEVELS
            if level not in package.alerts and timedelta(days=package.days) > lead
        ]

    def _data_alerts(self, package: SimPackage, now: datetime) -> list[Alert]:
        used_percent = package.used_bytes * 100 // (package.amount_mb * MIB)
        return [
            self._raise(package, level, now)
            for percent, level in DATA_LEVELS
            if used_percent >= percent and level not in package.alerts
        ]

    @staticmethod
    def _raise(package: SimPackage, level: str, at: datetime) -> Alert:
        package.alerts = [*package.alerts, level]
        return Alert(package, level, at)


_ENDED = {FINISHED, EXPIRED}
