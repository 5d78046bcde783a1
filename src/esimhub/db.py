"""Engine, sessions and migrations, and the two owners of a transaction.

``get_session`` owns the transaction of a request; ``transaction`` owns that of anything else (a
worker job, a sweep, a CLI command, a background read). Nothing else begins or commits.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends, Request
from sqlalchemy import Connection, Select, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.util import greenlet_spawn

from esimhub.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
Model = TypeVar("Model")
# Each SQLite connection keeps a page cache of its own (2 MiB by default) that fills as the file
# grows; bounded here so the pool's memory is pool_size x 512 KiB, whatever the database's size.
# Pages not cached are read from the operating system's file cache, which all connections share.
SQLITE_CACHE_KIB = 512


def create_engine(
    database_url: str,
    *,
    pool_size: int = 20,
    pool_timeout: float = 5.0,
    lock_timeout: float = 5.0,
) -> AsyncEngine:
    """An engine for ``database_url``. On PostgreSQL: a fixed pool of ``pool_size`` connections
    waited for at most ``pool_timeout`` seconds, and statements that give up waiting for a row
    lock after ``lock_timeout`` seconds (both then answer 503, see ``errors``)."""
    if database_url.startswith("sqlite"):
        # A fixed pool: each SQLite connection is a thread of its own (aiosqlite) with its own
        # page cache, so an overflow opened and closed under load churns threads and memory.
        engine = create_async_engine(
            database_url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
            pool_reset_on_return=None,  # see _rollback_if_open
            connect_args={"timeout": 30},
        )

        @event.listens_for(engine.sync_engine, "reset")
        def _rollback_if_open(_: Any, record: Any, reset: Any) -> None:
            # A connection back in the pool is rolled back only when it is inside a
            # transaction: on aiosqlite each rollback is a call into the connection's thread,
            # and a pooled read (``DriverQuery``) begins none.
            if record.driver_connection.in_transaction:
                record.dbapi_connection.rollback()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.close()

        return engine
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        # No ping before each checkout (a round trip per request): a connection the server has
        # dropped fails its request once (503, see ``errors``) and is replaced by the pool.
        connect_args={"server_settings": {"lock_timeout": str(round(lock_timeout * 1000))}},
    )


def engine_for(settings: Settings) -> AsyncEngine:
    return create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        pool_timeout=settings.database_pool_timeout_seconds,
        lock_timeout=settings.database_lock_timeout_seconds,
    )


def insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT (for ``ON CONFLICT DO NOTHING``): SQLite's or PostgreSQL's."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite_insert(table)
    return postgresql_insert(table)


# Per SQLite engine: this process's money writers, in line for the database's write lock.
_WRITERS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


async def queue_for_write(session: AsyncSession) -> None:
    """On SQLite, wait in this process's line of writers (released when the session's transaction
    ends) before asking the database for its write lock. Writers that contend inside SQLite wait
    in its busy handler, which sleeps up to 100 ms at a time: a burst of one partner's orders then
    took seconds at p99. Other processes still meet in the busy handler. On PostgreSQL, nothing."""
    if not writes_are_serial(session) or session.info.get("queued_for_write"):
        return
    lock = _WRITERS.setdefault(session.get_bind(), asyncio.Lock())
    await lock.acquire()
    session.info["queued_for_write"] = True

    def release(_: Any, transaction: Any) -> None:
        if transaction.parent is None and session.info.pop("queued_for_write", False):
            lock.release()

    event.listen(session.sync_session, "after_transaction_end", release)


def writes_are_serial(session: AsyncSession) -> bool:
    """SQLite: one writer at a time, and a transaction that reads before it writes may fail to
    upgrade, so a money write takes the partner's lock first. PostgreSQL locks rows: the lock is
    taken as late as possible, so that a partner's writes queue for as short a time as possible."""
    return session.get_bind().dialect.name == "sqlite"


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class DriverQuery:
    """One SELECT for the hottest read paths, compiled once per dialect and run on the driver
    itself: on asyncpg over a connection of the engine's pool; on SQLite on a plain sqlite3
    connection of the event loop's own (``_inline_read``), or through the pool's aiosqlite.

    The rows come back as SQLAlchemy would return them (each column through its type's result
    processor: timestamps read aware, JSON decoded, booleans as booleans), as mappings keyed by
    the selected columns' keys, at a tenth of the cost (on aiosqlite): no execution context, no
    result object, and no isolation level set and reset around the checkout (an autocommit
    engine costs two driver calls per read). Nothing begins a transaction: the statement runs in
    the driver's autocommit, and the pool's reset on return is its only other call. Parameters
    go to the driver as given (plain strings and integers). A connection the driver fails on is
    invalidated, as SQLAlchemy would.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    async def rows(self, engine: AsyncEngine, **params: Any) -> list[list[Any]]:
        """The rows, each a list of the selected columns' values in order."""
        compiled = self._compiled.get(engine.dialect.name) or self._compile(engine)
        args = [params[name] for name in compiled.names]
        # The pooled connection itself, not an AsyncConnection around it: returning it makes
        # no driver call (no transaction is open: see create_engine's reset), so it needs no
        # greenlet either.
        found = _inline_read(engine, compiled, args) if compiled.sqlite else None
        if found is None:
            found = await self._pooled(engine, compiled, args)
        processors = compiled.processors
        return [
            [
                value if process is None or value is None else process(value)
                for process, value in zip(processors, row, strict=True)
            ]
            for row in found
        ]

    @staticmethod
    async def _pooled(
        engine: AsyncEngine, compiled: _Compiled, args: list[Any]
    ) -> Sequence[Sequence[Any]]:
        # The pooled connection itself, not an AsyncConnection around it: returning it makes
        # no driver call (no transaction is open: see create_engine's reset), so it needs no
        # greenlet either.
        pooled = await engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection
            if compiled.sqlite:  # one call into the connection's thread, not one per cursor step
                found: Sequence[Sequence[Any]] = await driver.execute_fetchall(compiled.sql, args)
            else:
                found = await driver.fetch(compiled.sql, *args)
        except BaseException:  # failed or cancelled half-way: the connection is not reused
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            pooled.close()
        return found

    def _compile(self, engine: AsyncEngine) -> _Compiled:
        dialect = engine.dialect
        compiled = self._statement.compile(dialect=dialect)
        self._compiled[dialect.name] = done = _Compiled(
            sql=str(compiled),
            names=tuple(compiled.positiontup or ()),
            sqlite=dialect.name == "sqlite",
            processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self._statement.selected_columns
            ),
        )
        return done


class Detached(Generic[Model]):
    """Instances of the mapped class ``model`` from values of the columns ``keys`` (a row of a
    ``DriverQuery``), built the way the ORM's loader builds them: no ``__init__`` and no
    attribute events, a fifth of the cost. They belong to no session, so nothing about them is
    ever written; the columns not in ``keys`` are expired, so reading one raises instead of
    answering ``None``."""

    def __init__(self, model: type[Model], keys: Sequence[str]) -> None:
        self._model = model
        self._keys = tuple(keys)
        self._missing: list[str] | None = None

    def __call__(self, values: Sequence[Any]) -> Model:
        mapper = inspect(self._model)
        if self._missing is None:
            if not mapper.configured:  # relationships resolved, as the first query would
                configure_mappers()
            self._missing = [p.key for p in mapper.column_attrs if p.key not in self._keys]
        instance: Model = mapper.class_manager.new_instance()
        instance.__dict__.update(zip(self._keys, values, strict=True))
        if self._missing:
            state = instance_state(instance)
            state._expire_attributes(state.dict, self._missing)  # what Session.expire does
        return instance


# One plain sqlite3 connection per SQLite engine (a file database), for DriverQuery's reads:
# a read of a few rows by key takes microseconds from the page cache, less than the hop to an
# aiosqlite thread and back, so it runs on the event loop itself. In WAL mode a reader never
# waits for writers; should it find the database busy all the same (a WAL recovery), it does not
# wait either (busy timeout 0) and the read goes through the pool instead.
_INLINE: weakref.WeakKeyDictionary[Any, sqlite3.Connection | None] = weakref.WeakKeyDictionary()


def _inline_reader(engine: AsyncEngine) -> sqlite3.Connection | None:
    sync_engine = engine.sync_engine
    if sync_engine in _INLINE:
        return _INLINE[sync_engine]
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):  # not a file of its own
        _INLINE[sync_engine] = None
        return None
    if not Path(path).exists():  # not created yet: ask again next time
        return None
    reader = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    reader.execute("PRAGMA query_only=ON")
    reader.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    def close(_: Any) -> None:
        if (gone := _INLINE.pop(sync_engine, None)) is not None:
            gone.close()

    event.listen(sync_engine, "engine_disposed", close)
    _INLINE[sync_engine] = reader
    return reader


def _inline_read(
    engine: AsyncEngine, compiled: _Compiled, args: list[Any]
) -> Sequence[Sequence[Any]] | None:
    """The rows read on the loop's own SQLite connection; ``None`` where there is none or it
    found the database busy."""
    reader = _inline_reader(engine)
    if reader is None:
        return None
    try:
        return reader.execute(compiled.sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None
        raise


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    sqlite: bool
    processors: tuple[Callable[[Any], Any] | None, ...]


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Run the Alembic migrations (synchronously; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(database_url), revision)


@functools.cache
def head_revisions() -> frozenset[str]:
    """The revisions this code's migrations end at."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _current_revisions(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


async def readiness(engine: AsyncEngine) -> str | None:
    """Why the database cannot serve this code, in one line (unreachable, or not migrated to
    its revision); ``None`` when it can."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_revisions)
    except (OSError, SQLAlchemyError) as exc:
        return f"Cannot reach the database at {where}: {_first_line(exc)}"
    heads = head_revisions()
    if current == heads:
        return None
    at = ", ".join(sorted(current)) or "no revision"
    return (
        f"The database at {where} is not migrated (it is at {at}; this esimhub needs "
        f"{', '.join(sorted(heads))}): run `esimhub db upgrade`, or `esimhub serve --migrate`"
    )


async def unusable(engine: AsyncEngine, exc: BaseException) -> str | None:
    """If ``exc`` was raised because the database cannot serve this code, why (one line);
    otherwise ``None`` (the error is the caller's to report)."""
    if not isinstance(exc, OSError | SQLAlchemyError):
        return None
    return await readiness(engine)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text_ = str(cause).strip().splitlines()
    return f"{cause.__class__.__name__}: {text_[0]}" if text_ else cause.__class__.__name__


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """The job wrapper: one session and one transaction, committed if the block succeeds and
    rolled back if it raises."""
    async with sessionmaker() as session, session.begin():
        yield session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request, committed when the route returns without an error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.runtime.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": the commit happens when the route returns, before the response is sent, so a
# client that got 200 can read what it wrote, and a failing commit answers an error, not a 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
