"""ORM tables, in one place so that areas can refer to each other without import cycles."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
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
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    """Append-only balance ledger in integer cents; a partner's balance is the sum of its entries."""

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


class ExchangeRate(Base):
    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("date", "currency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    date: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD
    currency: Mapped[str] = mapped_column(String(3))
    # units of ``currency`` per 1 USD
    rate: Mapped[Any] = mapped_column(Numeric(20, 8))
