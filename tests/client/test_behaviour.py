"""What the client does beyond sending requests: the usage cache, waiting out a 429, tokens,
and retries that never order twice."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import trustme

from esimhub.client import (
    APIConnectionError,
    AuthenticationError,
    FileStore,
    MemoryStore,
    RateLimitError,
    RedisStore,
)
from esimhub.client.models import Order
from tests.client.conftest import PACKAGE, Drive, Hub
from tests.fixtures.database import BACKEND, REDIS_URL, make_settings, redis_key_prefix
from tests.fixtures.proxy import losing_proxy
from tests.fixtures.servers import serving


def usage_requests(drive: Drive) -> int:
    return sum(1 for r in drive.sent.requests if r.url.path.endswith("/usage"))


async def test_the_usage_cache_spares_the_server(
    drive: Drive, make_drive: Callable[..., Drive], hub: Hub, tmp_path: Path
) -> None:
    order: Order = await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
    iccid = order.sims[0].iccid
    shared = FileStore(tmp_path / "usage")
    first = make_drive(usage_cache=shared)
    fresh = await first(lambda c: c.sims.usage(iccid))
    again = await first(lambda c: c.sims.usage(iccid))
    assert usage_requests(first) == 1  # the second answer sent no request
    assert not fresh.from_cache
    assert again.from_cache
    assert again.fetched_at == fresh.fetched_at
    assert again.remaining == fresh.remaining

    # another process sharing the file store: answered from it too
    other = make_drive(usage_cache=shared)
    assert (await other(lambda c: c.sims.usage(iccid))).from_cache
    assert usage_requests(other) == 0

    # a client whose clock says the window passed asks again; the server, whose window has not
    # passed, answers 429, and the last figure comes back instead of an error
    later = make_drive(usage_cache=shared, now=lambda: datetime.now(UTC) + timedelta(minutes=16))
    stale = await later(lambda c: c.sims.usage(iccid))
    assert usage_requests(later) == 1
    assert stale.from_cache
    assert stale.fetched_at == fresh.fetched_at

    # without a cache the 429 is an error that says how long to wait
    bare = make_drive(usage_ttl=0)
    with pytest.raises(RateLimitError) as limited:
        await bare(lambda c: c.sims.usage(iccid))
    assert limited.value.retry_after is not None
    assert 800 < limited.value.retry_after <= 900
    assert bare.slept == []  # 15 minutes is longer than max_retry_wait: raised, not waited


async def test_a_429_is_waited_out_on_the_servers_clock(
    drive: Drive, make_drive: Callable[..., Drive], hub: Hub
) -> None:
    order: Order = await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
    iccid = order.sims[0].iccid
    patient = make_drive(usage_ttl=0, max_retry_wait=1000, on_sleep=hub.advance)
    first = await patient(lambda c: c.sims.usage(iccid))
    second = await patient(lambda c: c.sims.usage(iccid))
    assert usage_requests(patient) == 3  # 200, 429, then 200 once the wait was over
    assert len(patient.slept) == 1
    assert 800 < patient.slept[0] <= 1000  # Retry-After, plus a little jitter
    assert not second.from_cache
    assert second.fetched_at > first.fetched_at


async def test_one_token_is_reused_then_refreshed_after_a_rotation(
    make_drive: Callable[..., Drive], hub: Hub
) -> None:
    store = MemoryStore()
    before = make_drive(token_store=store)
    for _ in range(3):
        await before(lambda c: c.balance.get())
    assert before.sent.paths().count("POST /v2/token") == 1

    secret = hub.rotate_secret()
    after = make_drive(secret=secret, token_store=store)  # the old token is still stored
    balance = await after(lambda c: c.balance.get())
    assert balance.currency == "USD"
    assert after.sent.paths() == ["GET /v2/balance", "POST /v2/token", "GET /v2/balance"]

    # the old secret gets no new token (a client sharing the store rides on the new one)
    alone = make_drive(token_store=MemoryStore())
    with pytest.raises(AuthenticationError) as refused:
        await alone(lambda c: c.balance.get())
    assert refused.value.status_code == 401
    assert alone.sent.paths() == ["POST /v2/token"]


async def test_an_order_whose_answer_is_lost_is_placed_once(
    drive: Drive, make_drive: Callable[..., Drive], hub: Hub
) -> None:
    def lose_first_order(method: str, path: str, attempt: int) -> bool:
        return (method, path, attempt) in {
            ("POST", "/v2/orders", 0),
            ("POST", "/v2/orders-async", 0),
        }

    before = await drive(lambda c: c.balance.get())
    with losing_proxy(hub.url, lose_first_order) as proxy:
        through = make_drive(url=proxy.url)
        order: Order = await through(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
        sent = proxy.requests("POST", "/v2/orders")
        assert [s.answered for s in sent] == [False, True]
        assert len({s.headers["Idempotency-Key"] for s in sent}) == 1
        assert len(through.slept) == 1

        # an async order carries no key: a lost answer is raised, never sent again
        with pytest.raises(APIConnectionError):
            await through(
                lambda c: c.orders.create_async(package_id=PACKAGE, webhook_url=hub.hook.url)
            )
        assert len(proxy.requests("POST", "/v2/orders-async")) == 1

    placed = await drive.all(lambda c: c.orders.list())
    assert [o.id for o in placed if o.type == "sim" and o.id == order.id] == [order.id]
    assert len(placed) == 2  # the retried order once, and the async order
    after = await drive(lambda c: c.balance.get())
    assert order.net_price is not None
    assert before.amount - after.amount == 2 * order.net_price


async def test_writes_are_not_resent_where_keys_are_ignored(
    make_drive: Callable[..., Drive], hub: Hub
) -> None:
    def lose_everything(method: str, path: str, attempt: int) -> bool:
        return path in {"/v2/orders", "/v2/balance"}

    with losing_proxy(hub.url, lose_everything) as proxy:
        cautious = make_drive(url=proxy.url, retry_writes=False, max_retries=2)
        with pytest.raises(APIConnectionError):
            await cautious(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
        assert len(proxy.requests("POST", "/v2/orders")) == 1
        # a read is sent again, max_retries times, then given up
        with pytest.raises(APIConnectionError):
            await cautious(lambda c: c.balance.get())
        assert len(proxy.requests("GET", "/v2/balance")) == 3
        assert len(cautious.slept) == 2


async def test_https_with_a_certificate_of_your_own(
    make_drive: Callable[..., Drive], database_url: str, tmp_path: Path
) -> None:
    authority = trustme.CA()
    leaf = authority.issue_cert("localhost")
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(certificate))
    leaf.private_key_pem.write_to_path(str(key))
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)

    settings = make_settings(database_url)
    with serving(settings, ssl_certfile=str(certificate), ssl_keyfile=str(key)) as server:
        assert server.base_url.startswith("https://localhost:")
        secure = make_drive(url=server.base_url, verify=trusted)
        balance = await secure(lambda c: c.balance.get())
        assert balance.currency == "USD"
        assert all(r.url.scheme == "https" for r in secure.sent.requests)

        stranger = make_drive(url=server.base_url, max_retries=0)  # the system's CAs only
        with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await stranger(lambda c: c.balance.get())
        await secure.close()


@pytest.mark.skipif(BACKEND != "postgres", reason="Redis is part of the PostgreSQL + Redis pass")
async def test_a_redis_store_shares_tokens_and_usage_between_clients(
    drive: Drive, make_drive: Callable[..., Drive]
) -> None:
    connection = redis.Redis.from_url(REDIS_URL)
    prefix = f"{redis_key_prefix()}client:"
    try:
        store = RedisStore(connection, prefix=prefix)
        order: Order = await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
        iccid = order.sims[0].iccid
        first = make_drive(token_store=store, usage_cache=store)
        fresh = await first(lambda c: c.sims.usage(iccid))
        second = make_drive(token_store=store, usage_cache=store)
        cached = await second(lambda c: c.sims.usage(iccid))
        assert second.sent.requests == []  # neither a token nor a usage request
        assert cached.from_cache
        assert cached.fetched_at == fresh.fetched_at
        keys = sorted(k.decode() for k in connection.scan_iter(match=f"{prefix}*"))
        assert len(keys) == 2
        assert connection.pttl(keys[0]) > 0
        assert connection.pttl(keys[1]) > 0
    finally:
        for key in connection.scan_iter(match=f"{prefix}*"):
            connection.delete(key)
        connection.close()


async def test_a_token_is_replaced_shortly_before_it_expires(
    make_drive: Callable[..., Drive],
) -> None:
    offset = [timedelta(0)]
    drive = make_drive(now=lambda: datetime.now(UTC) + offset[0])
    await drive(lambda c: c.balance.get())
    lifetime = timedelta(seconds=31622400)  # what esimhub's token answer says, as Airalo's
    offset[0] = lifetime - timedelta(minutes=10)
    await drive(lambda c: c.balance.get())
    assert drive.sent.paths().count("POST /v2/token") == 1  # ten minutes left: still used
    offset[0] = lifetime - timedelta(minutes=4)
    await drive(lambda c: c.balance.get())
    assert drive.sent.paths().count("POST /v2/token") == 2  # within five minutes: replaced
