"""``esimhub network ...``: what the mobile network would report, for sandboxes and demos;
``esimhub clock ...``: the movable sandbox clock."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from esimhub.cli.common import clock, console, errors, refuse, run
from esimhub.kit.clock import Clock, format_datetime, parse_duration
from esimhub.kit.statuses import PackageStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from esimhub.usage.lifecycle import SimState

app = typer.Typer(
    help="Simulate the mobile network: installs, attaches, traffic.", no_args_is_help=True
)
clock_app = typer.Typer(
    help="The system clock (movable in sandbox deployments).", no_args_is_help=True
)


def _describe(state: SimState) -> str:
    from esimhub.usage import lifecycle

    report = state.report()
    if report.package is None:
        return report.status
    package = report.package
    left = "unlimited" if package.is_unlimited else f"{lifecycle.remaining_mb(package)} MB left"
    until = f", until {format_datetime(package.expired_at)}" if package.expired_at else ""
    return f"{report.status} ({package.package_id}: {left}{until})"


def _network(action: str, work: Callable[[AsyncSession], Awaitable[SimState]]) -> None:
    from esimhub.network import service as network

    try:
        state = run(work)
    except network.NetworkError as exc:
        refuse(str(exc))
    console.print(f"{state.sim.iccid} {action}: {_describe(state)}")


@app.command("install")
def install(iccid: str) -> None:
    """The end user installed the profile (activates `installation`-policy packages)."""
    from esimhub.network import service as network

    async def work(session: AsyncSession) -> SimState:
        return await network.install(session, iccid, clock().now())

    _network("installed", work)


@app.command("attach")
def attach(
    iccid: str,
    country: Annotated[
        str | None, typer.Option(help="ISO country the device registers in (default: anywhere).")
    ] = None,
) -> None:
    """The device registered on a network: first use for `first-usage` packages."""
    from esimhub.network import service as network

    async def work(session: AsyncSession) -> SimState:
        return await network.attach(session, iccid, clock().now(), country)

    _network("attached", work)


@app.command("consume")
def consume(
    iccid: str,
    mb: Annotated[
        float, typer.Option("--mb", min=0, help="Data in MB (1 MB = 1,048,576 bytes).")
    ] = 0,
    voice_min: Annotated[float, typer.Option("--voice-min", min=0, help="Voice minutes.")] = 0,
    sms: Annotated[int, typer.Option("--sms", min=0, help="Text messages.")] = 0,
    country: Annotated[str | None, typer.Option(help="ISO country of the traffic.")] = None,
) -> None:
    """Traffic on the eSIM, charged like a usage-feed record (an unused eSIM attaches first)."""
    if not (mb or voice_min or sms):
        raise typer.BadParameter("give --mb, --voice-min or --sms")
    from esimhub.network import service as network

    async def work(session: AsyncSession) -> SimState:
        return await network.consume(
            session,
            iccid,
            clock().now(),
            megabytes=mb,
            voice_minutes=voice_min,
            sms=sms,
            country=country,
        )

    _network("consumed", work)


# -- the traffic generator --------------------------------------------------------------------


# an eSIM in one of these states takes no more traffic
ENDED = {PackageStatus.RECYCLED, PackageStatus.FINISHED, PackageStatus.EXPIRED}


@dataclass
class Device:
    """One simulated phone: browses in sessions of bursts, with idle gaps."""

    iccid: str
    rate_mb_s: float  # while a session is on
    session_left: float = 0.0
    idle_left: float = 0.0
    used_mb: float = 0.0
    status: str = PackageStatus.NOT_ACTIVE
    remaining: str = ""

    def traffic(self, rng: random.Random, seconds: float) -> float:
        """MB used over ``seconds`` of simulated time."""
        if self.idle_left > 0:
            self.idle_left -= seconds
            return 0.0
        if self.session_left <= 0:
            self.session_left = rng.expovariate(1 / 120)  # sessions of ~2 minutes
        used = self.rate_mb_s * rng.uniform(0.2, 1.8) * min(seconds, self.session_left)
        self.session_left -= seconds
        if self.session_left <= 0:
            self.idle_left = rng.expovariate(1 / 300)  # then ~5 minutes idle
        return used


def _table(devices: Sequence[Device], elapsed: float, speed: float) -> Table:
    table = Table(title=f"esimhub network · {elapsed * speed:,.0f} s simulated at {speed:g}×")
    for column in ("ICCID", "status", "used (MB)", "left"):
        table.add_column(column, justify="right" if column != "ICCID" else "left")
    for device in devices:
        table.add_row(device.iccid, device.status, f"{device.used_mb:,.1f}", device.remaining)
    return table


def _devices(iccids: Sequence[str]) -> list[Device]:
    rng = random.Random()
    return [Device(iccid, rate_mb_s=rng.uniform(0.05, 0.6)) for iccid in iccids]


async def _simulate(sims: int, speed: float, duration: float | None, tick: float) -> list[Device]:
    import asyncio

    from esimhub.clock.tasks import read_offset
    from esimhub.config import get_settings
    from esimhub.db import create_sessionmaker, engine_for
    from esimhub.network import service as network
    from esimhub.network import tasks as network_tasks
    from esimhub.usage import lifecycle

    settings = get_settings()
    engine = engine_for(settings)
    sessionmaker = create_sessionmaker(engine)
    rng = random.Random()
    system = Clock()
    devices = _devices(await network_tasks.newest_sold_iccids(sessionmaker, sims))
    if not devices:
        errors.print("[yellow]No sold eSIMs to simulate: place some orders first.[/]")
        return []
    started = time.monotonic()
    try:
        with Live(_table(devices, 0, speed), console=console, refresh_per_second=4) as live:
            while duration is None or time.monotonic() - started < duration:
                await asyncio.sleep(tick)
                system.offset = await read_offset(sessionmaker)
                for device in devices:
                    if device.status in {*ENDED, "gone"}:
                        continue
                    mb = device.traffic(rng, tick * speed)
                    if mb <= 0 and device.status != PackageStatus.NOT_ACTIVE:
                        continue
                    try:
                        state = await network_tasks.burst(
                            sessionmaker, device.iccid, system.now(), megabytes=max(mb, 0.001)
                        )
                    except network.NetworkError:
                        device.status = "gone"
                        continue
                    # what the network charged, over every package the eSIM has had
                    device.used_mb = sum(p.used_bytes for p in state.packages) / lifecycle.MIB
                    report = state.report()
                    device.status = report.status
                    package = report.package
                    device.remaining = (
                        "unlimited"
                        if package and package.is_unlimited
                        else f"{lifecycle.remaining_mb(package)} MB"
                        if package
                        else "-"
                    )
                live.update(_table(devices, time.monotonic() - started, speed))
    except KeyboardInterrupt:
        pass
    finally:
        await engine.dispose()
    return devices


@app.command("simulate")
def simulate(
    sims: Annotated[
        int, typer.Option(min=1, help="How many of the newest sold eSIMs to drive.")
    ] = 10,
    speed: Annotated[
        float, typer.Option(min=0.1, help="Simulated seconds of traffic per real second.")
    ] = 60.0,
    duration: Annotated[
        float | None,
        typer.Option(min=0.1, help="Stop after this many real seconds (default: Ctrl-C)."),
    ] = None,
    tick: Annotated[float, typer.Option(min=0.05, help="Real seconds between rounds.")] = 1.0,
) -> None:
    """Drive realistic traffic (sessions of bursts, idle gaps) through the usage feed, live."""
    import asyncio

    devices = asyncio.run(_simulate(sims, speed, duration, tick))
    total = sum(d.used_mb for d in devices)
    console.print(f"{len(devices)} eSIMs driven; {total:,.1f} MB charged to them in all.")


# -- the clock --------------------------------------------------------------------------------


def _move(**how: Any) -> None:
    import asyncio

    from esimhub.clock.service import ClockBackwards, ClockControlDisabled
    from esimhub.clock.tasks import move_and_settle, read_offset
    from esimhub.config import get_settings
    from esimhub.db import create_sessionmaker, engine_for

    settings = get_settings()

    async def main() -> tuple[datetime, int]:
        engine = engine_for(settings)
        try:
            sessionmaker = create_sessionmaker(engine)
            system = Clock(await read_offset(sessionmaker))
            return await move_and_settle(settings, system, sessionmaker, **how)
        finally:
            await engine.dispose()

    try:
        now, settled = asyncio.run(main())
    except ClockControlDisabled:
        refuse("The clock cannot be moved on this deployment (ESIMHUB_ENV=production).")
    except ClockBackwards as exc:
        refuse(str(exc))
    console.print(f"Clock now {now.isoformat()} · {settled} eSIM(s) settled.")


@clock_app.command("show")
def show() -> None:
    """The system time, and how far it has been moved from real time."""
    from esimhub.clock.service import stored_offset

    offset = run(stored_offset)
    console.print(f"{Clock(offset).now().isoformat()} (moved {offset} from real time)")


@clock_app.command("advance")
def advance(by: Annotated[str, typer.Argument(help="A duration: 3d, 15m, 1d12h, 90s.")]) -> None:
    """Move the clock forward; expiry, thresholds and recycling follow at once."""
    try:
        delta = parse_duration(by)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="BY") from None
    _move(by=delta)


@clock_app.command("set")
def set_clock(
    to: Annotated[str, typer.Argument(help="An ISO timestamp, e.g. 2027-01-01T00:00:00Z.")],
) -> None:
    """Move the clock forward to a moment."""
    try:
        moment = datetime.fromisoformat(to.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{to!r} is not an ISO timestamp", param_hint="TO") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2027-01-01T00:00:00Z", param_hint="TO")
    _move(to=moment)


@clock_app.command("reset")
def reset() -> None:
    """Back to real time (what already happened stays)."""
    _move(reset=True)
