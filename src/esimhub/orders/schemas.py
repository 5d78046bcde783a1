"""Wire shape of the submit-order (and top-up) answer: ``validity`` an int, ``price`` a number
(lists show an order the other way: ``esims.schemas.Renderer.listed_order``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from esimhub.esims.schemas import Renderer
from esimhub.kit import wire
from esimhub.kit.clock import format_datetime
from esimhub.kit.money import wire_number
from esimhub.kit.validation import Fields, is_email
from esimhub.models import Brand, Order, Sim

MAX_QUANTITY = 50
MAX_COPY_ADDRESSES = 10


class OrderBody(wire.RequestBody):
    """``POST /orders`` (also the order part of ``/orders-async`` and ``/future-orders``)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"dependentRequired": {"to_email": ["sharing_option"]}}
    )

    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    package_id: Annotated[str, Field(min_length=1, max_length=100, pattern=wire.NO_NUL)]
    type: Literal["sim"] | None = None
    description: wire.Text | None = None
    brand_settings_name: Annotated[str, Field(max_length=100, pattern=wire.NO_NUL)] | None = None
    to_email: str | None = Field(default=None, json_schema_extra={"format": "email"})
    sharing_option: list[Literal["link", "pdf"]] | None = Field(
        default=None, min_length=1, description="Sent as sharing_option[] in a form"
    )
    copy_address: list[Annotated[str, Field(json_schema_extra={"format": "email"})]] | None = Field(
        default=None, max_length=MAX_COPY_ADDRESSES
    )


class OrderedSim(wire.Wire):
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


class PlacedOrder(wire.Wire):
    """The submit-order answer's ``data``: ``validity`` an integer, prices numbers."""

    id: int
    code: str
    currency: str
    package_id: str
    quantity: int
    type: Literal["sim", "topup"]
    description: str | None
    esim_type: str
    validity: int
    package: str
    data: str
    price: float
    net_price: float | None = None
    pricing_model: str
    created_at: str
    manual_installation: str
    qrcode_installation: str
    installation_guides: dict[str, str]
    text: int | None
    voice: int | None
    brand_settings_name: str | None = None
    sims: list[OrderedSim] | None = None


class PlacedOrderResponse(wire.Envelope[PlacedOrder]):
    pass


class ListedOrder(wire.Wire):
    """An order in ``GET /orders``: ``validity`` and ``price`` strings, as Airalo lists them."""

    id: int
    created_at: str
    code: str
    description: str | None
    type: Literal["sim", "topup"]
    package_id: str
    quantity: int
    package: str
    esim_type: str
    validity: str
    price: str
    data: str
    currency: str
    sims: list[OrderedSim] | None = None


class OrdersPage(wire.Page[ListedOrder]):
    pass


class OrderResponse(wire.Envelope[ListedOrder]):
    pass


@dataclass(frozen=True)
class OrderRequest:
    package_id: str
    quantity: int
    description: str | None = None
    brand_settings_name: str | None = None
    to_email: str | None = None
    sharing_options: tuple[str, ...] = ()
    copy_addresses: tuple[str, ...] = ()


def placed_order(
    renderer: Renderer, order: Order, sims: Sequence[Sim], brand: Brand | None
) -> dict[str, Any]:
    """The submit-order (and top-up) answer's ``data``."""
    money = renderer.order_money(order)
    body: dict[str, Any] = {
        "id": order.id,
        "code": order.code,
        "currency": "USD",
        "package_id": order.package_id,
        "quantity": order.quantity,
        "type": order.type,
        "description": order.description,
        "esim_type": order.esim_type,
        "validity": order.days,
        "package": order.package_title,
        "data": order.data_label,
        "price": wire_number(order.price_cents),
        "pricing_model": money.pop("pricing_model"),
        "created_at": format_datetime(order.created_at),
        "manual_installation": order.manual_installation or "",
        "qrcode_installation": order.qr_installation or "",
        "installation_guides": renderer.installation_guides(),
        "text": order.sms,
        "voice": order.voice_minutes,
        **money,
    }
    if order.type == "sim":
        body["brand_settings_name"] = brand.name if brand else None
        body["sims"] = [renderer.ordered_sim(sim, brand) for sim in sims]
    return body


def parse_order(
    body: dict[str, Any], is_sim_package: Callable[[str], bool] | None = None
) -> OrderRequest:
    """An order's fields, every error gathered as Laravel gathers them. With
    ``is_sim_package``, a request already failing on another field also names an unknown
    ``package_id`` ("The selected package is invalid."); alone, an unknown package is left to
    the order itself (code 34, see ``service.sim_package``)."""
    fields = Fields(body)
    quantity = fields.integer("quantity", required=True, minimum=1, maximum=MAX_QUANTITY)
    package_id = fields.string("package_id", required=True, max_length=100)
    kind = fields.string("type")
    if kind is not None and kind != "sim":
        fields.fail("type", "The selected type is invalid.")
    description = fields.string("description", max_length=255)
    brand = fields.string("brand_settings_name", max_length=100)
    to_email = fields.email("to_email")
    options = fields.string_list("sharing_option") or []
    for index, option in enumerate(options):
        if option not in {"link", "pdf"}:
            fields.fail(
                f"sharing_option({index})",
                f"Sharing option on position {index} is invalid. "
                "Available options are: 'link' and 'pdf'.",
            )
    if to_email and not options:
        fields.fail(
            "sharing_option", "The sharing option field is required when to email is present."
        )
    copies = fields.string_list("copy_address", max_items=MAX_COPY_ADDRESSES) or []
    for index, address in enumerate(copies):
        if not is_email(address):
            fields.fail(
                f"copy_address.{index}", f"The copy_address.{index} must be a valid email address."
            )
    if fields.errors and package_id and is_sim_package and not is_sim_package(package_id):
        fields.fail("package_id", "The selected package is invalid.")
    fields.check()
    assert quantity is not None
    assert package_id is not None
    return OrderRequest(
        package_id=package_id,
        quantity=quantity,
        description=description,
        brand_settings_name=brand,
        to_email=to_email,
        sharing_options=tuple(dict.fromkeys(options)),
        copy_addresses=tuple(copies),
    )
