"""The usage polling limit (three policies), Airalo's per-endpoint limits, Redis sharing and
failing open."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import redis as sync_redis

from esimhub import limits
from esimhub.kit.clock import FrozenClock
from tests.fixtures.clients import get_token
from tests.fixtures.database import REDIS_URL, redis_key_prefix, statements_run
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.sandbox import Sandbox, sandbox
from tests.fixtures.servers import free_port, server_processes

KALLUR = "kallur-digital-7days-1gb"
TOO_MANY = {"message": "Too Many Attempts."}


async def test_a_second_poll_within_15_minutes_is_refused_until_the_window_reopens(
    box: Sandbox,
) -> None:
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    first = await box.usage(iccid)
    assert first.status_code == 200
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == (
        "1",
        "0",
    )

    box.clock.advance(timedelta(seconds=60))
    refused = await box.usage(iccid)
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert refused.headers["retry-after"] == "840"
    assert refused.headers["x-ratelimit-limit"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    reopens = int((box.clock.now() + timedelta(seconds=840)).timestamp())
    assert refused.headers["x-ratelimit-reset"] == str(reopens)

    box.clock.advance(timedelta(seconds=839))
    almost = await box.usage(iccid)
    assert (almost.status_code, almost.headers["retry-after"]) == (429, "1")

    box.clock.advance(timedelta(seconds=1))  # exactly 15 minutes after the first poll
    assert (await box.usage(iccid)).status_code == 200


async def test_the_limit_is_per_esim_and_shared_by_v1_and_v2(box: Sandbox) -> None:
    order = await box.partner.order(KALLUR, quantity=2)
    first, second = (s["iccid"] for s in order["sims"])
    assert (await box.usage(first)).status_code == 200
    assert (await box.usage(second)).status_code == 200
    assert (await box.usage(first, "v1")).status_code == 429


async def test_package_history_has_its_own_15_minute_limit(box: Sandbox) -> None:
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    assert (await box.usage(iccid)).status_code == 200
    assert (await box.partner.get(f"/v2/sims/{iccid}/packages")).status_code == 200
    again = await box.partner.get(f"/v2/sims/{iccid}/packages")
    assert (again.status_code, again.json()) == (429, TOO_MANY)


async def test_the_429_is_decided_without_touching_the_database(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    # the partner cache on, as deployed (tests turn it off elsewhere)
    async with sandbox(database_url, clock, make_partner, partner_cache_seconds=60) as box:
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        assert (await box.usage(iccid)).status_code == 200
        with statements_run(box.app.state.runtime.engine) as statements:
            assert (await box.usage(iccid)).status_code == 429
        assert statements == []


async def test_current_policy_allows_10_a_minute_and_serves_a_cached_body(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(database_url, clock, make_partner, usage_poll_policy="current") as box:
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        await box.network("attach", iccid)
        first = await box.usage_data(iccid)
        await box.consume(iccid, mb=100)
        for _ in range(8):
            clock.advance(timedelta(milliseconds=250))  # under 5 per second per partner
            assert await box.usage_data(iccid) == first  # cached for 20 minutes
        clock.advance(timedelta(milliseconds=250))
        last = await box.usage(iccid)
        assert (last.status_code, last.headers["x-ratelimit-remaining"]) == (200, "0")
        clock.advance(timedelta(milliseconds=250))
        eleventh = await box.usage(iccid)
        assert (eleventh.status_code, eleventh.json()) == (429, TOO_MANY)

        clock.advance(timedelta(minutes=20))
        assert (await box.usage_data(iccid))["remaining"] == first["remaining"] - 100


async def test_current_policy_limits_a_partner_to_5_a_second(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(database_url, clock, make_partner, usage_poll_policy="current") as box:
        sims = (await box.partner.order(KALLUR, quantity=6))["sims"]
        codes = [(await box.usage(s["iccid"])).status_code for s in sims]
        assert codes == [200] * 5 + [429]


async def test_policy_off_never_limits(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(database_url, clock, make_partner, usage_poll_policy="off") as box:
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        for _ in range(20):
            response = await box.usage(iccid)
            assert response.status_code == 200
            assert "x-ratelimit-limit" not in response.headers


async def test_endpoint_limits_token_packages_refund(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(database_url, clock, make_partner, rate_limits=True) as box:
        # one token was taken by the sandbox: 2 more this minute, then 429
        credentials = box.partner.credentials
        for _ in range(2):
            await get_token(box.client, credentials)
        refused = await box.client.post("/v2/token", data=credentials.form())
        assert (refused.status_code, refused.json()) == (429, TOO_MANY)
        assert refused.headers["retry-after"] == "20"
        clock.advance(timedelta(seconds=20))
        await get_token(box.client, credentials)

        for number in range(80):
            response = await box.partner.get("/v2/packages", params={"filter[country]": "FO"})
            assert response.status_code == 200
            assert response.headers["x-ratelimit-remaining"] == str(79 - number)
        assert (
            await box.partner.get("/v2/packages", params={"filter[country]": "FO"})
        ).status_code == 429

        for _ in range(5):
            assert (await box.partner.post("/v2/refund", json={})).status_code == 422
        assert (await box.partner.post("/v2/refund", json={})).status_code == 429


async def test_endpoint_limits_can_be_switched_off(box: Sandbox) -> None:
    for _ in range(5):
        await get_token(box.client, box.partner.credentials)


async def test_an_unreachable_redis_fails_open_and_is_counted(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(
        database_url,
        clock,
        make_partner,
        redis_url="redis://127.0.0.1:1/0",
        rate_limits=True,
        rate_limit_fallback="open",
    ) as box:
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        assert (await box.usage(iccid)).status_code == 200
        assert (await box.usage(iccid)).status_code == 200
        metrics = (await box.client.get("/metrics")).text
        line = next(
            x for x in metrics.splitlines() if x.startswith("esimhub_rate_limiter_failures_total")
        )
        assert float(line.split()[-1]) >= 3  # the token request and both polls


async def test_an_unreachable_redis_falls_back_to_a_limit_in_this_process(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    """The default fallback (local): Redis is down, the polling limit still holds."""
    async with sandbox(database_url, clock, make_partner, redis_url="redis://127.0.0.1:1/0") as box:
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        assert (await box.usage(iccid)).status_code == 200
        second = await box.usage(iccid)
        assert second.status_code == 429
        assert int(second.headers["retry-after"]) == 900
        metrics = (await box.client.get("/metrics")).text
        line = next(
            x for x in metrics.splitlines() if x.startswith("esimhub_rate_limiter_failures_total")
        )
        assert float(line.split()[-1]) >= 2


async def test_a_closed_fallback_refuses_while_redis_is_down(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(
        database_url,
        clock,
        make_partner,
        redis_url="redis://127.0.0.1:1/0",
        rate_limit_fallback="closed",
    ) as box:
        iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
        refused = await box.usage(iccid)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"


async def test_concurrent_polls_get_exactly_one_answer_per_esim(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    """25 eSIMs polled 20 times each, all at once, through a pool of 4 Redis connections: the
    pool makes requests wait instead of failing open, so exactly 25 polls are answered. Both
    pools' waits are bounded well past the burst (under coverage tracing it takes longer than
    the default 2 s Redis bound, and waiting polls hold their database connection meanwhile):
    what is tested is that requests wait, not how fast the machine is."""
    async with sandbox(
        database_url,
        clock,
        make_partner,
        redis_pool_size=4,
        redis_pool_timeout_seconds=60,
        database_pool_timeout_seconds=60,
    ) as box:
        sims = (await box.partner.order(KALLUR, quantity=25))["sims"]
        polls = [box.usage(sim["iccid"]) for sim in sims for _ in range(20)]
        statuses = Counter(response.status_code for response in await asyncio.gather(*polls))
        assert statuses == {200: 25, 429: 475}
        metrics = (await box.client.get("/metrics")).text
        line = next(
            x for x in metrics.splitlines() if x.startswith("esimhub_rate_limiter_failures_total")
        )
        assert float(line.split()[-1]) == 0


# -- two server processes, one Redis ------------------------------------------------------------


@pytest.fixture
def two_servers(database_url: str) -> Iterator[list[str]]:
    env = {
        "ESIMHUB_DATABASE_URL": database_url,
        "ESIMHUB_REDIS_URL": REDIS_URL,
        "ESIMHUB_REDIS_KEY_PREFIX": redis_key_prefix(),
    }
    with server_processes(2, **env) as servers:
        yield [server.url for server in servers]


def test_two_server_processes_sharing_redis_enforce_one_limit(
    two_servers: list[str], make_partner: PartnerFactory
) -> None:
    import asyncio

    credentials = asyncio.run(make_partner(balance_cents=10_000))
    first, second = two_servers
    token = httpx.post(f"{first}/v2/token", data=credentials.form()).json()["data"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    order = httpx.post(
        f"{first}/v2/orders", json={"package_id": KALLUR, "quantity": 1}, headers=headers
    )
    iccid = order.json()["data"]["sims"][0]["iccid"]

    assert httpx.get(f"{first}/v2/sims/{iccid}/usage", headers=headers).status_code == 200
    other = httpx.get(f"{second}/v2/sims/{iccid}/usage", headers=headers)
    assert other.status_code == 429
    assert 895 <= int(other.headers["retry-after"]) <= 900


# -- our own Redis, stopped and restarted -------------------------------------------------------


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@contextmanager
def own_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of this test's own on ``port`` (never the shared one), keeping nothing."""
    server = subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = sync_redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except sync_redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_the_polling_limit_holds_while_redis_stops_and_restarts_empty(
    database_url: str,
    clock: FrozenClock,
    make_partner: PartnerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "REDIS_RETRY_SECONDS", 0.0)  # try Redis on every request
    port = free_port()
    with own_redis(port) as server:
        async with sandbox(
            database_url, clock, make_partner, redis_url=f"redis://127.0.0.1:{port}/0"
        ) as box:
            first, second, third = (
                sim["iccid"] for sim in (await box.partner.order(KALLUR, quantity=3))["sims"]
            )
            assert (await box.usage(first)).status_code == 200
            assert (await box.usage(first)).status_code == 429

            server.terminate()
            server.wait(timeout=10)
            assert (await box.usage(first)).status_code == 429  # counted in this process
            assert (await box.usage(second)).status_code == 200
            assert (await box.usage(second)).status_code == 429

            with own_redis(port):  # back, and empty
                assert (await box.usage(first)).status_code == 429
                assert (await box.usage(second)).status_code == 429
                assert (await box.usage(third)).status_code == 200
                assert (await box.usage(third)).status_code == 429


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_the_polling_limit_holds_through_a_redis_stall(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    """Redis frozen (SIGSTOP) for 2.5 s while 10 eSIMs are polled 5 times each at once: requests
    give up on Redis after its 1 s socket timeout and are counted in this process instead, so
    each eSIM still gets exactly one answer, before, during and after the stall."""
    port = free_port()
    with own_redis(port) as server:
        async with sandbox(
            database_url, clock, make_partner, redis_url=f"redis://127.0.0.1:{port}/0"
        ) as box:
            iccids = [
                sim["iccid"] for sim in (await box.partner.order(KALLUR, quantity=10))["sims"]
            ]
            before = [(await box.usage(iccid)).status_code for iccid in iccids[:5]]

            server.send_signal(signal.SIGSTOP)
            try:
                stalled = time.monotonic()
                during = await asyncio.gather(*(box.usage(i) for i in iccids for _ in range(5)))
                waited = time.monotonic() - stalled
            finally:
                server.send_signal(signal.SIGCONT)
            after = [(await box.usage(iccid)).status_code for iccid in iccids]

            assert before == [200] * 5
            assert Counter(r.status_code for r in during) == {200: 5, 429: 45}
            assert all(r.json() == TOO_MANY for r in during if r.status_code == 429)
            assert after == [429] * 10
            assert waited < 5  # bounded by the socket timeout, not by the stall


def script_calls(port: int) -> int:
    """How many limiter scripts a redis-server has run (EVALSHA, and EVAL when not loaded)."""
    stats = sync_redis.Redis(port=port).info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval")
    )


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_a_refused_esim_is_refused_again_without_asking_redis(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    port = free_port()
    with own_redis(port):
        async with sandbox(
            database_url, clock, make_partner, redis_url=f"redis://127.0.0.1:{port}/0"
        ) as box:
            iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
            assert (await box.usage(iccid)).status_code == 200
            assert (await box.usage(iccid)).status_code == 429  # Redis refused it
            asked = script_calls(port)
            for _ in range(20):
                box.clock.advance(timedelta(seconds=30))
                refused = await box.usage(iccid)
                assert refused.status_code == 429
            # the same answer Redis would give: 15 minutes less the 10 that have passed
            assert refused.headers["retry-after"] == "300"
            assert refused.headers["x-ratelimit-reset"] == str(
                int((box.clock.now() + timedelta(seconds=300)).timestamp())
            )
            assert script_calls(port) == asked

            box.clock.advance(timedelta(minutes=5))  # the window reopens: Redis is asked again
            assert (await box.usage(iccid)).status_code == 200
            assert script_calls(port) == asked + 1
