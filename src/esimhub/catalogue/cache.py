"""The in-memory catalogue: loaded once per catalogue version, rendered once per variant.

Requests never touch the database for the catalogue; a process only asks the database, at most
every ``catalogue_check_seconds``, whether the catalogue version moved (another process imported).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.catalogue import repository
from esimhub.catalogue.rates import DEMO_RATES
from esimhub.catalogue.render import RenderedEntry, Variant, render_entries
from esimhub.kit.clock import Clock
from esimhub.models import Operator, Package, PackageOverride

# Built answers of GET /packages kept per snapshot (the full catalogue is megabytes a variant).
BODY_BYTES = 64 * 1024 * 1024
# ETags of GET /packages requests already answered, kept per snapshot (a few hundred bytes each).
ETAGS = 10_000


@dataclass(frozen=True)
class CatalogueView:
    """One variant of the catalogue, each entry already serialised to JSON bytes."""

    kinds: tuple[str, ...]
    country_codes: tuple[str, ...]
    blobs: tuple[bytes, ...]

    @classmethod
    def of(cls, entries: list[RenderedEntry]) -> CatalogueView:
        return cls(
            kinds=tuple(e.kind for e in entries),
            country_codes=tuple(e.country_code for e in entries),
            blobs=tuple(
                json.dumps(e.body, separators=(",", ":"), ensure_ascii=False).encode()
                for e in entries
            ),
        )

    def matching(self, kind: str | None, country: str | None) -> list[int]:
        return [
            i
            for i in range(len(self.blobs))
            if (kind is None or self.kinds[i] == kind)
            and (country is None or self.country_codes[i] == country)
        ]


_PACKAGE_COLUMNS = tuple(attribute.key for attribute in inspect(Package).column_attrs)


def _with_overrides(
    packages: Sequence[Package], overrides: Sequence[PackageOverride]
) -> list[Package]:
    """The catalogue as one partner sees it: hidden packages gone, overridden prices in place
    (on copies: the shared rows stay every other partner's)."""
    by_package = {o.package_id: o for o in overrides}
    seen = []
    for package in packages:
        override = by_package.get(package.id)
        if override is None:
            seen.append(package)
        elif not override.hidden:
            copy = Package(**{key: getattr(package, key) for key in _PACKAGE_COLUMNS})
            if override.price_cents is not None:
                copy.price_cents = override.price_cents
            if override.net_price_cents is not None:
                copy.net_price_cents = override.net_price_cents
            seen.append(copy)
    return seen


@dataclass
class Snapshot:
    """The catalogue at one version; ``for_partner`` is one partner's view of it."""

    version: int
    rows: repository.CatalogueRows
    rates: dict[str, Decimal]
    # whose view this is: None for the catalogue itself (and partners without overrides)
    partner_id: int | None = None
    packages: dict[str, Package] = field(init=False)
    operators: dict[int, Operator] = field(init=False)
    _topups: dict[int, list[Package]] = field(init=False)
    _overrides: dict[int, list[PackageOverride]] = field(init=False)
    _partners: dict[int, Snapshot] = field(default_factory=dict)
    _views: dict[Variant, CatalogueView] = field(default_factory=dict)
    _bodies: dict[str, bytes] = field(default_factory=dict)
    _etags: dict[Hashable, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.packages = {p.id: p for p in self.rows.packages}
        self.operators = {o.id: o for o in self.rows.operators}
        self._topups = {}
        for package in self.rows.packages:
            if package.type == "topup":
                self._topups.setdefault(package.operator_id, []).append(package)
        self._overrides = {}
        for override in self.rows.overrides:
            self._overrides.setdefault(override.partner_id, []).append(override)

    def overrides_of(self, partner_id: int) -> list[PackageOverride]:
        """The partner's overrides, by package id."""
        return list(self._overrides.get(partner_id, ()))

    def for_partner(self, partner_id: int) -> Snapshot:
        """The catalogue as ``partner_id`` may see and buy it (its overrides applied); built
        once per snapshot, and the shared snapshot itself for a partner without overrides."""
        overrides = self._overrides.get(partner_id)
        if not overrides or self.partner_id is not None:
            return self
        view = self._partners.get(partner_id)
        if view is None:
            packages = _with_overrides(self.rows.packages, overrides)
            rows = dataclasses.replace(self.rows, packages=packages, overrides=overrides)
            view = Snapshot(self.version, rows, self.rates, partner_id=partner_id)
            self._partners[partner_id] = view
        return view

    def is_sim_package(self, package_id: str) -> bool:
        """Whether ``package_id`` is a package an order can buy (not unknown, not a top-up)."""
        package = self.packages.get(package_id)
        return package is not None and package.type == "sim"

    def topups_of(self, operator_id: int) -> list[Package]:
        """The operator's top-up packages, in catalogue order."""
        return list(self._topups.get(operator_id, ()))

    def view(self, variant: Variant) -> CatalogueView:
        view = self._views.get(variant)
        if view is None:
            view = CatalogueView.of(render_entries(self.rows, self.rates, variant))
            self._views[variant] = view
        return view

    def body(self, key: str) -> bytes | None:
        """An answer already built from this snapshot (by its ETag), if still kept."""
        return self._bodies.get(key)

    def etag(self, request: Hashable) -> str | None:
        """The ETag this snapshot's answer to ``request`` (everything the answer depends on)
        was given, when that request was answered before."""
        return self._etags.get(request)

    def keep_etag(self, request: Hashable, etag: str) -> None:
        if len(self._etags) >= ETAGS:
            self._etags.clear()
        self._etags[request] = etag

    def keep_body(self, key: str, body: bytes) -> None:
        """Keep a built answer, the oldest going first past ``BODY_BYTES`` in all: the full
        catalogue is megabytes that every partner asks for in the same few variants."""
        self._bodies[key] = body
        while sum(map(len, self._bodies.values())) > BODY_BYTES and len(self._bodies) > 1:
            del self._bodies[next(iter(self._bodies))]


class CatalogueCache:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        check_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._check_seconds = check_seconds
        self._snapshot: Snapshot | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Check the version on the next request (call after changing the catalogue in-process)."""
        self._checked_at = float("-inf")

    async def current(self) -> Snapshot:
        interval = self._check_seconds
        if self._snapshot is not None and time.monotonic() - self._checked_at < interval:
            return self._snapshot
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._checked_at < interval:
                return self._snapshot
            async with db.transaction(self._sessionmaker) as session:
                version = await repository.version(session)
                if self._snapshot is None or self._snapshot.version != version:
                    rows = await repository.load(session)
                    today = self._clock.now().date().isoformat()
                    found = await repository.rates_on(session, today)
                    rates = found[1] if found else dict(DEMO_RATES)
                    self._snapshot = Snapshot(version=rows.version, rows=rows, rates=rates)
            self._checked_at = time.monotonic()
            return self._snapshot
