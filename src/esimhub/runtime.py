"""The long-lived objects of one process, built once, in one place, for ``serve``, ``worker``
and the tests alike.

Areas never import this module: requests reach the pieces through dependencies (``deps``,
``auth.dependencies``, ``catalogue.dependencies``) that read ``app.state.runtime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from esimhub.auth.directory import PartnerDirectory
from esimhub.catalogue.cache import CatalogueCache
from esimhub.clock.tasks import ClockSync
from esimhub.config import Settings
from esimhub.db import create_sessionmaker, engine_for
from esimhub.kit.clock import Clock
from esimhub.limits import RateLimiter
from esimhub.metrics import Metrics
from esimhub.usage.cache import UsageCache


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    redis: aioredis.Redis | None
    metrics: Metrics
    limiter: RateLimiter
    usage_cache: UsageCache
    partners: PartnerDirectory
    catalogue: CatalogueCache
    clock_sync: ClockSync

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        clock = clock or Clock()
        engine = engine_for(settings)
        sessionmaker = create_sessionmaker(engine)
        redis = None
        if settings.redis_url:
            pool = aioredis.BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_pool_size,
                timeout=settings.redis_pool_timeout_seconds,
                socket_timeout=1,
                socket_connect_timeout=1,
            )
            redis = aioredis.Redis(connection_pool=pool)
        metrics = Metrics()
        prefix = settings.redis_key_prefix
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            clock=clock,
            redis=redis,
            metrics=metrics,
            limiter=RateLimiter(
                redis,
                metrics.limiter_failures,
                key_prefix=prefix,
                fallback=settings.rate_limit_fallback,
            ),
            usage_cache=UsageCache(redis, key_prefix=prefix),
            partners=PartnerDirectory(sessionmaker, cache_seconds=settings.partner_cache_seconds),
            catalogue=CatalogueCache(
                sessionmaker, clock, check_seconds=settings.catalogue_check_seconds
            ),
            clock_sync=ClockSync(clock, sessionmaker, settings.clock_check_seconds),
        )

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# For the surfaces that drive several areas at once (the admin API); areas use ``deps``.
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
