"""``Client`` and ``AsyncClient``: the same resources over ``httpx``, blocking or awaited.

Both only send what ``Core`` describes and do what it decides; the loop in ``run`` is the one
piece written twice, once with ``await``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Self, TypedDict, TypeVar, Unpack

import httpx

from esimhub.client import _resources as r
from esimhub.client._core import DEFAULT_TIMEOUT, Call, Core, Done, Refresh, Retry, system_now
from esimhub.client.stores import Store

T = TypeVar("T")

# usage figures are re-read once per polling window (Airalo's classic limit: 15 minutes per eSIM)
USAGE_TTL_SECONDS = 900.0


class Options(TypedDict, total=False):
    """The options both clients take (see ``Client``)."""

    api_version: str
    timeout: float | httpx.Timeout
    max_retries: int
    max_retry_wait: float
    backoff: float
    retry_writes: bool | None
    token_store: Store | None
    usage_cache: Store | None
    usage_ttl: float
    now: Callable[[], datetime]


def _core(
    base_url: str | None, client_id: str | None, client_secret: str | None, options: Options
) -> Core:
    return Core(
        base_url=base_url,
        client_id=client_id,
        client_secret=client_secret,
        version=options.get("api_version", "v2"),
        max_retries=options.get("max_retries", 3),
        max_retry_wait=options.get("max_retry_wait", 60.0),
        backoff=options.get("backoff", 0.5),
        retry_writes=options.get("retry_writes"),
        token_store=options.get("token_store"),
        usage_cache=options.get("usage_cache"),
        usage_ttl=options.get("usage_ttl", USAGE_TTL_SECONDS),
        now=options.get("now", system_now),
    )


class Client:
    """The esimhub (and Airalo) partner API, blocking.

    ``Client(base_url="https://esim.example", client_id=..., client_secret=...)``; without
    arguments the three come from ``ESIMHUB_BASE_URL``, ``ESIMHUB_CLIENT_ID`` and
    ``ESIMHUB_CLIENT_SECRET``. Options:

    - ``max_retries`` (3), ``backoff`` (0.5 s, doubled each time, jittered) and
      ``max_retry_wait`` (60 s: a longer ``Retry-After`` is raised as ``RateLimitError``);
      retried are reads, connection failures and 5xx, 429s (the server did nothing), and
      money-moving POSTs (sent with one ``Idempotency-Key`` across their retries) unless
      ``retry_writes=False`` — the default for ``*.airalo.com``, which ignores the key;
    - ``token_store`` / ``usage_cache``: ``MemoryStore()`` (default), ``FileStore(dir)`` or
      ``RedisStore(redis.Redis(...))``; ``usage_ttl`` (900 s; 0 turns the cache off);
    - ``timeout``, ``http_client`` (your own ``httpx.Client``: proxies, a CA bundle),
      ``sleep`` and ``now`` (for tests: a clock of your own).
    """

    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[Options],
    ) -> None:
        self.core = _core(base_url, client_id, client_secret, options)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=options.get("timeout", DEFAULT_TIMEOUT))
        self._sleep = sleep
        self._token_lock = threading.Lock()
        self.packages = r.Packages(self)
        self.orders = r.Orders(self)
        self.topups = r.Topups(self)
        self.sims = r.Sims(self)
        self.future_orders = r.FutureOrders(self)
        self.vouchers = r.Vouchers(self)
        self.refunds = r.Refunds(self)
        self.balance = r.BalanceResource(self)
        self.notifications = r.Notifications(self)
        self.devices = r.Devices(self)
        self.exchange_rates = r.ExchangeRatesResource(self)
        self.simulator = r.Simulator(self)

    def token(self) -> str:
        """A valid access token: the stored one, or a new one."""
        core = self.core
        token = core.stored_token()
        if token is None:
            with self._token_lock:
                token = core.stored_token() or self.run(core.token_call())
        return token

    def run(self, call: Call[T]) -> T:
        """Send ``call`` (retrying as ``Core`` decides) and return its result."""
        core = self.core
        cached = core.cached(call)
        if cached is not None:
            return cached
        key = core.idempotency_key(call)
        attempt, refreshed = 0, False
        while True:
            token = self.token() if call.authenticated else None
            try:
                response = self._http.request(**core.request(call, token, key))
            except httpx.TransportError as exc:
                step: Done[T] | Retry | Refresh = core.after_error(call, exc, attempt)
            else:
                step = core.after_response(call, response, attempt, refreshed)
            if isinstance(step, Done):
                return step.value
            if isinstance(step, Retry):
                self._sleep(step.after)
                attempt += 1
            else:
                core.forget_token()
                refreshed = True

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """``Client`` for asyncio: the same resources and options, every call awaited, lists
    iterated with ``async for``; ``http_client`` is an ``httpx.AsyncClient`` and ``sleep`` a
    coroutine function."""

    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Unpack[Options],
    ) -> None:
        self.core = _core(base_url, client_id, client_secret, options)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=options.get("timeout", DEFAULT_TIMEOUT)
        )
        self._sleep = sleep
        self._token_lock = asyncio.Lock()
        self.packages = r.AsyncPackages(self)
        self.orders = r.AsyncOrders(self)
        self.topups = r.AsyncTopups(self)
        self.sims = r.AsyncSims(self)
        self.future_orders = r.AsyncFutureOrders(self)
        self.vouchers = r.AsyncVouchers(self)
        self.refunds = r.AsyncRefunds(self)
        self.balance = r.AsyncBalance(self)
        self.notifications = r.AsyncNotifications(self)
        self.devices = r.AsyncDevices(self)
        self.exchange_rates = r.AsyncExchangeRates(self)
        self.simulator = r.AsyncSimulator(self)

    async def token(self) -> str:
        core = self.core
        token = core.stored_token()
        if token is None:
            async with self._token_lock:
                token = core.stored_token()
                if token is None:
                    token = await self.run(core.token_call())
        return token

    async def run(self, call: Call[T]) -> T:
        core = self.core
        cached = core.cached(call)
        if cached is not None:
            return cached
        key = core.idempotency_key(call)
        attempt, refreshed = 0, False
        while True:
            token = await self.token() if call.authenticated else None
            try:
                response = await self._http.request(**core.request(call, token, key))
            except httpx.TransportError as exc:
                step: Done[T] | Retry | Refresh = core.after_error(call, exc, attempt)
            else:
                step = core.after_response(call, response, attempt, refreshed)
            if isinstance(step, Done):
                return step.value
            if isinstance(step, Retry):
                await self._sleep(step.after)
                attempt += 1
            else:
                core.forget_token()
                refreshed = True

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
