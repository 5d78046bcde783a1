"""ORM tables, in one place so that areas can refer to each other without import cycles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use the clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the client secret. The secret itself is derived from the server key and
    # ``secret_salt`` when it is needed as an HMAC key (webhook signatures), never stored.
    secret_hash: Mapped[str] = mapped_column(String(64))
    secret_salt: Mapped[str] = mapped_column(String(64))
    # Bumped by rotate-secret: tokens carry the generation they were issued under.
    token_generation: Mapped[int] = mapped_column(Integer, default=1)
    is_sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    credit_limit_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    pricing_model: Mapped[str] = mapped_column(String(32), default="net_pricing")
    discount_percentage: Mapped[int] = mapped_column(Integer, default=0)
    ip_allowlist: Mapped[list[Any]] = mapped_column(default=list)
    # Bumped by every money-moving write: updating the row first takes a row lock (PostgreSQL) or
    # the write lock (SQLite), so a partner's balance checks and debits happen one at a time.
    ledger_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The sum of the partner's ledger entries, moved in the same statement batch as each entry is
    # appended (``ledger.repository.append``), so a balance check reads one row, however long the
    # ledger; ``esimhub balance verify`` compares it with the sum.
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime]
    # credit-limit levels (50, 70, ...) already notified since the balance was last topped up
    credit_alerts: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")


class LedgerEntry(Base):
    """Append-only balance ledger in integer cents; a partner's balance is the sum of its entries
    (kept on ``Partner.balance_cents`` as each entry is appended)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class CatalogueState(Base):
    """A single row; ``version`` changes whenever the catalogue does, so caches know to rebuild."""

    __tablename__ = "catalogue_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class Destination(Base):
    """An entry of ``GET /packages``: a country (``country_code`` set) or a region/World."""

    __tablename__ = "destinations"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2), default="")
    title: Mapped[str] = mapped_column(String(200))
    image: Mapped[dict[str, Any] | None]
    position: Mapped[int] = mapped_column(Integer, default=0)


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    destination_slug: Mapped[str] = mapped_column(
        ForeignKey("destinations.slug", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))  # local | global
    plan_type: Mapped[str] = mapped_column(String(16), default="data")  # data | voice-text
    is_roaming: Mapped[bool] = mapped_column(Boolean, default=True)
    rechargeability: Mapped[bool] = mapped_column(Boolean, default=True)
    activation_policy: Mapped[str] = mapped_column(String(32), default="first-usage")
    install_window_days: Mapped[int | None] = mapped_column(Integer)
    topup_grace_window_days: Mapped[int | None] = mapped_column(Integer)
    esim_type: Mapped[str] = mapped_column(String(32), default="Prepaid")
    is_prepaid: Mapped[bool] = mapped_column(Boolean, default=True)
    is_kyc_verify: Mapped[bool] = mapped_column(Boolean, default=False)
    style: Mapped[str] = mapped_column(String(16), default="light")
    gradient_start: Mapped[str] = mapped_column(String(16), default="#0f766e")
    gradient_end: Mapped[str] = mapped_column(String(16), default="#14b8a6")
    warning: Mapped[str | None] = mapped_column(Text)
    other_info: Mapped[str | None] = mapped_column(Text)
    info: Mapped[list[Any]] = mapped_column(default=list)
    image: Mapped[dict[str, Any] | None]
    # {"ios": {"apn_type", "apn_value"}, "android": {...}}
    apn: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"name": "US", "code": "US", "networks": [{"name": "T-Mobile", "types": ["5G"]}]}]
    coverages: Mapped[list[Any]] = mapped_column(default=list)
    country_codes: Mapped[list[Any]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # generated: profiles minted on demand; pool: drawn from profiles imported from the SM-DP+.
    supply: Mapped[str] = mapped_column(String(16), default="generated", server_default="generated")


class Package(Base):
    __tablename__ = "packages"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the slug clients order by
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(8))  # sim | topup
    price_cents: Mapped[int] = mapped_column(BigInteger)  # recommended retail price, USD
    net_price_cents: Mapped[int] = mapped_column(BigInteger)  # wholesale price, USD
    amount_mb: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    is_unlimited: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(200))
    data_label: Mapped[str] = mapped_column(String(32))
    voice_minutes: Mapped[int | None] = mapped_column(Integer)
    sms: Mapped[int | None] = mapped_column(Integer)
    short_info: Mapped[str | None] = mapped_column(Text)
    qr_installation: Mapped[str | None] = mapped_column(Text)
    manual_installation: Mapped[str | None] = mapped_column(Text)
    fair_usage_policy: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class PackageOverride(Base):
    """A partner's own terms for one package: its price and net price, or the package hidden
    from it. Keyed by the package id, not a foreign key: overrides outlive catalogue imports
    (a package re-imported under the same id keeps its overrides)."""

    __tablename__ = "package_overrides"
    __table_args__ = (UniqueConstraint("partner_id", "package_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    package_id: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int | None] = mapped_column(BigInteger)  # None: the catalogue's
    net_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class ExchangeRate(Base):
    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("date", "currency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    date: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD
    currency: Mapped[str] = mapped_column(String(3))
    # units of ``currency`` per 1 USD
    rate: Mapped[Any] = mapped_column(Numeric(20, 8))


# Orders, eSIMs and what hangs off them refer to catalogue rows by id without foreign keys and keep
# a snapshot of what was sold: the catalogue is replaced wholesale on import, the sales never are.


class Brand(Base):
    """A partner's brand settings: the name orders refer to by ``brand_settings_name``."""

    __tablename__ = "brands"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120))
    logo_url: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), default="", index=True)
    type: Mapped[str] = mapped_column(String(8))  # sim | topup
    status: Mapped[str] = mapped_column(String(32), default="completed")
    quantity: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    topup_sim_id: Mapped[int | None] = mapped_column(BigInteger)  # the eSIM a top-up was for
    is_sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    # what was sold, as it was in the catalogue at the time
    package_id: Mapped[str] = mapped_column(String(100), index=True)
    operator_id: Mapped[int] = mapped_column(BigInteger)
    package_title: Mapped[str] = mapped_column(String(300))  # "Kallur Digital-1 GB - 7 Days"
    data_label: Mapped[str] = mapped_column(String(32))
    days: Mapped[int] = mapped_column(Integer)
    amount_mb: Mapped[int] = mapped_column(Integer)
    is_unlimited: Mapped[bool] = mapped_column(Boolean, default=False)
    voice_minutes: Mapped[int | None] = mapped_column(Integer)
    sms: Mapped[int | None] = mapped_column(Integer)
    esim_type: Mapped[str] = mapped_column(String(32))
    manual_installation: Mapped[str | None] = mapped_column(Text)
    qr_installation: Mapped[str | None] = mapped_column(Text)
    # money, USD cents: prices per unit, and what the partner's balance was debited per unit
    price_cents: Mapped[int] = mapped_column(BigInteger)
    net_price_cents: Mapped[int] = mapped_column(BigInteger)
    pricing_model: Mapped[str] = mapped_column(String(32))
    discount_percentage: Mapped[int] = mapped_column(Integer, default=0)
    unit_paid_cents: Mapped[int] = mapped_column(BigInteger)
    debited_cents: Mapped[int] = mapped_column(BigInteger)  # 0 for sandbox partners
    created_at: Mapped[datetime] = mapped_column(index=True)


class Sim(Base):
    """An eSIM profile. Pool profiles wait here with no partner until an order draws them."""

    __tablename__ = "sims"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    iccid: Mapped[str] = mapped_column(String(22), unique=True)
    operator_id: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(16))  # generated | pool
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    smdp_address: Mapped[str] = mapped_column(String(255))
    matching_id: Mapped[str] = mapped_column(String(255))
    confirmation_code: Mapped[str | None] = mapped_column(String(64))
    imsis: Mapped[list[Any] | None]
    msisdn: Mapped[str | None] = mapped_column(String(32))
    apn: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_roaming: Mapped[bool] = mapped_column(Boolean, default=True)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    share_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    access_code: Mapped[str | None] = mapped_column(String(8))
    share_failures: Mapped[int] = mapped_column(Integer, default=0)
    share_locked_until: Mapped[datetime | None]
    qr_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    qr_svg: Mapped[str | None] = mapped_column(Text)
    refunded_at: Mapped[datetime | None]
    recycled_at: Mapped[datetime | None]
    imported_at: Mapped[datetime | None]
    issued_at: Mapped[datetime | None] = mapped_column(index=True)
    # the network's view, and the operator rules copied from the catalogue when the eSIM was issued
    installed_at: Mapped[datetime | None]
    attached_at: Mapped[datetime | None]
    last_country: Mapped[str | None] = mapped_column(String(2))
    activation_policy: Mapped[str] = mapped_column(
        String(32), default="first-usage", server_default="first-usage"
    )
    install_window_days: Mapped[int | None] = mapped_column(Integer)
    topup_grace_window_days: Mapped[int | None] = mapped_column(Integer)
    # When something time-driven next happens to this eSIM (an expiry, a threshold, recycling);
    # the sweeper reads eSIMs whose moment has come, reads settle them first.
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Bumped by every usage write: updating the row first serialises writers of one eSIM.
    state_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class SimPackage(Base):
    """One package on an eSIM's queue: the original purchase, then each top-up."""

    __tablename__ = "sim_packages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sim_id: Mapped[int] = mapped_column(ForeignKey("sims.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    package_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    data_label: Mapped[str] = mapped_column(String(32))
    amount_mb: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    is_unlimited: Mapped[bool] = mapped_column(Boolean, default=False)
    voice_minutes: Mapped[int | None] = mapped_column(Integer)
    sms: Mapped[int | None] = mapped_column(Integer)
    short_info: Mapped[str | None] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    net_price_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="NOT_ACTIVE")
    activated_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]  # set at activation: when validity ends
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    used_voice_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    used_sms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # threshold levels already raised for this package ("75%", "90%", "3days", "1days")
    alerts: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")


class Voucher(Base):
    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # esim | airmoney
    code: Mapped[str] = mapped_column(String(255), unique=True)
    package_id: Mapped[str | None] = mapped_column(String(100))
    booking_reference: Mapped[str | None] = mapped_column(String(255))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)  # airmoney value per use
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    is_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    debited_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    iccids: Mapped[list[Any]]
    reason: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # approved | rejected
    credited_cents: Mapped[int | None] = mapped_column(BigInteger)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """The stored answer to a money-moving POST, replayed when the same key comes again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("partner_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)


class ShareAttempt(Base):
    """Wrong access codes tried on one share page from one client address, and its lock."""

    __tablename__ = "share_attempts"

    sim_id: Mapped[int] = mapped_column(ForeignKey("sims.id", ondelete="CASCADE"), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]


class MailMessage(Base):
    """Mail to end users: kept here, and sent through SMTP when one is configured."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    cc: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # [{"filename", "content_type", "sim_id"}]: rendered from the eSIM when sent
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # sent | failed | kept
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # sending: tried ``attempts`` times, next try at ``due_at``, held by a worker until
    # ``leased_until``
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    leased_until: Mapped[datetime | None]


class UsageRecord(Base):
    """One record of an operator's usage feed (or of the network simulator), applied once."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(100), unique=True)
    sim_id: Mapped[int] = mapped_column(ForeignKey("sims.id"), index=True)
    sim_package_id: Mapped[int | None] = mapped_column(BigInteger)  # charged first
    started_at: Mapped[datetime]
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    voice_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    sms: Mapped[int] = mapped_column(Integer, default=0)
    country: Mapped[str | None] = mapped_column(String(2))
    source: Mapped[str] = mapped_column(String(16))  # feed | network
    received_at: Mapped[datetime]


class ClockState(Base):
    """A single row: how far a sandbox deployment has moved its clock from real time."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class OutboxEvent(Base):
    """A side effect written with the business change that caused it, delivered afterwards.

    ``dedupe_key`` makes an event happen once (e.g. one 75 % alert per package) however many
    processes notice it; ``event_id`` is the stable id receivers de-duplicate deliveries with.
    """

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # low_data_notification, ...
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]]
    # pending → delivered | failed (attempts exhausted) | skipped (nobody subscribed)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    due_at: Mapped[datetime] = mapped_column(index=True)  # next attempt
    created_at: Mapped[datetime]
    target_url: Mapped[str | None] = mapped_column(Text)  # overrides the subscription
    # counted when an attempt starts, so a worker dying mid-delivery still uses one up;
    # ``attempt_base`` is where the count stood at the last replay (which grants a fresh set)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempt_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # a worker holds the event until then; a worker that dies lets it go when the lease ends
    leased_until: Mapped[datetime | None]
    # the request that caused it (X-Request-Id), carried into the worker's log lines
    request_id: Mapped[str | None] = mapped_column(String(128))
    delivered_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One attempt to deliver an outbox event."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # first 1,000 characters
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class NotificationSubscription(Base):
    """A partner's opt-in to one notification type (webhook URL or email)."""

    __tablename__ = "notification_subscriptions"
    __table_args__ = (UniqueConstraint("partner_id", "type"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    contact_point: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    levels: Mapped[list[Any] | None]
    created_at: Mapped[datetime]


class ScheduledOrder(Base):
    """An order placed later by the worker: async (due at once) or future (due at a date)."""

    __tablename__ = "scheduled_orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(25), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # async | future
    # pending → completed | failed; cancelled; sandbox ids park orders in pending/failed/retry
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    request: Mapped[dict[str, Any]]  # the order fields as submitted (validated)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    base_url: Mapped[str] = mapped_column(Text)  # for absolute links in the order body
    due_at: Mapped[datetime] = mapped_column(index=True)
    leased_until: Mapped[datetime | None]
    parked: Mapped[bool] = mapped_column(Boolean, default=False)  # sandbox: never processed
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
