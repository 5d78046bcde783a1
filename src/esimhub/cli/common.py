"""What every admin command shares: settings, a database session, the console, and the errors
that end a command.

The command modules import only Typer, Rich and ``esimhub.kit`` at the top, and the rest (the
database, the areas' services, the settings) inside the commands that use it: ``esimhub --help``
then answers in about a tenth of a second instead of two (``bench/cli.py``).

Exit codes: 0 done, 1 refused (by a rule, or by the state of the database), 2 bad usage (Click's
own code for a bad option or argument).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

from esimhub.kit.clock import Clock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from esimhub.config import Settings

T = TypeVar("T")

console = Console()
errors = Console(stderr=True)


@asynccontextmanager
async def transaction(settings: Settings | None = None) -> AsyncIterator[AsyncSession]:
    """One session, committed if the block succeeds and rolled back if it raises."""
    from esimhub import db
    from esimhub.config import get_settings

    engine = db.engine_for(settings or get_settings())
    try:
        async with db.transaction(db.create_sessionmaker(engine)) as session:
            yield session
    finally:
        await engine.dispose()


_clock = Clock()


def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Do ``work`` in one transaction, on the system clock (moved, in a sandbox)."""
    import asyncio

    from esimhub.clock.service import stored_offset

    async def main() -> T:
        async with transaction() as session:
            _clock.offset = await stored_offset(session)
            return await work(session)

    return asyncio.run(main())


def clock() -> Clock:
    """The system clock, as of the last ``run``."""
    return _clock


def usd_cents(value: str, name: str) -> int:
    """An amount an operator typed, in cents; a bad one ends the command as bad usage (exit 2)."""
    from esimhub.kit.money import exact_cents

    try:
        return exact_cents(value)
    except ValueError as exc:
        reason = "has more than two decimals" if "decimals" in str(exc) else "is not a USD amount"
        raise typer.BadParameter(f"{value!r} {reason}", param_hint=name) from None


def refuse(message: str) -> NoReturn:
    """End a command that a rule, or the state of the database, refuses: exit code 1."""
    errors.print(f"[red]{message}[/]", soft_wrap=True)
    raise typer.Exit(1)


def bad_usage(message: str) -> NoReturn:
    """End a command whose arguments are wrong: exit code 2, as Click does for its own checks."""
    raise typer.BadParameter(message)


def no_partner(client_id: str) -> NoReturn:
    """End a command that named an unknown partner."""
    refuse(f"No partner with client_id {client_id}")
