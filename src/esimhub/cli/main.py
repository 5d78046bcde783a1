"""The ``esimhub`` command."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from esimhub.cli import balance, catalogue, esims, network, partner, webhooks
from esimhub.cli.common import console, errors, refuse

if TYPE_CHECKING:
    from esimhub.config import Settings

app = typer.Typer(
    help="esimhub: an eSIM distribution platform with an Airalo-compatible API.",
    no_args_is_help=True,
)
app.add_typer(partner.app, name="partner")
app.add_typer(catalogue.app, name="catalogue")
app.add_typer(balance.app, name="balance")
app.add_typer(balance.refunds_app, name="refund")
app.add_typer(esims.inventory_app, name="inventory")
app.add_typer(esims.brand_app, name="brand")
app.add_typer(esims.mail_app, name="mail")
app.add_typer(network.app, name="network")
app.add_typer(network.clock_app, name="clock")
app.add_typer(webhooks.app, name="webhooks")

db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Run the database migrations (before serving a new version on PostgreSQL)."""
    from esimhub import db
    from esimhub.config import get_settings

    db.upgrade(get_settings().database_url, revision)
    console.print(f"Database at {revision}.")


def _counts(by_status: dict[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in by_status.items()) or "none"


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="One pass over what is due, then exit.")] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's /metrics (passes, delivery lag) on this port."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
) -> None:
    """Deliver webhooks and mail, place due scheduled orders, settle eSIMs (run any number)."""
    import asyncio

    from esimhub.config import get_settings
    from esimhub.kit import logs
    from esimhub.runtime import Runtime
    from esimhub.worker import Worker

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_style)

    async def main() -> None:
        runtime = Runtime.create(settings)
        if metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr=metrics_host, registry=runtime.metrics.registry)
        runner = Worker(runtime)
        try:
            if once:
                tally = await runner.run_once()
                console.print(
                    f"eSIMs settled: {tally.settled}; scheduled orders: {_counts(tally.orders)}; "
                    f"webhook events: {_counts(tally.events)}; mail sent: {tally.mail}"
                )
            else:
                await runner.run_forever()
        finally:
            await runner.aclose()
            await runtime.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            help="Load the demo catalogue if empty and print the demo partner's credentials."
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port. Limits are shared only through Redis.",
        ),
    ] = 1,
    migrate: Annotated[
        bool,
        typer.Option(help="Run the database migrations first (always done on SQLite)."),
    ] = False,
) -> None:
    """Serve the partner API (migrates an embedded SQLite database on first start)."""
    import asyncio

    import uvicorn

    from esimhub import db
    from esimhub.app import create_app, server_options, settle_heap
    from esimhub.cli import demo as demo_setup
    from esimhub.config import get_settings
    from esimhub.kit import logs

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_style)
    if settings.is_sqlite or migrate:
        db.upgrade(settings.database_url)
    problem = asyncio.run(_readiness(settings))
    if problem is not None:
        if demo:
            refuse(problem)
        errors.print(
            f"[yellow]{problem}. /readyz answers 503 until it is fixed.[/]", soft_wrap=True
        )
    if demo:
        base = settings.public_base_url or f"http://{host}:{port}"
        asyncio.run(demo_setup.prepare(settings, base_url=base.rstrip("/")))
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        **server_options(settings),
    }
    if workers > 1:
        if not settings.redis_url:
            console.print(
                "[yellow]Without ESIMHUB_REDIS_URL each of the workers keeps its own rate limits"
                " and usage polling limit.[/]"
            )
        uvicorn.run("esimhub.app:served_app", factory=True, workers=workers, **options)
        return
    app = create_app(settings)
    settle_heap()
    uvicorn.run(app, **options)


async def _readiness(settings: Settings, exc: BaseException | None = None) -> str | None:
    """Why the database cannot serve (one line), or ``None``. Given the error a command ended
    with: only if the database is why (``db.unusable``)."""
    from esimhub import db

    engine = db.engine_for(settings)
    try:
        return await (db.readiness(engine) if exc is None else db.unusable(engine, exc))
    finally:
        await engine.dispose()


def main() -> None:
    """``esimhub``: the commands, with one mapping of what ends them. A command that meets a
    database it cannot use (unreachable, or not migrated) ends with one line saying so and exit
    code 1, not a traceback; any other error is a bug, and keeps its traceback."""
    try:
        app()
    except Exception as exc:
        import asyncio

        from esimhub.config import get_settings

        problem = asyncio.run(_readiness(get_settings(), exc))
        if problem is None:
            raise
        errors.print(f"[red]{problem}[/]", soft_wrap=True)
        sys.exit(1)
