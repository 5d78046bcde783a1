"""The long-lived objects of one process, built by ``create_app`` and shared by requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from esimhub.config import Settings
from esimhub.kit.clock import Clock

if TYPE_CHECKING:
    from esimhub.auth.directory import PartnerDirectory
    from esimhub.catalogue.cache import CatalogueCache
    from esimhub.limits import RateLimiter
    from esimhub.sandbox.clock import ClockSync
    from esimhub.usage.cache import UsageCache


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    partners: PartnerDirectory = field(init=False)
    catalogue: CatalogueCache = field(init=False)
    clock_sync: ClockSync = field(init=False)
    # set by create_app, which owns the Redis connection and the metrics
    limiter: RateLimiter = field(init=False)
    usage_cache: UsageCache = field(init=False)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        from esimhub.db import create_engine, create_sessionmaker

        engine = create_engine(settings.database_url)
        return cls(settings, engine, create_sessionmaker(engine), clock or Clock())

    def __post_init__(self) -> None:
        from esimhub.auth.directory import PartnerDirectory
        from esimhub.catalogue.cache import CatalogueCache
        from esimhub.sandbox.clock import ClockSync

        self.partners = PartnerDirectory(self)
        self.catalogue = CatalogueCache(self)
        self.clock_sync = ClockSync(
            self.clock, self.sessionmaker, self.settings.clock_check_seconds
        )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def public_base_url(request: Request, runtime: Runtime) -> str:
    """The absolute URL clients reach us on: configured, or the one this request came in on."""
    configured = runtime.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")
