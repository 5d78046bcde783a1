"""The load bench: esimhub's hot paths under ``wrk``, each against an anchor started by the same
command (see ``bench/baselines.py``), on loopback.

    python -m bench.load [--duration S] [--rounds N] [--esims N] [--backends sqlite,postgres]

Servers are pinned to CPU 0 and ``wrk`` to CPU 1 (``taskset``), 32 connections. Each row runs
esimhub and its anchor in turn for ``--rounds`` rounds (the order alternating), after a warm-up,
and reports medians: requests per second, p50, p99, and requests that did not get the expected
status. The table is printed and written to ``bench/results/<date>.md``.

Usage 200 rows poll distinct eSIMs with the polling limit off (``ESIMHUB_USAGE_POLL_POLICY=off``:
a limit of one poll per 15 minutes would make every later poll a 429); the 429 row polls one eSIM
under the default limit. Per-endpoint limits are off, or the token row would hit 3 a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text
from tests.fixtures.database import (
    POSTGRES_URL,
    REDIS_URL,
    _create_postgres_database,
    _drop_postgres_database,
    _postgres_server_url,
    redis_key_prefix,
)
from tests.fixtures.factories import PartnerCredentials, create_partner, place_order
from tests.fixtures.servers import free_port

from esimhub import db
from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import Clock
from esimhub.models import Sim, SimPackage

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, LOAD_CPU = "0", "1"
CONNECTIONS = 32
PACKAGE = "kallur-digital-7days-1gb"
SECRET_KEY = "bench-load-secret-key-of-32-characters!"


# -- data -------------------------------------------------------------------------------------


async def load_esims(settings: Settings, partner: PartnerCredentials, count: int) -> list[str]:
    """``count`` eSIMs of ``partner``: one ordered the normal way, the rest copied from it with
    set-based SQL (its package row too). Returns every ICCID."""
    (template,) = await place_order(settings, Clock(), partner, PACKAGE)
    series = (
        "SELECT generate_series(1, :count) AS n"
        if settings.database_url.startswith("postgresql")
        else "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count)"
        " SELECT n FROM s"
    )
    iccid = (
        "'8988' || lpad(n::text, 15, '0')"
        if settings.database_url.startswith("postgresql")
        else "'8988' || substr('000000000000000' || n, -15)"
    )
    copied = {"iccid": iccid, "share_id": "NULL", "qr_png": "NULL", "qr_svg": "NULL"}
    sim_columns = [c.name for c in Sim.__table__.columns if c.name != "id"]
    package_columns = [c.name for c in SimPackage.__table__.columns if c.name != "id"]
    # column names come from our own models, not from input
    copy_sims = (
        f"INSERT INTO sims ({', '.join(sim_columns)}) SELECT "  # noqa: S608
        + ", ".join(copied.get(c, f"t.{c}") for c in sim_columns)
        + f" FROM ({series}) AS numbers, sims AS t WHERE t.id = :template"
    )
    copy_packages = (
        f"INSERT INTO sim_packages ({', '.join(package_columns)}) SELECT "  # noqa: S608
        + ", ".join("s.id" if c == "sim_id" else f"p.{c}" for c in package_columns)
        + " FROM sims AS s, sim_packages AS p"
        " WHERE p.sim_id = :template AND s.iccid LIKE '8988%' AND s.id <> :template"
    )
    async with transaction(settings) as session:
        await session.execute(text(copy_sims), {"count": count - 1, "template": template.id})
        await session.execute(text(copy_packages), {"template": template.id})
        query = text("SELECT iccid FROM sims WHERE partner_id = :p")
        rows = await session.execute(query, {"p": partner.partner_id})
        return [row[0] for row in rows]


async def prepare(settings: Settings, esims: int) -> tuple[PartnerCredentials, list[str]]:
    await asyncio.to_thread(db.upgrade, settings.database_url)
    async with transaction(settings) as session:
        await catalogue.generate_demo(session, clock=Clock())
    partner = await create_partner(settings, Clock(), "Load", balance_cents=10**12)
    return partner, await load_esims(settings, partner, esims)


# -- servers ----------------------------------------------------------------------------------


@contextmanager
def server(argv: list[str], env: dict[str, str], health: str, cpus: str) -> Iterator[str]:
    """``argv`` (with ``{port}``) pinned to ``cpus``; yields its base URL."""
    port = free_port()
    command = ["taskset", "-c", cpus, *(a.replace("{port}", str(port)) for a in argv)]
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
        "w+", prefix="esimhub-bench-", suffix=".log", delete=False
    )
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,  # a file, not a pipe: a pipe nobody reads stalls a server that logs
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + health, timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{argv} did not start: {Path(log.name).read_text()}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        errors = [line for line in Path(log.name).read_text().splitlines() if "ERROR" in line]
        if errors:
            print(f"  {argv[2]} logged {len(errors)} errors, first: {errors[0][:200]}")
        if not os.environ.get("BENCH_KEEP_LOGS"):
            os.unlink(log.name)
        else:
            print(f"  log: {log.name}")


@contextmanager
def postgres_database() -> Iterator[str]:
    name = asyncio.run(_create_postgres_database())
    try:
        yield _postgres_server_url(POSTGRES_URL, name)
    finally:
        asyncio.run(_drop_postgres_database(name))


def esimhub(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "ESIMHUB_DATABASE_URL": settings.database_url,
        "ESIMHUB_SECRET_KEY": SECRET_KEY,
        "ESIMHUB_RATE_LIMITS": "off",
        "ESIMHUB_EMBEDDED_WORKER": "false",
        "ESIMHUB_SWEEP_SECONDS": "0",
        "ESIMHUB_LOG_LEVEL": "WARNING",
        # a fixed public URL, as in production: the catalogue's links and ETag do not carry the
        # port each row's server happens to get
        "ESIMHUB_PUBLIC_BASE_URL": "http://esimhub.bench",
        **extra,
    }


def baseline(kind: str, database_url: str = "", catalogue: Path | None = None) -> list[str]:
    argv = [sys.executable, "-m", "bench.baselines", kind, "--port", "{port}"]
    if database_url:
        argv += ["--database-url", database_url]
    if catalogue is not None:
        argv += ["--catalogue", str(catalogue)]
    return argv


ESIMHUB = [sys.executable, "-m", "esimhub", "serve", "--port", "{port}"]


@dataclass
class Spec:
    """How to start a server: its command line (with ``{port}``), environment, health path."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health: str = "/v2/sims/x/usage"
    cpus: str = SERVER_CPU


def up(spec: Spec) -> AbstractContextManager[str]:
    return server(spec.argv, spec.env, spec.health, spec.cpus)


# -- wrk --------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str = "GET"
    paths: list[str] = field(default_factory=lambda: ["/"])
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    expect: int = 200


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    unexpected: int


LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
wrk.method = "%(method)s"
%(headers)s
%(body)s
request = function()
  i = i %% #paths + 1
  return wrk.format(nil, paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("p50_us %%d\\np99_us %%d\\n", latency:percentile(50), latency:percentile(99)))
end
"""
# No Lua ``response`` hook (it makes wrk parse every answer): unexpected answers are counted from
# wrk's "Non-2xx or 3xx responses" (where 2xx/3xx is expected) and its total (where 429 is).


def wrk(url: str, request: Request, seconds: float, workdir: Path) -> Run:
    paths = workdir / "paths.txt"
    paths.write_text("\n".join(request.paths) + "\n")
    script = workdir / "script.lua"
    script.write_text(
        LUA
        % {
            "paths": paths,
            "method": request.method,
            "headers": "\n".join(
                f'wrk.headers["{k}"] = [==[{v}]==]' for k, v in request.headers.items()
            ),
            "body": f"wrk.body = [==[{request.body}]==]" if request.body else "",
        }
    )
    command = [
        "taskset",
        "-c",
        LOAD_CPU,
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{round(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    out = done.stdout
    if done.returncode or "Requests/sec" not in out or "p99_us" not in out:
        raise RuntimeError(f"wrk failed on {url}: {out}{done.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = int(re.search(r"p50_us (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    p99 = int(re.search(r"p99_us (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    unexpected = sum(int(x) for x in errors.groups()) if errors else 0
    if request.expect < 400 and non2xx:
        unexpected += int(non2xx.group(1))
    if request.expect >= 400:
        total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        unexpected += total - int(non2xx.group(1) if non2xx else 0)
    return Run(rps, p50, p99, unexpected)


# -- the table --------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    ours: str  # server key
    anchor: str
    request: Request
    anchor_request: Request | None = None
    target: float | None = None  # the ratio to reach


def measure(
    rows: list[Row], specs: dict[str, Spec], rounds: int, seconds: float, workdir: Path
) -> list[tuple[Row, Run, Run]]:
    """Each row with its two servers started for it alone (so a database never serves more
    pools than it has connections for, and every row starts from the same state)."""
    results = []
    for row in rows:
        with up(specs[row.ours]) as ours_url, up(specs[row.anchor]) as anchor_url:
            results.append(_measure_row(row, ours_url, anchor_url, rounds, seconds, workdir))
        a, b = results[-1][1], results[-1][2]
        print(
            f"{row.name:58} {a.rps:8.0f} {b.rps:8.0f} {a.rps / max(b.rps, 1):6.2f}x"
            f"  p99 {a.p99_ms:7.1f} ms  unexpected {a.unexpected}",
            flush=True,
        )
    return results


def _measure_row(
    row: Row, ours_url: str, anchor_url: str, rounds: int, seconds: float, workdir: Path
) -> tuple[Row, Run, Run]:
    if row.request.expect == 429:  # the first poll opens the window the rest are refused in
        for path in row.request.paths:
            httpx.get(ours_url + path, headers=row.request.headers)
    ours: list[Run] = []
    theirs: list[Run] = []
    anchor_request = row.anchor_request or row.request
    wrk(ours_url, row.request, 1, workdir)  # warm-up
    wrk(anchor_url, anchor_request, 1, workdir)
    for number in range(rounds):
        order = [(ours_url, row.request, ours), (anchor_url, anchor_request, theirs)]
        for url, request, runs in order if number % 2 == 0 else reversed(order):
            runs.append(wrk(url, request, seconds, workdir))
    return row, _median(ours), _median(theirs)


def _median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.rps for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.unexpected for r in runs),
    )


def report(results: list[tuple[Row, Run, Run]], args: argparse.Namespace) -> str:
    lines = [
        f"# Load bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m bench.load --duration {args.duration} --rounds {args.rounds}"
        f" --esims {args.esims} --backends {args.backends}`; {platform.machine()}, {os.cpu_count()} CPUs,"
        f" {platform.python_implementation()} {platform.python_version()},"
        f" {_cpu_model()}; server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU},"
        f" {CONNECTIONS} connections, medians of {args.rounds} alternated rounds.",
        "",
        "| scenario | esimhub rps | p50 ms | p99 ms | unexpected | anchor | anchor rps | ratio"
        " | target |",
        "|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for row, ours, theirs in results:
        ratio = ours.rps / max(theirs.rps, 1)
        target = (
            ""
            if row.target is None
            else f"≥ {row.target}× " + ("met" if ratio >= row.target else "**missed**")
        )
        lines.append(
            f"| {row.name} | {ours.rps:,.0f} | {ours.p50_ms:.1f} | {ours.p99_ms:.1f} |"
            f" {ours.unexpected} | {row.anchor} | {theirs.rps:,.0f} | {ratio:.2f}× | {target} |"
        )
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def token_for(url: str, partner: PartnerCredentials) -> str:
    answer = httpx.post(f"{url}/v2/token", data=partner.form(), timeout=30)
    token: str = answer.json()["data"]["access_token"]
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--esims", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("the load bench needs wrk and taskset: apt-get install wrk util-linux")

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        specs: dict[str, Spec] = {"starlette-json": Spec(baseline("starlette-json"))}
        rows: list[Row] = []
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / 'load.db'}"
            else:
                url = stack.enter_context(postgres_database())
            settings = Settings(database_url=url, secret_key=SECRET_KEY)
            started = time.monotonic()
            partner, iccids = asyncio.run(prepare(settings, args.esims))
            print(f"{backend}: {len(iccids):,} eSIMs in {time.monotonic() - started:.1f} s")
            extra = (
                {"ESIMHUB_REDIS_URL": REDIS_URL, "ESIMHUB_REDIS_KEY_PREFIX": redis_key_prefix()}
                if backend == "postgres"
                else {}
            )
            ours = f"esimhub {backend}"
            specs |= {
                ours: Spec(ESIMHUB, esimhub(settings, **extra), "/healthz"),
                f"{ours} (poll limit off)": Spec(
                    ESIMHUB, esimhub(settings, ESIMHUB_USAGE_POLL_POLICY="off", **extra), "/healthz"
                ),
                f"{ours} (poll limit off), 1 worker on 2 CPUs": Spec(
                    ESIMHUB,
                    esimhub(settings, ESIMHUB_USAGE_POLL_POLICY="off", **extra),
                    "/healthz",
                    cpus=f"{SERVER_CPU},{LOAD_CPU}",
                ),
                f"{ours} (poll limit off), --workers 2": Spec(
                    [*ESIMHUB, "--workers", "2"],
                    esimhub(settings, ESIMHUB_USAGE_POLL_POLICY="off", **extra),
                    "/healthz",
                    cpus=f"{SERVER_CPU},{LOAD_CPU}",
                ),
                f"FastAPI + {backend} lookup": Spec(baseline("lookup", url)),
                f"FastAPI {backend} token": Spec(baseline("token", url), health="/docs"),
                f"FastAPI {backend} order": Spec(baseline("order", url), health="/docs"),
            }
            full = "/v2/packages?include=topup"
            with up(specs[ours]) as live:
                auth = {"Authorization": f"Bearer {token_for(live, partner)}"}
                catalogue_answer = httpx.get(live + full, headers=auth, timeout=60)
            usage_paths = [f"/v2/sims/{i}/usage" for i in iccids]
            form = "&".join(f"{k}={v}" for k, v in partner.form().items())
            form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
            order = Request(
                "POST",
                ["/v2/orders"],
                {**auth, "Content-Type": "application/json"},
                f'{{"package_id": "{PACKAGE}", "quantity": 1}}',
            )
            rows += [
                Row(
                    f"GET /v2/sims/{{iccid}}/usage 200, {backend}",
                    f"{ours} (poll limit off)",
                    f"FastAPI + {backend} lookup",
                    Request(paths=usage_paths, headers=auth),
                    target=1.0,
                ),
                Row(
                    f"usage 429 (polled within 15 min), {backend}",
                    ours,
                    "starlette-json",
                    Request(paths=usage_paths[:1], headers=auth, expect=429),
                    target=0.5,
                ),
                Row(
                    f"POST /v2/token, {backend}",
                    ours,
                    f"FastAPI {backend} token",
                    Request("POST", ["/v2/token"], form_headers, form),
                    target=0.5,
                ),
                Row(
                    f"POST /v2/orders quantity 1, {backend}",
                    ours,
                    f"FastAPI {backend} order",
                    order,
                ),
            ]
            if backend == "postgres":  # processes share limits through Redis
                rows.append(
                    Row(
                        "usage 200, postgres, --workers 2 vs 1 (server and wrk share 2 CPUs)",
                        f"{ours} (poll limit off), --workers 2",
                        f"{ours} (poll limit off), 1 worker on 2 CPUs",
                        Request(paths=usage_paths, headers=auth),
                    )
                )
            if backend == args.backends.split(",")[0]:
                (workdir / "catalogue.json").write_bytes(catalogue_answer.content)
                etag = catalogue_answer.headers["etag"]
                specs["starlette bytes"] = Spec(
                    [*baseline("bytes", catalogue=workdir / "catalogue.json"), "--etag", etag],
                    health="/v2/packages",
                )
                size = len(catalogue_answer.content) / 1e6
                rows += [
                    Row(
                        f"GET {full} ({size:.1f} MB), {backend}",
                        ours,
                        "starlette bytes",
                        Request(paths=[full], headers=auth),
                        Request(paths=["/v2/packages"]),
                        target=0.8,
                    ),
                    Row(
                        f"same with If-None-Match → 304, {backend}",
                        ours,
                        "starlette bytes",
                        Request(paths=[full], headers={**auth, "If-None-Match": etag}, expect=304),
                        Request(
                            paths=["/v2/packages"], headers={"If-None-Match": etag}, expect=304
                        ),
                        target=0.5,
                    ),
                ]
        print(f"{'scenario':58} {'esimhub':>8} {'anchor':>8} {'ratio':>7}")
        results = measure(rows, specs, args.rounds, args.duration, workdir)
    table = report(results, args)
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}.md"
    out.parent.mkdir(exist_ok=True)
    earlier = out.read_text() if out.exists() else ""  # the day's earlier runs stay, above
    out.write_text(f"{earlier}\n{table}" if earlier else table)
    print(f"\n{table}\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
