"""Request dependencies every area may use: the settings, the clock, the public base URL and the
sessionmaker.

They read the process's ``Runtime`` (built once, in ``esimhub.runtime``) from the app state,
so no area imports the runtime itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub.config import Settings
from esimhub.kit.clock import Clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.runtime.clock
    return clock


async def get_base_url(request: Request) -> str:
    """The absolute URL clients reach us on: configured, or the one this request came in on."""
    configured: str | None = request.app.state.runtime.settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """For routes that hand work to a task with transactions of its own (after the request's)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.runtime.sessionmaker
    return sessionmaker


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
BaseUrl = Annotated[str, Depends(get_base_url)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
