"""The ``esimhub`` command."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from esimhub.cli import balance, catalogue, esims, network, partner, webhooks
from esimhub.cli.common import bad_usage, console, errors, refuse

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

    from esimhub import tracing
    from esimhub.config import get_settings
    from esimhub.kit import logs
    from esimhub.runtime import Runtime
    from esimhub.worker import Worker

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_style)

    async def main() -> None:
        runtime = Runtime.create(settings)
        tracing.instrument(engine=runtime.engine)
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
    tls: Annotated[
        bool,
        typer.Option(
            help="Serve HTTPS with a certificate from esimhub's own local CA (made once under"
            " ESIMHUB_DATA_DIR/tls)."
        ),
    ] = False,
    tls_name: Annotated[
        list[str] | None,
        typer.Option(help="Another name or address for the certificate (repeatable)."),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Your own certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Its private key (PEM).")
    ] = None,
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
        scheme = "https" if tls or tls_cert else "http"
        base = settings.public_base_url or f"{scheme}://{host}:{port}"
        asyncio.run(demo_setup.prepare(settings, base_url=base.rstrip("/")))
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        **server_options(settings),
        **_tls_options(settings, tls=tls, names=tls_name or [], cert=tls_cert, key=tls_key),
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


def _tls_options(
    settings: Settings, *, tls: bool, names: list[str], cert: Path | None, key: Path | None
) -> dict[str, str]:
    """uvicorn's certificate options: your own pair, or esimhub's local CA's."""
    if (cert is None) != (key is None):
        bad_usage("give both --tls-cert and --tls-key")
    if cert is not None and key is not None:
        return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    if not tls:
        if names:
            bad_usage("--tls-name needs --tls")
        return {}
    from esimhub.cli import tls as local_tls

    made = local_tls.ensure(settings.data_dir / "tls", names)
    for line in local_tls.how_to_trust(made.ca):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    return {"ssl_certfile": str(made.cert), "ssl_keyfile": str(made.key)}


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
