"""A soak: one server process under a mixed partner load, its memory measured after a warm-up and
at the end. Growth that scales with requests (a leak, an unbounded cache, connections churned)
shows up here; caches that fill and stop do not, because they fill during the warm-up."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.fixtures.database import BACKEND, REDIS_URL, redis_key_prefix
from tests.fixtures.factories import PartnerCredentials, PartnerFactory
from tests.fixtures.servers import server_processes

KALLUR = "kallur-digital-7days-1gb"
CLIENTS = 16
WARM_UP = 3_000
WINDOW = 3_000
# Three measured windows: caches that fill and stop (SQLite's page cache of each pooled
# connection, 512 KiB, fills as the file grows) grow the first more than the later ones; a leak
# grows every window alike. A leak of 1 KiB per request would grow each window 2.9 MiB, so the
# smaller growth of the second and third windows must stay under the bound: one window's one-off
# step (the allocator taking a new arena for a connection thread, seen once in ~10 runs at
# +4.7 MiB) does not fail the test, a leak still does.
GROWTH_BOUND_MIB = 2.5


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _load(url: str, credentials: PartnerCredentials, requests: int) -> Counter[int]:
    """``requests`` partner calls from ``CLIENTS`` clients: orders, tokens, catalogue, usage,
    eSIMs and balance in turn."""
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        token = (await client.post("/v2/token", data=credentials.form())).json()
        headers = {"Authorization": f"Bearer {token['data']['access_token']}"}
        iccids: list[str] = []
        calls = iter(range(requests))

        async def one(number: int) -> httpx.Response:
            kind = number % 7
            if kind == 0 or not iccids:
                body = {"package_id": KALLUR, "quantity": 1}
                answer = await client.post("/v2/orders", json=body, headers=headers)
                if answer.status_code == 200:
                    iccids.append(answer.json()["data"]["sims"][0]["iccid"])
                return answer
            if kind == 1:
                return await client.post("/v2/token", data=credentials.form())
            if kind == 2:
                return await client.get("/v2/packages?filter[country]=JP", headers=headers)
            if kind in (3, 4):  # a first poll (200), then polls inside the window (429)
                iccid = iccids[number % len(iccids)]
                return await client.get(f"/v2/sims/{iccid}/usage", headers=headers)
            if kind == 5:
                return await client.get(f"/v2/sims/{iccids[-1]}", headers=headers)
            return await client.get("/v2/balance", headers=headers)

        async def worker() -> None:
            for number in calls:
                statuses[(await one(number)).status_code] += 1

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return statuses


@pytest.mark.slow
def test_memory_stays_flat_under_a_mixed_load(
    database_url: str, make_partner: PartnerFactory
) -> None:
    credentials = asyncio.run(make_partner(name="Soak", balance_cents=10**9))
    env = {
        "ESIMHUB_DATABASE_URL": database_url,
        "ESIMHUB_EMBEDDED_WORKER": "false",
        "ESIMHUB_RATE_LIMITS": "off",  # the per-endpoint table; the usage polling limit stays
    }
    if BACKEND == "postgres":
        env |= {"ESIMHUB_REDIS_URL": REDIS_URL, "ESIMHUB_REDIS_KEY_PREFIX": redis_key_prefix()}
    with server_processes(1, **env) as (server,):
        try:
            runs = [asyncio.run(_load(server.url, credentials, WARM_UP))]
            rss = [rss_mib(server.process.pid)]
            for _ in range(3):
                runs.append(asyncio.run(_load(server.url, credentials, WINDOW)))
                rss.append(rss_mib(server.process.pid))
        except httpx.TransportError as error:
            code = server.process.poll()
            state = "running" if code is None else f"exited {code}"
            log = server.log()
            raise AssertionError(f"{error!r}; the server is {state}; it logged:\n{log}") from error
    print(f"soak ({BACKEND}): RSS after the warm-up and each window of {WINDOW}: {rss} MiB")
    for statuses in runs:
        assert set(statuses) <= {200, 429}, statuses
    assert runs[-1][429] > 0  # the polling limit was exercised
    assert min(rss[2] - rss[1], rss[3] - rss[2]) < GROWTH_BOUND_MIB, rss
