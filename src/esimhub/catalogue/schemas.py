"""Wire shapes of the catalogue: ``GET /packages`` and friends.

The same models read an imported catalogue (a saved ``GET /v2/packages`` response, Airalo's or
ours) and describe the responses in OpenAPI. Responses themselves are rendered by the cache, field
for field as Airalo sends them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from esimhub.kit import wire


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Image(_Wire):
    width: int | None = None
    height: int | None = None
    url: str


class Network(_Wire):
    name: str
    types: list[str] = Field(default_factory=list)


class Coverage(_Wire):
    name: str
    code: str | None = None
    networks: list[Network] = Field(default_factory=list)


class ApnEntry(_Wire):
    apn_type: str = "automatic"
    apn_value: str | None = None


class Apn(_Wire):
    ios: ApnEntry = Field(default_factory=ApnEntry)
    android: ApnEntry = Field(default_factory=ApnEntry)


class OperatorCountry(_Wire):
    country_code: str
    title: str | None = None
    image: Image | None = None


class PriceTable(_Wire):
    net_price: dict[str, float] | None = None
    recommended_retail_price: dict[str, float]


class PackageOut(_Wire):
    id: str = Field(max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    type: Literal["sim", "topup"]
    price: float = Field(ge=0)
    net_price: float | None = Field(default=None, ge=0)
    amount: int = Field(ge=0)
    day: int = Field(ge=0)
    is_unlimited: bool = False
    title: str
    data: str
    voice: int | None = None
    text: int | None = None
    prices: PriceTable | None = None
    short_info: str | None = None
    qr_installation: str | None = None
    manual_installation: str | None = None
    is_fair_usage_policy: bool = False
    fair_usage_policy: str | None = None


class OperatorOut(_Wire):
    id: int
    title: str
    type: Literal["local", "global"]
    plan_type: str = "data"
    is_roaming: bool = True
    rechargeability: bool = True
    packages: list[PackageOut]
    style: str = "light"
    gradient_start: str | None = None
    gradient_end: str | None = None
    is_prepaid: bool = True
    esim_type: str = "Prepaid"
    warning: str | None = None
    apn_type: str | None = None
    apn_value: str | None = None
    info: list[str] = Field(default_factory=list)
    image: Image | None = None
    activation_policy: str = "first-usage"
    is_kyc_verify: bool = False
    other_info: str | None = None
    coverages: list[Coverage] = Field(default_factory=list)
    install_window_days: int | None = None
    topup_grace_window_days: int | None = None
    apn: Apn | None = None
    countries: list[OperatorCountry] = Field(default_factory=list)


class MinPrice(_Wire):
    net_price: dict[str, float] | None = None
    recommended_retail_price: dict[str, float]


class DestinationOut(_Wire):
    slug: str = Field(max_length=100, pattern=r"^[a-z0-9-]+$")
    country_code: str = ""
    title: str
    image: Image | None = None
    min_price: MinPrice | None = None
    operators: list[OperatorOut]


class Pricing(_Wire):
    model: Literal["net_pricing", "discount_pricing"] = "net_pricing"
    discount_percentage: int = 0


class PackagesResponse(_Wire):
    """A ``GET /v2/packages`` page; also the format of ``esimhub catalogue import/export``."""

    pricing: Pricing = Field(default_factory=Pricing)
    data: list[DestinationOut]
    links: wire.Links | None = None
    meta: wire.PageMeta | None = None


class Device(BaseModel):
    model: str
    os: Literal["android", "ios"]
    brand: str
    name: str


class DeviceLite(BaseModel):
    os: Literal["android", "ios"]
    brand: str
    name: str


class DevicesResponse(BaseModel):
    data: list[Device]


class DevicesLiteResponse(BaseModel):
    data: list[DeviceLite]


class Rate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    mid: str
    to: str


class RatesData(BaseModel):
    date: str
    rates: list[Rate]


class ExchangeRatesResponse(BaseModel):
    data: RatesData
    meta: wire.Meta


class ProductInformationResponse(BaseModel):
    data: dict[str, Any]


class PackageOverrideOut(wire.Wire):
    """One of the partner's own terms for a package (``GET /v2/packages/overrides``)."""

    package_id: str
    hidden: bool = Field(description="The package is not offered to this partner.")
    price: float | None = Field(description="The partner's price; null: the catalogue's.")
    net_price: float | None = Field(description="The partner's net price; null: the catalogue's.")
    updated_at: str = Field(examples=["2026-12-04 10:00:00"])


class PackageOverridesPage(wire.Page[PackageOverrideOut]):
    pass
