"""Rate limits: Airalo's per-endpoint table and the usage polling limit.

Counting uses GCRA (one stored number per key: the "theoretical arrival time"), on the system
clock, so a sandbox clock moved forward reopens windows too. The store is Redis when
``ESIMHUB_REDIS_URL`` is set (one limit across every server process) and process memory
otherwise. A request waits (bounded) for a free Redis connection: a busy pool is load, not an
outage. If Redis cannot be reached, ``ESIMHUB_RATE_LIMIT_FALLBACK`` decides: ``local`` (the
default) counts in this process's memory until Redis answers again, ``open`` lets requests
through, ``closed`` refuses them; each fallback is logged (once a minute) and counted
(``esimhub_rate_limiter_failures_total``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import redis.asyncio as aioredis
from fastapi import Depends, Request
from prometheus_client import Counter
from redis.exceptions import RedisError

from esimhub.errors import TooManyAttempts

log = logging.getLogger("esimhub.limits")

PollPolicy = Literal["classic", "current", "off"]
Fallback = Literal["local", "open", "closed"]
REDIS_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Rule:
    limit: int
    period_seconds: int

    @property
    def interval_ms(self) -> int:
        return math.ceil(self.period_seconds * 1000 / self.limit)


# Per-endpoint partner limits, Airalo's current table (reference §5.1; endpoint-page values where
# the rate-limit page disagrees). Keyed per client (token), per partner, or per IP as Airalo does.
ENDPOINT_RULES: dict[str, Rule] = {
    "token": Rule(3, 60),
    "packages": Rule(80, 60),
    "product_information": Rule(60, 60),
    "refund": Rule(5, 60),
    "simulator": Rule(5, 60),
}

# The usage polling limit, by ESIMHUB_USAGE_POLL_POLICY: (scope, rule) pairs per endpoint.
# classic: once per eSIM per 15 minutes for usage and package history, as documented until 2025.
# current: 10 per minute per eSIM, plus 5 per second per partner on usage (with a usage cache).
POLL_RULES: dict[PollPolicy, dict[str, tuple[tuple[str, Rule], ...]]] = {
    "classic": {"usage": (("sim", Rule(1, 900)),), "history": (("sim", Rule(1, 900)),)},
    "current": {
        "usage": (("sim", Rule(10, 60)), ("partner", Rule(5, 1))),
        "history": (("sim", Rule(10, 60)),),
    },
    "off": {"usage": (), "history": ()},
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until the next request is allowed; 0 when allowed
    reset_at: int  # Unix time (system clock) at which the next request is allowed
    reopens_ms: int = 0  # when refused: the exact moment (ms) the next request is allowed

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise TooManyAttempts(self.limit, self.retry_after, self.reset_at)


def _decide(allowed: bool, tat: int, now_ms: int, rule: Rule) -> Decision:
    """Turn a GCRA outcome into headers. ``tat`` is the stored time after this request."""
    interval = rule.interval_ms
    if allowed:
        remaining = max(0, (now_ms + interval * rule.limit - tat) // interval)
        return Decision(True, rule.limit, remaining, 0, math.ceil(now_ms / 1000))
    reopens_ms = tat - interval * (rule.limit - 1)
    retry_after = max(1, math.ceil((reopens_ms - now_ms) / 1000))
    return Decision(False, rule.limit, 0, retry_after, now_ms // 1000 + retry_after, reopens_ms)


class MemoryStore:
    """GCRA in this process's memory (the embedded default)."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._tat: dict[str, int] = {}

    async def hit(self, key: str, now_ms: int, rule: Rule) -> Decision:
        tat = max(self._tat.get(key, now_ms), now_ms)
        if now_ms < tat - rule.interval_ms * (rule.limit - 1):
            return _decide(False, tat, now_ms, rule)
        self._tat[key] = tat + rule.interval_ms
        if len(self._tat) > self.MAX_KEYS:
            self._tat = {k: v for k, v in self._tat.items() if v > now_ms}
        return _decide(True, tat + rule.interval_ms, now_ms, rule)


_GCRA = """
local tat = tonumber(redis.call('GET', KEYS[1]))
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if tat == nil or tat < now then tat = now end
if now < tat - interval * (limit - 1) then return {0, tat} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', 2 * (new_tat - now) + 60000)
return {1, new_tat}
"""
# The key's time to live only frees memory: the stored time decides. It is kept well past the
# moment it stops mattering, because the system clock may run apart from Redis's (a sandbox
# clock moved forward, a frozen test clock).


class RedisStore:
    """GCRA in Redis, one atomic script per hit."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = redis.register_script(_GCRA)

    async def hit(self, key: str, now_ms: int, rule: Rule) -> Decision:
        allowed, tat = await self._script(keys=[key], args=[now_ms, rule.interval_ms, rule.limit])
        return _decide(bool(allowed), int(tat), now_ms, rule)


class RateLimiter:
    def __init__(
        self,
        redis: aioredis.Redis | None,
        failures: Counter | None = None,
        *,
        key_prefix: str = "esimhub:",
        fallback: Fallback = "local",
    ) -> None:
        self._local = MemoryStore()
        self._store: MemoryStore | RedisStore = RedisStore(redis) if redis else self._local
        # Keys Redis refused, with the moment (ms) they reopen: see ``_still_denied``.
        self._denied: dict[str, int] = {}
        self._prefix = f"{key_prefix}rl:"
        self._failures = failures
        self._fallback = fallback
        self._redis_down_until = float("-inf")
        self._last_warning = float("-inf")

    async def hit(self, key: str, rule: Rule, now: datetime) -> Decision:
        now_ms = math.floor(now.timestamp() * 1000)
        denied = self._still_denied(self._prefix + key, now_ms, rule)
        if denied is not None:
            return denied
        if time.monotonic() >= self._redis_down_until:
            try:
                decision = await self._store.hit(self._prefix + key, now_ms, rule)
            except (RedisError, OSError) as exc:
                # try Redis again in a second, not on every request of an outage
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                self._warn(exc)
            else:
                if not decision.allowed and self._store is not self._local:
                    self._remember_denial(self._prefix + key, decision, now_ms)
                if not decision.allowed or self._store is self._local:
                    return decision
                # What this process let through is also counted here, so that the limit stays
                # exact through a Redis outage or a Redis restarted empty: a request passes only
                # when neither store has seen too many.
                local = await self._local.hit(self._prefix + key, now_ms, rule)
                return decision if local.allowed else local
        if self._failures is not None:
            self._failures.inc()
        if self._fallback == "local":
            return await self._local.hit(self._prefix + key, now_ms, rule)
        if self._fallback == "closed":
            return Decision(False, rule.limit, 0, 1, now_ms // 1000 + 1)
        return Decision(True, rule.limit, rule.limit, 0, now_ms // 1000)

    def _remember_denial(self, key: str, decision: Decision, now_ms: int) -> None:
        if len(self._denied) > MemoryStore.MAX_KEYS:
            self._denied = {k: at for k, at in self._denied.items() if at > now_ms}
        self._denied[key] = decision.reopens_ms

    def _still_denied(self, key: str, now_ms: int, rule: Rule) -> Decision | None:
        """A refusal decided here, without a Redis round trip, while a key Redis refused stays
        refused. A refusal changes nothing stored, and only a request let through moves the
        stored time; none can be let through before the moment Redis named, by any process.
        So a client polling a refused key costs no Redis call until that moment (the hot 429),
        and is told exactly what Redis would tell it."""
        reopens_ms = self._denied.get(key)
        if reopens_ms is None:
            return None
        if now_ms >= reopens_ms:
            del self._denied[key]
            return None
        return _decide(False, reopens_ms + rule.interval_ms * (rule.limit - 1), now_ms, rule)

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._last_warning > 60:  # one line a minute, not per request
            self._last_warning = time.monotonic()
            log.warning(
                "rate limiter store unavailable, falling back to %s: %r", self._fallback, exc
            )

    async def check(self, checks: Sequence[tuple[str, Rule]], now: datetime) -> Decision | None:
        """Count one request against each (key, rule); raise 429 if any is exhausted.

        Returns the decision to report in ``X-RateLimit-*`` headers (the first one).
        """
        shown: Decision | None = None
        for key, rule in checks:
            decision = await self.hit(key, rule, now)
            decision.raise_if_denied()
            shown = shown or decision
        return shown


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request) -> str:
    """Per auth token, as Airalo counts GET /packages (hashed: keys never hold a credential)."""
    header = request.headers.get("authorization", "")
    return hashlib.sha256(header.encode()).hexdigest()[:32]


async def enforce(request: Request, checks: Sequence[tuple[str, Rule]]) -> None:
    """Apply limits to this request, and leave the decision for the response headers."""
    runtime = request.app.state.runtime
    decision = await runtime.limiter.check(checks, runtime.clock.now())
    if decision is not None:
        request.state.rate_limit = decision


async def count_request(request: Request, name: str, key: Callable[[Request], str]) -> None:
    """Count the request against ``ENDPOINT_RULES[name]`` (429 when exhausted), unless
    ESIMHUB_RATE_LIMITS is off."""
    if request.app.state.runtime.settings.rate_limits:
        await enforce(request, [(f"{name}:{key(request)}", ENDPOINT_RULES[name])])


def endpoint_limit(name: str, key: Callable[[Request], str]) -> Any:
    """A route dependency applying ``ENDPOINT_RULES[name]``: see ``count_request``."""

    async def dependency(request: Request) -> None:
        await count_request(request, name, key)

    return Depends(dependency)


def rate_limit_headers(scope: Any) -> list[tuple[bytes, bytes]]:
    """``X-RateLimit-Limit``/``-Remaining`` for a response of a limited route, as Laravel's
    throttle middleware adds them (429s carry their own, with ``Retry-After``)."""
    decision = scope.get("state", {}).get("rate_limit")
    if not isinstance(decision, Decision):
        return []
    return [
        (b"x-ratelimit-limit", str(decision.limit).encode()),
        (b"x-ratelimit-remaining", str(decision.remaining).encode()),
    ]
