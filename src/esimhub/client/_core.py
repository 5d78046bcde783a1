"""What ``Client`` and ``AsyncClient`` share: every decision, no I/O.

An operation is described once as a ``Call`` (method, path, body, how to read the answer, whether
it may be retried). The two clients only send it and sleep; what to do with each answer — return,
raise, wait and retry, refresh the token — is decided here, by ``Core.after_response`` and
``Core.after_error``, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from esimhub import __version__
from esimhub.client import errors
from esimhub.client.models import Pricing
from esimhub.client.stores import MemoryStore, Store

T = TypeVar("T")

# How a call may be repeated once it has been sent:
#   "safe"  - reading, or a write whose repetition changes nothing (a token, an opt-in, a brand);
#   "keyed" - a money-moving POST sent with an Idempotency-Key, which the server replays;
#   "once"  - anything else: retried only when it certainly never reached the server.
Repeat = Literal["safe", "keyed", "once"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
TOKEN_MARGIN_SECONDS = 300.0
STALE_USAGE_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class Reply:
    """A successful answer, as the parse functions see it."""

    status_code: int
    body: Any
    fetched_at: datetime
    from_cache: bool = False


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str  # below the version prefix: "orders", "sims/890.../usage"
    parse: Callable[[Reply], T]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: frozenset[int] = frozenset({200})
    repeat: Repeat = "safe"
    authenticated: bool = True
    usage_of: str | None = None  # the ICCID, for the usage cache


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and where it stands (``last_page`` 1 when unpaginated)."""

    items: list[T]
    current_page: int
    last_page: int
    total: int | None
    pricing: Pricing | None = None


@dataclass(frozen=True)
class Retry:
    after: float


@dataclass(frozen=True)
class Done(Generic[T]):
    value: T


class Refresh:
    """Forget the token, fetch a new one, send again."""


REFRESH = Refresh()


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


class Core:
    """The configuration and the decisions of one client."""

    def __init__(
        self,
        *,
        base_url: str | None,
        client_id: str | None,
        client_secret: str | None,
        version: str,
        max_retries: int,
        max_retry_wait: float,
        backoff: float,
        retry_writes: bool | None,
        token_store: Store | None,
        usage_cache: Store | None,
        usage_ttl: float,
        now: Callable[[], datetime],
    ) -> None:
        base = base_url or _env("ESIMHUB_BASE_URL")
        client_id = client_id or _env("ESIMHUB_CLIENT_ID")
        client_secret = client_secret or _env("ESIMHUB_CLIENT_SECRET")
        if not base:
            raise ValueError("give base_url= (or set ESIMHUB_BASE_URL)")
        if not client_id or not client_secret:
            raise ValueError(
                "give client_id= and client_secret= (or set ESIMHUB_CLIENT_ID and "
                "ESIMHUB_CLIENT_SECRET)"
            )
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base!r}")
        # "https://host", "https://host/" and "https://host/v2/" all mean the same API
        root = base.rstrip("/")
        for suffix in ("/v1", "/v2"):
            if root.endswith(suffix):
                root = root[: -len(suffix)]
        self.root = root
        self.prefix = f"{root}/{version}/"
        self.client_id = client_id
        self.client_secret = client_secret
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        # Airalo ignores Idempotency-Key: a repeated order there is a second order.
        host = (parts.hostname or "").lower()
        self.retry_writes = (
            retry_writes if retry_writes is not None else not host.endswith("airalo.com")
        )
        self.tokens = token_store if token_store is not None else MemoryStore()
        self.usage_cache = usage_cache if usage_cache is not None else MemoryStore()
        self.usage_ttl = usage_ttl
        self.now = now
        self.headers = {
            "Accept": "application/json",
            "User-Agent": f"esimhub-client/{__version__}",
        }

    # -- requests ---------------------------------------------------------------------------

    def request(self, call: Call[Any], token: str | None, key: str | None) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request`` for ``call``."""
        headers = {**self.headers, **call.headers}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers[IDEMPOTENCY_HEADER] = key
        arguments: dict[str, Any] = {
            "method": call.method,
            "url": self.prefix + call.path,
            "params": dict(call.params),
            "headers": headers,
        }
        if call.json is not None:
            arguments["json"] = call.json
        if call.form is not None:
            arguments["data"] = dict(call.form)
        return arguments

    @staticmethod
    def idempotency_key(call: Call[Any]) -> str | None:
        """One key per logical call, reused by each of its retries."""
        return uuid.uuid4().hex if call.repeat == "keyed" else None

    def may_resend(self, call: Call[Any]) -> bool:
        return call.repeat == "safe" or (call.repeat == "keyed" and self.retry_writes)

    def _wait(self, attempt: int, asked: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        if asked is not None:
            # what the server asked, and a little more so that a crowd does not return at once
            return (
                asked + random.uniform(0, min(1.0, asked * 0.1))
                if asked <= self.max_retry_wait
                else None
            )
        return min(self.max_retry_wait, self.backoff * 2.0**attempt) * random.uniform(0.5, 1.0)

    # -- answers ----------------------------------------------------------------------------

    def after_response(
        self, call: Call[T], response: httpx.Response, attempt: int, refreshed: bool
    ) -> Done[T] | Retry | Refresh:
        """What to do with an answer: raises the error when there is nothing left to try."""
        body = _body(response)
        if response.status_code in call.expect:
            reply = Reply(response.status_code, body, self.now())
            self._remember_usage(call, reply)
            return Done(call.parse(reply))
        retry_after = _retry_after(response)
        error = errors.from_response(response.status_code, body, retry_after)
        if isinstance(error, errors.AuthenticationError) and call.authenticated and not refreshed:
            return REFRESH
        if isinstance(error, errors.RateLimitError):
            stale = self._cached_usage(call, fresh_only=False)
            if stale is not None:
                return Done(call.parse(stale))
            wait = self._wait(attempt, retry_after)  # a refused request did nothing: resend
        elif isinstance(error, errors.ServerError) and self.may_resend(call):
            wait = self._wait(attempt, retry_after)
        else:
            wait = None
        if wait is None:
            raise error
        return Retry(wait)

    def after_error(self, call: Call[Any], exc: httpx.TransportError, attempt: int) -> Retry:
        """A request with no answer: resent when that is safe, else raised."""
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        wait = self._wait(attempt, None) if never_sent or self.may_resend(call) else None
        if wait is None:
            raise errors.APIConnectionError(f"{call.method} {call.path}: {exc!r}") from exc
        return Retry(wait)

    # -- tokens -----------------------------------------------------------------------------

    @property
    def _token_key(self) -> str:
        return f"token:{self.root}:{self.client_id}"

    def stored_token(self) -> str | None:
        raw = self.tokens.get(self._token_key)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            token, refresh_at = str(record["access_token"]), float(record["refresh_at"])
        except (ValueError, KeyError, TypeError):
            return None
        return token if refresh_at > self.now().timestamp() else None

    def forget_token(self) -> None:
        self.tokens.delete(self._token_key)

    def token_call(self) -> Call[str]:
        form = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "grant_type": "client_credentials",
        }
        return Call("POST", "token", self._keep_token, form=form, authenticated=False)

    def _keep_token(self, reply: Reply) -> str:
        data = reply.body["data"]
        token = str(data["access_token"])
        lifetime = float(data.get("expires_in") or 3600)
        # reused until shortly before it expires: a tenth of its life before, at most five minutes
        keep = lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)
        refresh_at = reply.fetched_at.timestamp() + keep
        record = json.dumps({"access_token": token, "refresh_at": refresh_at}).encode()
        if keep > 0:
            self.tokens.set(self._token_key, record, keep)
        return token

    # -- the usage cache --------------------------------------------------------------------

    def _usage_key(self, iccid: str) -> str:
        return f"usage:{self.root}:{self.client_id}:{iccid}"

    def cached(self, call: Call[T]) -> T | None:
        """The answer to ``call`` from the usage cache while it is fresh, else None."""
        reply = self._cached_usage(call, fresh_only=True)
        return call.parse(reply) if reply is not None else None

    def _cached_usage(self, call: Call[Any], *, fresh_only: bool) -> Reply | None:
        if call.usage_of is None or self.usage_ttl <= 0:
            return None
        raw = self.usage_cache.get(self._usage_key(call.usage_of))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            fetched_at = datetime.fromtimestamp(float(record["fetched_at"]), UTC)
            body = record["body"]
        except (ValueError, KeyError, TypeError):
            return None
        age = (self.now() - fetched_at).total_seconds()
        if fresh_only and not 0 <= age < self.usage_ttl:
            return None
        return Reply(200, body, fetched_at, from_cache=True)

    def _remember_usage(self, call: Call[Any], reply: Reply) -> None:
        if call.usage_of is None or self.usage_ttl <= 0:
            return
        record = {"fetched_at": reply.fetched_at.timestamp(), "body": reply.body}
        ttl = max(self.usage_ttl, STALE_USAGE_SECONDS)  # kept stale for a 429 to fall back on
        self.usage_cache.set(self._usage_key(call.usage_of), json.dumps(record).encode(), ttl)


def system_now() -> datetime:
    return datetime.now(UTC)


DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
