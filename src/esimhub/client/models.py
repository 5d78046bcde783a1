"""Typed results, tolerant of the type drift Airalo's answers show (reference §2.1, §3).

Every model keeps fields it does not know (``model_extra``; Airalo adds attributes without
notice), and reads the same value however the API spelt it: ``"9.50"`` and ``9.5`` are the same
price, ``"7"`` and ``7`` the same validity, ``null``, ``""`` and ``"N/A"`` all mean "none". Prices
are ``Decimal`` so ``"9.50"`` is not rounded into a float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_NONE_TEXTS = frozenset({"", "n/a", "na", "null", "none", "-"})


def _none_if_blank(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _NONE_TEXTS:
        return None
    return value


def _none_if_empty(value: Any) -> Any:
    """PHP renders an empty map as ``[]``: read it as "none"."""
    value = _none_if_blank(value)
    return None if value == [] else value


Money = Annotated[Decimal | None, BeforeValidator(_none_if_blank)]
Int = Annotated[int | None, BeforeValidator(_none_if_blank)]
Text = Annotated[str | None, BeforeValidator(_none_if_blank)]
Flag = Annotated[bool | None, BeforeValidator(_none_if_blank)]
Moment = Annotated[datetime | None, BeforeValidator(_none_if_blank)]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class Image(Model):
    url: Text = None
    width: Int = None
    height: Int = None


class Apn(Model):
    apn_type: Text = None
    apn_value: Text = None


class ApnSettings(Model):
    ios: Annotated[Apn | None, BeforeValidator(_none_if_empty)] = None
    android: Annotated[Apn | None, BeforeValidator(_none_if_empty)] = None


class Pricing(Model):
    model: Text = None
    discount_percentage: Money = None


class Package(Model):
    """A package of an operator in the catalogue (``id`` is the slug orders take)."""

    id: str
    type: Text = None
    title: Text = None
    price: Money = None
    net_price: Money = None
    amount: Int = None
    day: Int = None
    is_unlimited: Flag = None
    data: Text = None
    voice: Int = None
    text: Int = None
    short_info: Text = None
    is_fair_usage_policy: Flag = None
    fair_usage_policy: Text = None
    prices: dict[str, dict[str, Decimal]] = Field(default_factory=dict)


class Country(Model):
    country_code: Text = None
    title: Text = None
    image: Annotated[Image | None, BeforeValidator(_none_if_empty)] = None


class Operator(Model):
    id: Int = None
    title: Text = None
    type: Text = None
    plan_type: Text = None
    is_roaming: Flag = None
    rechargeability: Flag = None
    esim_type: Text = None
    activation_policy: Text = None
    apn_type: Text = None
    apn_value: Text = None
    apn: Annotated[ApnSettings | None, BeforeValidator(_none_if_empty)] = None
    info: list[str] = Field(default_factory=list)
    other_info: Text = None
    image: Annotated[Image | None, BeforeValidator(_none_if_empty)] = None
    install_window_days: Int = None
    topup_grace_window_days: Int = None
    countries: list[Country] = Field(default_factory=list)
    packages: list[Package] = Field(default_factory=list)


class CatalogueEntry(Model):
    """One item of ``GET /packages``: a country, a region or the world, with its operators."""

    slug: str
    country_code: Text = None
    title: Text = None
    image: Annotated[Image | None, BeforeValidator(_none_if_empty)] = None
    operators: list[Operator] = Field(default_factory=list)


class FlatOperator(Model):
    title: Text = None
    is_roaming: Flag = None
    info: list[str] = Field(default_factory=list)


class FlatPackage(Model):
    """A package with what it needs from its operator and entry: the official SDK's ``flat``."""

    package_id: str
    slug: str
    type: Text = None
    price: Money = None
    net_price: Money = None
    amount: Int = None
    day: Int = None
    is_unlimited: Flag = None
    title: Text = None
    is_fair_usage_policy: Flag = None
    fair_usage_policy: Text = None
    data: Text = None
    short_info: Text = None
    voice: Int = None
    text: Int = None
    plan_type: Text = None
    activation_policy: Text = None
    operator: FlatOperator
    countries: list[str] = Field(default_factory=list)
    image: Text = None
    other_info: Text = None

    @classmethod
    def of(cls, entry: CatalogueEntry) -> list[FlatPackage]:
        """The entry's packages, flattened (from values the entry already validated)."""
        return [
            cls.model_construct(
                package_id=package.id,
                slug=entry.slug,
                type=package.type,
                price=package.price,
                net_price=package.net_price,
                amount=package.amount,
                day=package.day,
                is_unlimited=package.is_unlimited,
                title=package.title,
                is_fair_usage_policy=package.is_fair_usage_policy,
                fair_usage_policy=package.fair_usage_policy,
                data=package.data,
                short_info=package.short_info,
                voice=package.voice,
                text=package.text,
                plan_type=operator.plan_type,
                activation_policy=operator.activation_policy,
                operator=FlatOperator.model_construct(
                    title=operator.title, is_roaming=operator.is_roaming, info=operator.info
                ),
                countries=[c.country_code for c in operator.countries if c.country_code],
                image=operator.image.url if operator.image else None,
                other_info=operator.other_info,
            )
            for operator in entry.operators
            for package in operator.packages
        ]


class ProductInformation(Model):
    package_id: str
    product_name: Text = None
    validity_days: Int = None
    is_unlimited: Flag = None
    retail_price_eur: Money = None
    pib_version: Int = None
    version_hash: Text = None
    pib_version_pdf_link: Text = None


class PackageOverride(Model):
    """Your own terms for a package (``GET /v2/packages/overrides``): a price or net price of
    your own (``None``: the catalogue's), or the package not offered to you."""

    package_id: str
    hidden: Flag = None
    price: Money = None
    net_price: Money = None
    updated_at: Moment = None


class Sharing(Model):
    link: Text = None
    access_code: Text = None


class OrderStatus(Model):
    name: Text = None
    slug: Text = None


class Sim(Model):
    """An eSIM: its ICCID, how to install it (QR code, LPA), and its order (``simable``)."""

    id: Int = None
    iccid: str
    created_at: Moment = None
    lpa: Text = None
    matching_id: Text = None
    qrcode: Text = None
    qrcode_url: Text = None
    direct_apple_installation_url: Text = None
    confirmation_code: Text = None
    voucher_code: Text = None
    apn_type: Text = None
    apn_value: Text = None
    apn: Annotated[ApnSettings | None, BeforeValidator(_none_if_empty)] = None
    is_roaming: Flag = None
    msisdn: Text = None
    brand_settings_name: Text = None
    recycled: Flag = None
    recycled_at: Moment = None
    sharing: Annotated[Sharing | None, BeforeValidator(_none_if_empty)] = None
    simable: Annotated[Order | None, BeforeValidator(_none_if_empty)] = None


class Order(Model):
    """An order (``type`` ``sim``) or a top-up (``type`` ``topup``, no ``sims``)."""

    id: int
    code: Text = None
    type: Text = None
    package_id: Text = None
    package: Text = None
    quantity: Int = None
    description: Text = None
    currency: Text = None
    price: Money = None
    net_price: Money = None
    pricing_model: Text = None
    discount_percentage: Money = None
    discount_amount: Money = None
    unit_paid_price: Money = None
    total_amount_paid: Money = None
    validity: Int = None
    data: Text = None
    voice: Int = None
    text: Int = None
    esim_type: Text = None
    brand_settings_name: Text = None
    created_at: Moment = None
    manual_installation: Text = None
    qrcode_installation: Text = None
    installation_guides: Annotated[dict[str, str] | None, BeforeValidator(_none_if_empty)] = None
    sims: list[Sim] = Field(default_factory=list)
    status: Annotated[OrderStatus | None, BeforeValidator(_none_if_empty)] = None
    sharing: Annotated[Sharing | None, BeforeValidator(_none_if_empty)] = None


class AcceptedOrder(Model):
    """``POST /orders-async``: the order is placed later and its outcome POSTed to a webhook."""

    request_id: str
    accepted_at: Moment = None


UsageStatus = Literal["NOT_ACTIVE", "ACTIVE", "FINISHED", "EXPIRED", "UNKNOWN", "RECYCLED"]


class Usage(Model):
    """Data (MB), minutes and SMS left, and where the figure came from.

    ``fetched_at`` is when the API produced it (local clock); ``from_cache`` says it was answered
    from the client's usage cache rather than by a request now.
    """

    remaining: Int = None
    total: Int = None
    expired_at: Moment = None
    is_unlimited: Flag = None
    status: str | None = None
    remaining_voice: Int = None
    remaining_text: Int = None
    total_voice: Int = None
    total_text: Int = None
    fetched_at: datetime
    from_cache: bool = False


class HistoryPackage(Model):
    id: Text = None
    type: Text = None
    title: Text = None
    price: Money = None
    net_price: Money = None
    amount: Int = None
    day: Int = None
    is_unlimited: Flag = None
    data: Text = None
    short_info: Text = None


class SimPackage(Model):
    """One package an eSIM had: the first one, then each top-up."""

    id: Int = None
    status: Text = None
    remaining: Int = None
    activated_at: Moment = None
    expired_at: Moment = None
    finished_at: Moment = None
    package: Annotated[HistoryPackage | None, BeforeValidator(_none_if_empty)] = None


class DeviceInstructions(Model):
    model: Text = None
    version: Text = None
    installation_via_qr_code: dict[str, Any] | None = None
    installation_manual: dict[str, Any] | None = None
    network_setup: dict[str, Any] | None = None


class Instructions(Model):
    language: Text = None
    ios: list[DeviceInstructions] = Field(default_factory=list)
    android: list[DeviceInstructions] = Field(default_factory=list)


class FutureOrder(Model):
    request_id: str
    due_date: Moment = None
    latest_cancellation_date: Moment = None
    status: Text = None
    package_id: Text = None
    quantity: Int = None
    description: Text = None


class EsimVoucher(Model):
    package_id: str
    codes: list[str] = Field(default_factory=list)
    booking_reference: Text = None


class AirmoneyVoucher(Model):
    id: Int = None
    code: Text = None
    usage_limit: Int = None
    amount: Money = None
    is_paid: Flag = None
    created_at: Moment = None


class Refund(Model):
    refund_id: str
    created_at: Moment = None


class Balance(Model):
    amount: Decimal
    currency: str = "USD"


class Notification(Model):
    type: str
    contact_point: Text = None
    language: Text = None
    levels: list[int] = Field(default_factory=list)


class Device(Model):
    os: Text = None
    brand: Text = None
    name: Text = None
    model: Text = None


class ExchangeRate(Model):
    from_: str = Field(alias="from")
    to: str
    mid: Decimal


class ExchangeRates(Model):
    date: date
    rates: list[ExchangeRate] = Field(default_factory=list)

    def rate(self, currency: str) -> Decimal | None:
        """USD → ``currency`` (None if the answer has no such rate)."""
        wanted = currency.upper()
        return next((r.mid for r in self.rates if r.to.upper() == wanted), None)


Sim.model_rebuild()
