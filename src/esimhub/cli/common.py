"""What every admin command shares: settings, a database session, and the console."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.clock.service import stored_offset
from esimhub.config import Settings, get_settings
from esimhub.db import create_sessionmaker, engine_for
from esimhub.kit.clock import Clock

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)


@asynccontextmanager
async def transaction(settings: Settings | None = None) -> AsyncIterator[AsyncSession]:
    """One session, committed if the block succeeds and rolled back if it raises."""
    engine = engine_for(settings or get_settings())
    try:
        async with db.transaction(create_sessionmaker(engine)) as session:
            yield session
    finally:
        await engine.dispose()


_clock = Clock()


def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Do ``work`` in one transaction, on the system clock (moved, in a sandbox)."""

    async def main() -> T:
        async with transaction() as session:
            _clock.offset = await stored_offset(session)
            return await work(session)

    return asyncio.run(main())


def clock() -> Clock:
    """The system clock, as of the last ``run``."""
    return _clock


def no_partner(client_id: str) -> NoReturn:
    """End a command that named an unknown partner."""
    errors.print(f"[red]No partner with client_id {client_id}[/]")
    raise typer.Exit(1)
