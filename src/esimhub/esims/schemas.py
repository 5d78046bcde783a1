"""Wire shapes of eSIMs, and of orders as lists and an eSIM's ``simable`` show them, with
Airalo's per-endpoint type drift (reference §9.12).

Submit-order answers ``validity`` as an int and ``price`` as a number; lists answer ``validity``
as a string and ``price`` as ``"9.50"``. Money leaves integer cents only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from esimhub.auth.directory import PartnerPrincipal
from esimhub.auth.schemas import user_dict
from esimhub.catalogue.render import price_table
from esimhub.config import Settings
from esimhub.esims import profiles
from esimhub.kit import qr, wire
from esimhub.kit.apn import wire_apn, wire_apns
from esimhub.kit.clock import format_datetime
from esimhub.kit.money import discount_cents, wire_number, wire_string
from esimhub.kit.statuses import OrderStatus, PricingModel
from esimhub.models import Brand, Order, Package, Sim

STATUS_NAMES: dict[str, str] = {
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.FAILED: "Failed",
    OrderStatus.REFUNDED: "Refunded",
    OrderStatus.PARTIALLY_REFUNDED: "Partially Refunded",
}


@dataclass(frozen=True)
class Renderer:
    """Knows the absolute URLs of this deployment; turns rows into Airalo dictionaries."""

    settings: Settings
    base_url: str

    # -- eSIMs ------------------------------------------------------------------------------

    def sharing(self, sim: Sim, brand: Brand | None) -> dict[str, Any]:
        return {
            "link": f"{self.base_url}{profiles.share_path(sim, brand)}",
            "access_code": sim.access_code,
        }

    def sim_core(self, sim: Sim) -> dict[str, Any]:
        """The eSIM fields every endpoint shares (order lists show exactly these)."""
        lpa = qr.lpa_string(sim.smdp_address, sim.matching_id)
        android = wire_apn((sim.apn or {}).get("android"), self.settings.automatic_apn)
        return {
            "id": sim.id,
            "created_at": format_datetime(sim.issued_at) if sim.issued_at else None,
            "iccid": sim.iccid,
            "lpa": sim.smdp_address,
            "imsis": sim.imsis,
            "matching_id": sim.matching_id,
            "qrcode": lpa,
            "qrcode_url": profiles.qr_url(self.settings, self.base_url, sim),
            "airalo_code": None,
            **android,
            "is_roaming": sim.is_roaming,
            "confirmation_code": sim.confirmation_code,
        }

    def ordered_sim(self, sim: Sim, brand: Brand | None) -> dict[str, Any]:
        """An eSIM in the submit-order answer: with APN per OS, MSISDN, Apple link and sharing."""
        lpa = qr.lpa_string(sim.smdp_address, sim.matching_id)
        return {
            **self.sim_core(sim),
            "apn": wire_apns(sim.apn, self.settings.automatic_apn),
            "msisdn": sim.msisdn,
            "direct_apple_installation_url": profiles.apple_installation_url(lpa),
            "sharing": self.sharing(sim, brand),
        }

    def listed_sim(
        self,
        sim: Sim,
        order: Order | None,
        brand: Brand | None,
        *,
        includes: frozenset[str],
        partner: PartnerPrincipal,
        with_sharing: bool = False,
    ) -> dict[str, Any]:
        """An item of ``GET /sims`` (and ``GET /sims/{iccid}``): the order rides in ``simable``."""
        lpa = qr.lpa_string(sim.smdp_address, sim.matching_id)
        body = self.sim_core(sim)
        body.update(
            direct_apple_installation_url=profiles.apple_installation_url(lpa),
            voucher_code=None,
            order=None,
            brand_settings_name=brand.name if brand else None,
            recycled=sim.recycled_at is not None,
            recycled_at=format_datetime(sim.recycled_at) if sim.recycled_at else None,
            msisdn=sim.msisdn,
            apn=wire_apns(sim.apn, self.settings.automatic_apn),
        )
        # Top-level "order" stays null, as in every Airalo example; the order is "simable".
        simable = None
        if order is not None:
            simable = self.listed_order(order, includes=_order_includes(includes), partner=partner)
            # as the order's own body has them (net_price null under discount pricing), and the
            # status whether or not it was asked for
            simable["net_price"] = self.order_money(order)["net_price"]
            simable["text"] = order.sms
            simable["voice"] = order.voice_minutes
            simable.setdefault("status", {"name": STATUS_NAMES[order.status], "slug": order.status})
            if "share" in includes:
                simable["sharing"] = self.sharing(sim, brand)
        body["simable"] = simable
        if with_sharing:
            body["sharing"] = self.sharing(sim, brand)
        return body

    # -- orders -----------------------------------------------------------------------------

    def order_money(self, order: Order) -> dict[str, Any]:
        if order.pricing_model != PricingModel.DISCOUNT:
            return {
                "pricing_model": PricingModel.NET,
                "net_price": wire_number(order.net_price_cents),
            }
        discount = discount_cents(order.price_cents, order.discount_percentage)
        return {
            "pricing_model": PricingModel.DISCOUNT,
            "net_price": None,
            "discount_percentage": order.discount_percentage,
            "discount_amount": wire_number(discount),
            "unit_paid_price": wire_number(order.unit_paid_cents),
            "total_amount_paid": wire_number(order.unit_paid_cents * order.quantity),
        }

    def installation_guides(self) -> dict[str, str]:
        return {"en": f"{self.base_url}/help/installation"}

    def listed_order(
        self,
        order: Order,
        *,
        includes: frozenset[str],
        partner: PartnerPrincipal,
        sims: Sequence[Sim] = (),
    ) -> dict[str, Any]:
        """An item of ``GET /orders``, ``GET /orders/{id}`` and an eSIM's ``simable``."""
        body: dict[str, Any] = {
            "id": order.id,
            "created_at": format_datetime(order.created_at),
            "code": order.code,
            "description": order.description,
            "type": order.type,
            "package_id": order.package_id,
            "quantity": order.quantity,
            "package": order.package_title,
            "esim_type": order.esim_type,
            "validity": str(order.days),
            "price": wire_string(order.price_cents),
            "data": order.data_label,
            "currency": "USD",
            "manual_installation": order.manual_installation or "",
            "qrcode_installation": order.qr_installation or "",
            "installation_guides": self.installation_guides(),
        }
        if order.pricing_model == PricingModel.DISCOUNT:
            money = self.order_money(order)
            money.pop("net_price")
            body.update(money)
        if "sims" in includes:
            body["sims"] = [{**self.sim_core(sim), "voucher_code": None} for sim in sims]
        if "user" in includes:
            body["user"] = user_dict(partner)
        if "status" in includes:
            body["status"] = {"name": STATUS_NAMES[order.status], "slug": order.status}
        return body

    # -- packages on eSIMs ------------------------------------------------------------------

    def topup_package(
        self, package: Package, rates: dict[str, Decimal], *, net: bool
    ) -> dict[str, Any]:
        prices: dict[str, Any] = {}
        if net:
            prices["net_price"] = price_table(package.net_price_cents, rates)
        prices["recommended_retail_price"] = price_table(package.price_cents, rates)
        return {
            "id": package.id,
            "type": package.type,
            "price": wire_number(package.price_cents),
            "amount": package.amount_mb,
            "day": package.days,
            "is_unlimited": package.is_unlimited,
            "title": package.title,
            "data": package.data_label,
            "short_info": package.short_info,
            "voice": package.voice_minutes,
            "text": package.sms,
            "net_price": wire_number(package.net_price_cents) if net else None,
            "prices": prices,
        }


def _order_includes(sim_includes: frozenset[str]) -> frozenset[str]:
    """``order.status`` / ``order.user`` on an eSIM mean ``status`` / ``user`` on its order."""
    return frozenset(i.split(".", 1)[1] for i in sim_includes if i.startswith("order."))


# -- what /openapi.json says of these bodies --------------------------------------------------


class ListedSim(wire.Wire):
    """An eSIM in ``GET /sims`` and ``GET /sims/{iccid}``; its order is ``simable``."""

    id: int
    created_at: str
    iccid: str
    lpa: str
    matching_id: str
    qrcode: str
    qrcode_url: str
    direct_apple_installation_url: str | None = None
    apn_type: str
    apn_value: str | None
    is_roaming: bool
    confirmation_code: str | None
    brand_settings_name: str | None = None
    recycled: bool
    recycled_at: str | None
    msisdn: str | None = None
    apn: dict[str, Any] | None = None
    simable: dict[str, Any] | None = None


class SimsPage(wire.Page[ListedSim]):
    pass


class SimResponse(wire.Envelope[ListedSim]):
    pass


class TopupPackage(wire.Wire):
    id: str
    type: str
    price: float
    net_price: float | None = None
    amount: int
    day: int
    is_unlimited: bool
    title: str
    data: str


class TopupPackagesResponse(wire.Wire):
    """``{"data": []}`` when the eSIM takes no top-up; with ``pricing`` otherwise."""

    pricing: dict[str, Any] | None = None
    data: list[TopupPackage]


class InstructionsData(wire.Wire):
    instructions: dict[str, Any]


class InstructionsResponse(wire.Wire):
    data: InstructionsData


class BrandBody(wire.RequestBody):
    """``null`` (or empty) takes the brand off."""

    brand_settings_name: Annotated[str, Field(max_length=100, pattern=wire.NO_NUL)] | None


class Branded(wire.Wire):
    brand_settings_name: str | None


class BrandResponse(wire.Envelope[Branded]):
    pass
