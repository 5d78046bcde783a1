"""Settings, read from the environment (prefix ``ESIMHUB_``) and an optional ``.env`` file."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "esimhub-development-secret-key-change-me"  # noqa: S105 - refused in production

Environment = Literal["development", "sandbox", "production"]


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'esimhub.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESIMHUB_", env_file=".env", extra="ignore")

    env: Environment = "development"
    database_url: str = Field(default_factory=default_database_url)
    # Files esimhub makes for itself (the local certificate authority of `serve --tls`).
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".esimhub")
    # PostgreSQL connections each process keeps (no overflow), how long a request waits for a
    # free one, and how long a money write waits for its partner's lock: past either wait the
    # request answers 503 with Retry-After instead of queueing without end.
    database_pool_size: int = Field(default=20, ge=1)
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    database_lock_timeout_seconds: float = Field(default=5.0, gt=0)
    redis_url: str | None = None
    # Every key esimhub writes to Redis starts with this, so one Redis can serve several
    # deployments (or test runs) side by side.
    redis_key_prefix: str = Field(default="esimhub:", min_length=1)
    # Connections to Redis per process; a request waits up to the timeout for a free one (a
    # full pool is load, not an outage).
    redis_pool_size: int = Field(default=100, ge=1)
    redis_pool_timeout_seconds: float = Field(default=2.0, gt=0)
    # When Redis cannot be reached: "local" counts in this process instead (still a limit, per
    # process), "open" lets requests through, "closed" refuses them with 429.
    rate_limit_fallback: Literal["local", "open", "closed"] = "local"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    # Airalo's documented example answers expires_in 31622400 (366 days).
    token_lifetime_seconds: int = Field(default=31_622_400, gt=0)
    # Absolute URL clients reach us on; used in pagination links, image, QR and share links.
    # Unset: derived from each request.
    public_base_url: str | None = None
    # Who sells the packages, as product information brochures name them (Airalo shows its own
    # brand and legal entity there; an operator shows theirs).
    brand_name: str = "esimhub"
    brand_logo_url: str = ""  # empty: the brand's card served by esimhub (/img/brand.svg)
    legal_entity_name: str = ""  # empty: the brand name
    legal_address: str = ""
    terms_url: str = ""  # empty: {public base URL}/help/terms
    # apn_value of an automatic APN the catalogue gives no value for: Airalo's docs show null,
    # its live answers and typed client schemas a string (docs/compatibility.md). "null": null.
    automatic_apn_value: str = ""
    admin_token: SecretStr | None = None
    # Request bodies larger than this answer 413 before authentication, unread (1 MiB: a partner
    # request is a few hundred bytes); the admin API takes whole catalogues (64 MiB).
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    admin_max_body_bytes: int = Field(default=67_108_864, ge=1024)
    # Unset: /metrics is open (keep it off the public network). Set: it asks for this bearer token.
    metrics_token: SecretStr | None = None
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: comma-separated
    # addresses or CIDR ranges, or "*". Unset: forwarded headers are ignored and the peer's own
    # address is the client's (for IP allowlists and per-IP limits).
    forwarded_allow_ips: str | None = None
    # How long an idle keep-alive connection stays open. Longer than the idle expiry of clients
    # and proxies (httpx and most SDKs: 5 s; nginx upstream keep-alive: 60 s), so the client
    # always closes first: a server closing at the same moment as a client reuses the connection
    # resets the request in flight (uvicorn's own default is 5 s, the same as httpx's).
    keep_alive_seconds: float = Field(default=75.0, gt=0)
    # Page size of GET /packages when the client sends no limit. Unset: the whole catalogue in one
    # page, as Airalo's packages page describes ("~3,200 packages in a single response").
    packages_default_limit: int | None = Field(default=None, gt=0)
    # How long a resolved partner (pricing, IP allowlist, token generation) is trusted in memory
    # before it is read again; keeps token resolution off the database on the hot path.
    partner_cache_seconds: float = Field(default=5.0, ge=0)
    # How often a process checks whether another process changed the catalogue.
    catalogue_check_seconds: float = Field(default=2.0, ge=0)
    # eSIM profiles minted on demand: ICCID issuer prefix (digits; "89" is the telecom industry
    # identifier) and the SM-DP+ address put in their activation codes. Operators can override both
    # by importing their own profiles (``esimhub inventory import``).
    iccid_prefix: str = Field(default="8999", pattern=r"^89[0-9]{0,8}$")
    smdp_address: str = "smdp.esimhub.test"
    # How long a qrcode_url stays valid, counted from the eSIM's issue (Airalo's run ~3 years).
    qr_url_lifetime_seconds: int = Field(default=94_608_000, gt=0)
    # Ordering a package id that does not exist: "business" answers {"code":34,...} as public
    # integration tests expect; "validation" answers {"data":{"package_id":"The selected package is
    # invalid."},...} as the submit-order page shows. See docs/compatibility.md.
    unknown_package_error: Literal["business", "validation"] = "business"
    # Page size of GET /orders and GET /sims when the client sends no limit.
    list_default_limit: int = Field(default=50, gt=0)
    # How long an Idempotency-Key and its stored response are kept.
    idempotency_key_hours: int = Field(default=24, ge=24)
    # Outgoing mail (eSIM sharing emails): smtp://user:password@host:port or smtps://...; unset,
    # mail is kept in the database for `esimhub mail list`.
    smtp_url: SecretStr | None = None
    mail_from: str = "esimhub <no-reply@esimhub.test>"
    # Sending a message: tries before it is marked failed (1, 2, 4, 8 ... minutes apart).
    mail_attempts: int = Field(default=5, ge=1)
    # The usage polling limit (docs/compatibility.md): "classic" once per eSIM per 15 minutes on
    # usage and package history, as documented until 2025; "current" 10/min per eSIM + 5/s per
    # partner with a server-side usage cache; "off".
    usage_poll_policy: Literal["classic", "current", "off"] = "classic"
    # How long "current" serves a cached usage body (Airalo: 20 minutes, 60 in sandbox).
    usage_cache_seconds: int = Field(default=1200, ge=0)
    sandbox_usage_cache_seconds: int = Field(default=3600, ge=0)
    # Airalo's per-endpoint limits (token 3/min, packages 80/min, ...): on | off.
    rate_limits: bool = True
    # How often a server re-reads the sandbox clock offset (moved by `esimhub clock`).
    clock_check_seconds: float = Field(default=2.0, ge=0)
    # How often the worker settles eSIMs whose expiry, threshold or recycling moment came
    # (0: never; `esimhub clock advance` and reads still do).
    sweep_seconds: float = Field(default=60.0, ge=0)
    clock_control: bool | None = None
    # Deliveries to private and loopback addresses: allowed unless ESIMHUB_ENV=production.
    webhooks_allow_private_targets: bool | None = None
    # Webhook delivery: attempts per event, seconds between attempts (comma-separated; the last
    # value repeats), per-request timeout, and how long a worker holds an event it is delivering
    # (a worker that dies releases its events when this runs out).
    webhook_attempts: int = Field(default=20, ge=1)
    webhook_retry_schedule: str = Field(default="900", pattern=r"^\d+(,\d+)*$")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_lease_seconds: int = Field(default=60, ge=1)
    # The worker (webhooks, mail, scheduled orders, usage sweep): inside `esimhub serve` unless
    # off, or as `esimhub worker` processes (any number on PostgreSQL).
    embedded_worker: bool = True
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"
    # Log lines as JSON objects (for a log pipeline) or for a terminal; unset: JSON in
    # production, console otherwise.
    log_format: Literal["json", "console"] | None = None
    # One log line per request (method, route, status, duration, partner, request id). Off, a
    # request costs one formatted record less; /metrics still counts requests by route.
    access_log: bool = True

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.env != "production":
            return self
        if self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            raise ValueError("ESIMHUB_SECRET_KEY must be set to a secret of your own in production")
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("ESIMHUB_SECRET_KEY must be at least 32 characters in production")
        if self.clock_control:
            raise ValueError("ESIMHUB_CLOCK_CONTROL cannot be enabled in production")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 32:
            raise ValueError("ESIMHUB_ADMIN_TOKEN must be at least 32 characters in production")
        return self

    @property
    def clock_control_enabled(self) -> bool:
        if self.clock_control is None:
            return self.env != "production"
        return self.clock_control

    @property
    def private_webhook_targets_allowed(self) -> bool:
        if self.webhooks_allow_private_targets is None:
            return self.env != "production"
        return self.webhooks_allow_private_targets

    def retry_delay(self, attempts: int) -> int:
        """Seconds to wait after the ``attempts``-th failed delivery."""
        schedule = [int(part) for part in self.webhook_retry_schedule.split(",")]
        return schedule[min(attempts, len(schedule)) - 1]

    @property
    def log_style(self) -> Literal["json", "console"]:
        if self.log_format is None:
            return "json" if self.env == "production" else "console"
        return self.log_format

    @property
    def automatic_apn(self) -> str | None:
        """``apn_value`` of an automatic APN that has none (``automatic_apn_value``)."""
        return None if self.automatic_apn_value == "null" else self.automatic_apn_value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@functools.cache
def get_settings() -> Settings:
    return Settings()
