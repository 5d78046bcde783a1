"""The anchors of the load bench: the least a server on our stack can do for each hot path.

    python -m bench.baselines KIND --port PORT [--database-url URL] [--catalogue FILE]

KIND is one of:
- ``starlette-json``: a bare Starlette route answering a small JSON body;
- ``lookup``: bare FastAPI, ``GET /v2/sims/{iccid}/usage`` answered from one primary-key lookup
  of the eSIM (aiosqlite or asyncpg, no ORM);
- ``token``: bare FastAPI, ``POST /v2/token``: the form, the partner looked up, the secret
  compared, a JWT signed;
- ``order``: bare FastAPI, ``POST /v2/orders``: one transaction that locks an account row,
  checks and debits its balance and inserts an order row;
- ``bytes``: bare Starlette serving the catalogue's bytes with an ``ETag`` (and its 304).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import jwt
import uvicorn
from fastapi import FastAPI, Form
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Query = Callable[..., Awaitable[list[Any]]]


class Database:
    """One aiosqlite connection, or an asyncpg pool: the fastest each driver offers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite: aiosqlite.Connection | None = None
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            self.sqlite = await aiosqlite.connect(self.url.split("///", 1)[1])
            await self.sqlite.execute("PRAGMA journal_mode=WAL")
        else:
            dsn = self.url.replace("postgresql+asyncpg", "postgresql")
            self.pool = await asyncpg.create_pool(dsn, min_size=32, max_size=32)

    async def close(self) -> None:
        if self.sqlite is not None:
            await self.sqlite.close()
        if self.pool is not None:
            await self.pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """``sql`` with ``$1``-style parameters, for either driver."""
        if self.sqlite is not None:
            lite = sql
            for n in range(len(args), 0, -1):
                lite = lite.replace(f"${n}", "?")
            async with self.sqlite.execute(lite, args) as cursor:
                return list(await cursor.fetchall())
        assert self.pool is not None
        return list(await self.pool.fetch(sql, *args))


def lookup_app(database: Database) -> FastAPI:
    app = FastAPI(lifespan=_lifespan(database))

    @app.get("/v2/sims/{iccid}/usage")
    async def usage(iccid: str) -> dict[str, Any]:
        rows = await database.fetch(
            "SELECT id, iccid, partner_id, due_at FROM sims WHERE iccid = $1", iccid
        )
        if not rows:
            return {"data": None}
        sim_id, found, partner_id, due_at = tuple(rows[0])
        return {
            "data": {"id": sim_id, "iccid": found, "partner_id": partner_id, "due": str(due_at)},
            "meta": {"message": "api.succes"},
        }

    return app


def token_app(database: Database, secret_key: str) -> FastAPI:
    app = FastAPI(lifespan=_lifespan(database))

    @app.post("/v2/token")
    async def token(
        client_id: str = Form(), client_secret: str = Form(), grant_type: str = Form()
    ) -> dict[str, Any]:
        rows = await database.fetch(
            "SELECT id, secret_hash FROM partners WHERE client_id = $1", client_id
        )
        digest = hashlib.sha256(client_secret.encode()).hexdigest()
        if not rows or not hmac.compare_digest(digest, str(rows[0][1])):
            return {"data": [], "meta": {"message": "unauthorized"}}
        now = int(time.time())
        claims = {"sub": str(rows[0][0]), "iat": now, "exp": now + 3600}
        access = jwt.encode(claims, secret_key, algorithm="HS256")
        return {"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": access}}

    return app


def order_app(database: Database) -> FastAPI:
    async def schema() -> None:
        if database.sqlite is not None:
            await database.sqlite.executescript(
                "CREATE TABLE IF NOT EXISTS bench_accounts (id INTEGER PRIMARY KEY, cents INTEGER);"
                "CREATE TABLE IF NOT EXISTS bench_orders (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " account_id INTEGER, package_id TEXT, cents INTEGER);"
                "INSERT OR IGNORE INTO bench_accounts VALUES (1, 1000000000000);"
            )
            await database.sqlite.commit()
        else:
            assert database.pool is not None
            await database.pool.execute(
                "CREATE TABLE IF NOT EXISTS bench_accounts (id int PRIMARY KEY, cents bigint);"
                "CREATE TABLE IF NOT EXISTS bench_orders (id bigserial PRIMARY KEY,"
                " account_id int, package_id text, cents bigint);"
                "INSERT INTO bench_accounts VALUES (1, 1000000000000) ON CONFLICT DO NOTHING;"
            )

    app = FastAPI(lifespan=_lifespan(database, schema))
    writer = asyncio.Lock()  # one SQLite connection: one transaction at a time

    @app.post("/v2/orders")
    async def order(body: dict[str, Any]) -> dict[str, Any]:
        price = 450
        if database.sqlite is not None:
            lite = database.sqlite
            await writer.acquire()
            await lite.execute("BEGIN IMMEDIATE")
            async with lite.execute("SELECT cents FROM bench_accounts WHERE id = 1") as cursor:
                (cents,) = tuple(await cursor.fetchone() or (0,))
            await lite.execute("UPDATE bench_accounts SET cents = ? WHERE id = 1", (cents - price,))
            cursor = await lite.execute(
                "INSERT INTO bench_orders (account_id, package_id, cents) VALUES (1, ?, ?)",
                (body["package_id"], price),
            )
            order_id = cursor.lastrowid
            await lite.commit()
            writer.release()
        else:
            assert database.pool is not None
            async with database.pool.acquire() as connection, connection.transaction():
                cents = await connection.fetchval(
                    "SELECT cents FROM bench_accounts WHERE id = 1 FOR UPDATE"
                )
                await connection.execute(
                    "UPDATE bench_accounts SET cents = $1 WHERE id = 1", cents - price
                )
                order_id = await connection.fetchval(
                    "INSERT INTO bench_orders (account_id, package_id, cents)"
                    " VALUES (1, $1, $2) RETURNING id",
                    body["package_id"],
                    price,
                )
        return {"data": {"id": order_id, "price": price}, "meta": {"message": "success"}}

    return app


def bytes_app(catalogue: Path, etag: str) -> Starlette:
    body = catalogue.read_bytes()

    async def packages(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"etag": etag})
        return Response(body, media_type="application/json", headers={"etag": etag})

    return Starlette(routes=[Route("/v2/packages", packages)])


def json_app() -> Starlette:
    async def answer(_: Request) -> JSONResponse:
        return JSONResponse({"message": "Too Many Attempts."}, status_code=429)

    return Starlette(routes=[Route("/v2/sims/{iccid}/usage", answer)])


def _lifespan(
    database: Database, then: Callable[[], Awaitable[None]] | None = None
) -> Callable[[Any], Any]:
    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await database.open()
        if then is not None:
            await then()
        yield
        await database.close()

    return lifespan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["starlette-json", "lookup", "token", "order", "bytes"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--catalogue", type=Path)
    parser.add_argument("--etag", default='"bench"')
    parser.add_argument("--secret-key", default="bench-secret-key")
    args = parser.parse_args()
    database = Database(args.database_url)
    factories: dict[str, Callable[[], Any]] = {
        "starlette-json": json_app,
        "lookup": lambda: lookup_app(database),
        "token": lambda: token_app(database, args.secret_key),
        "order": lambda: order_app(database),
        "bytes": lambda: bytes_app(args.catalogue, args.etag),
    }
    app = factories[args.kind]()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
