"""Every partner operation of the v2 API, described once as a ``Call`` (reference §3).

The functions here are the signatures partners call: ``Client.orders.create`` and
``AsyncClient.orders.create`` are both ``order_create`` below, run synchronously by one and
awaited by the other (``_resources``). Nothing here sends anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from esimhub.client._core import Call, Page, Reply
from esimhub.client.models import (
    AcceptedOrder,
    AirmoneyVoucher,
    Balance,
    CatalogueEntry,
    Device,
    EsimVoucher,
    ExchangeRates,
    FutureOrder,
    Instructions,
    Notification,
    Order,
    Package,
    PackageOverride,
    Pricing,
    ProductInformation,
    Refund,
    Sim,
    SimPackage,
    Usage,
)

M = TypeVar("M", bound=BaseModel)

Paged = Callable[[int], Call[Page[M]]]
NotificationType = Literal[
    "async_orders",
    "webhook_low_data",
    "email_low_data",
    "webhook_credit_limit",
    "email_credit_limit",
]
SimulatorEvent = Literal[
    "low_data_notification", "credit_limit_notification", "async_order_notification"
]


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def _items(data: Any) -> list[Any]:
    # Laravel renders a filtered collection as an object keyed by position on later pages
    if isinstance(data, dict):
        return list(data.values())
    return list(data) if isinstance(data, list) else []


def _one(model: type[M]) -> Callable[[Reply], M]:
    def parse(reply: Reply) -> M:
        return model.model_validate(reply.body["data"])

    return parse


def _many(model: type[M]) -> Callable[[Reply], list[M]]:
    def parse(reply: Reply) -> list[M]:
        body = reply.body if isinstance(reply.body, dict) else {}
        return [model.model_validate(item) for item in _items(body.get("data"))]

    return parse


def _page(model: type[M]) -> Callable[[Reply], Page[M]]:
    def parse(reply: Reply) -> Page[M]:
        meta = reply.body.get("meta") or {}
        pricing = reply.body.get("pricing")
        current = int(meta.get("current_page") or 1)
        return Page(
            items=[model.model_validate(item) for item in _items(reply.body.get("data"))],
            current_page=current,
            last_page=int(meta.get("last_page") or current),
            total=int(meta["total"]) if meta.get("total") is not None else None,
            pricing=Pricing.model_validate(pricing) if isinstance(pricing, dict) else None,
        )

    return parse


def _query(**values: str | int | None) -> dict[str, str]:
    """Query parameters, the unset ones left out."""
    return {key: str(value) for key, value in values.items() if value is not None and value != ""}


def _includes(include: str | Iterable[str] | None) -> str | None:
    if include is None or isinstance(include, str):
        return include
    return ",".join(include)


def _day_range(created_at: tuple[date, date] | str | None) -> str | None:
    """``filter[created_at]``: ``"Y-m-d - Y-m-d"``."""
    if created_at is None or isinstance(created_at, str):
        return created_at
    start, end = created_at
    return f"{start:%Y-%m-%d} - {end:%Y-%m-%d}"


def _minute(moment: datetime | str | None) -> str | None:
    """Future-order times: ``"Y-m-d H:i"`` in UTC."""
    if moment is None or isinstance(moment, str):
        return moment
    return f"{moment:%Y-%m-%d %H:%M}"


def _paged(
    path: str, model: type[M], params: Mapping[str, str], page_size: int | None, **kw: Any
) -> Paged[M]:
    def build(page: int) -> Call[Page[M]]:
        query = {**params, **_query(limit=page_size), "page": str(page)}
        return Call("GET", path, _page(model), params=query, **kw)

    return build


def _order_fields(
    package_id: str,
    quantity: int,
    *,
    description: str | None,
    brand: str | None,
    to_email: str | None,
    sharing_option: Sequence[str] | None,
    copy_address: Sequence[str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"package_id": package_id, "quantity": quantity, "type": "sim"}
    optional = {
        "description": description,
        "brand_settings_name": brand,
        "to_email": to_email,
        "sharing_option": list(sharing_option) if sharing_option is not None else None,
        "copy_address": list(copy_address) if copy_address is not None else None,
    }
    return {**body, **{key: value for key, value in optional.items() if value is not None}}


# -- packages -------------------------------------------------------------------------------


def packages_list(
    *,
    country: str | None = None,
    type: Literal["local", "global"] | None = None,
    include_topups: bool = False,
    language: str | None = None,
    page_size: int | None = None,
) -> Paged[CatalogueEntry]:
    """The catalogue: one entry per country, region or the world, each with its operators and
    their packages (every page). ``country`` is an ISO code (``"JP"``); ``include_topups`` adds
    the top-up packages; ``language`` localises titles (``Accept-Language``)."""
    params = _query(
        **{
            "filter[type]": type,
            "filter[country]": country.upper() if country else None,
            "include": "topup" if include_topups else None,
        }
    )
    headers = {"Accept-Language": language} if language else {}
    return _paged("packages", CatalogueEntry, params, page_size, headers=headers)


def packages_product_information(
    slug: str, *, language: str | None = None
) -> Call[ProductInformation]:
    """The Product Information Brochure of a package."""
    headers = {"Accept-Language": language} if language else {}
    path = f"packages/{_segment(slug)}/product-information"
    return Call("GET", path, _one(ProductInformation), headers=headers)


def packages_overrides(*, page_size: int | None = None) -> Paged[PackageOverride]:
    """Your own terms for packages, as the operator set them (every page)."""
    return _paged("packages/overrides", PackageOverride, {}, page_size)


# -- orders ---------------------------------------------------------------------------------


def order_create(
    package_id: str,
    quantity: int = 1,
    *,
    description: str | None = None,
    brand: str | None = None,
    to_email: str | None = None,
    sharing_option: Sequence[Literal["link", "pdf"]] | None = None,
    copy_address: Sequence[str] | None = None,
) -> Call[Order]:
    """Order ``quantity`` eSIMs of a package and get them back with their QR codes. Sent with
    an ``Idempotency-Key``: a retry after a lost answer never orders twice."""
    body = _order_fields(
        package_id,
        quantity,
        description=description,
        brand=brand,
        to_email=to_email,
        sharing_option=sharing_option,
        copy_address=copy_address,
    )
    return Call("POST", "orders", _one(Order), json=body, repeat="keyed")


def order_create_async(
    package_id: str,
    quantity: int = 1,
    *,
    webhook_url: str | None = None,
    description: str | None = None,
    brand: str | None = None,
    to_email: str | None = None,
    sharing_option: Sequence[Literal["link", "pdf"]] | None = None,
    copy_address: Sequence[str] | None = None,
) -> Call[AcceptedOrder]:
    """Place an order later: the answer is a ``request_id``; the order (or why it failed) is
    POSTed to ``webhook_url``, or to the URL opted in for ``async_orders``."""
    body = _order_fields(
        package_id,
        quantity,
        description=description,
        brand=brand,
        to_email=to_email,
        sharing_option=sharing_option,
        copy_address=copy_address,
    )
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    return Call(
        "POST",
        "orders-async",
        _one(AcceptedOrder),
        json=body,
        expect=frozenset({200, 202}),
        repeat="once",
    )


def order_list(
    *,
    include: str | Iterable[Literal["sims", "user", "status"]] | None = None,
    created_at: tuple[date, date] | str | None = None,
    code: str | None = None,
    status: Literal["completed", "failed", "partially_refunded", "refunded"] | None = None,
    iccid: str | None = None,
    description: str | None = None,
    page_size: int | None = None,
) -> Paged[Order]:
    """Your orders, every page; ``created_at`` is a (first day, last day) range."""
    params = _query(
        **{
            "include": _includes(include),
            "filter[created_at]": _day_range(created_at),
            "filter[code]": code,
            "filter[order_status]": status,
            "filter[iccid]": iccid,
            "filter[description]": description,
        }
    )
    return _paged("orders", Order, params, page_size)


def order_get(
    order_id: int, *, include: str | Iterable[Literal["sims", "user", "status"]] | None = None
) -> Call[Order]:
    return Call(
        "GET",
        f"orders/{_segment(order_id)}",
        _one(Order),
        params=_query(include=_includes(include)),
    )


def topup_create(package_id: str, iccid: str, *, description: str | None = None) -> Call[Order]:
    """Top an eSIM up with a package from ``sims.topups(iccid)`` (sent with an
    ``Idempotency-Key``, like orders)."""
    body: dict[str, Any] = {"package_id": package_id, "iccid": iccid}
    if description is not None:
        body["description"] = description
    return Call("POST", "orders/topups", _one(Order), json=body, repeat="keyed")


# -- future orders --------------------------------------------------------------------------


def future_order_create(
    package_id: str,
    quantity: int,
    due_date: datetime | str,
    *,
    webhook_url: str | None = None,
    description: str | None = None,
    brand: str | None = None,
    to_email: str | None = None,
    sharing_option: Sequence[Literal["link", "pdf"]] | None = None,
    copy_address: Sequence[str] | None = None,
) -> Call[FutureOrder]:
    """Schedule an order for ``due_date`` (UTC; a datetime, or ``"Y-m-d H:i"``)."""
    body = _order_fields(
        package_id,
        quantity,
        description=description,
        brand=brand,
        to_email=to_email,
        sharing_option=sharing_option,
        copy_address=copy_address,
    )
    del body["type"]
    body["due_date"] = _minute(due_date)
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    return Call("POST", "future-orders", _one(FutureOrder), json=body, repeat="once")


def future_order_list(
    *,
    status: Literal["pending", "failed", "retry"] | None = None,
    from_due_date: datetime | str | None = None,
    to_due_date: datetime | str | None = None,
    page_size: int | None = None,
) -> Paged[FutureOrder]:
    """Future orders not yet placed (``pending`` unless ``status`` says otherwise)."""
    params = _query(
        status=status, from_due_date=_minute(from_due_date), to_due_date=_minute(to_due_date)
    )
    return _paged("future-orders", FutureOrder, params, page_size)


def _message(reply: Reply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    meta = body.get("meta") or {}
    return str(meta.get("message") or body.get("success") or "")


def future_order_cancel(request_ids: list[str]) -> Call[str]:
    """Cancel future orders (all or none); answers the API's message."""
    return Call(
        "POST",
        "cancel-future-orders",
        _message,
        json={"request_ids": list(request_ids)},
        repeat="once",
    )


# -- vouchers, refunds, balance -------------------------------------------------------------


def voucher_esim(vouchers: Sequence[Mapping[str, Any]]) -> Call[list[EsimVoucher]]:
    """Buy eSIM voucher codes: ``vouchers=[{"package_id": ..., "quantity": ...}]`` (with an
    optional ``booking_reference`` each)."""
    body = {"vouchers": [dict(voucher) for voucher in vouchers]}
    return Call("POST", "voucher/esim", _many(EsimVoucher), json=body, repeat="keyed")


def _airmoney(reply: Reply) -> list[AirmoneyVoucher]:
    data = reply.body["data"]
    items = data if isinstance(data, list) else [data]
    return [AirmoneyVoucher.model_validate(item) for item in items]


def voucher_airmoney(
    amount: int,
    quantity: int = 1,
    *,
    usage_limit: int | None = None,
    is_paid: bool | None = None,
    voucher_code: str | None = None,
) -> Call[list[AirmoneyVoucher]]:
    """Airmoney (credit) vouchers: ``quantity`` codes worth ``amount`` USD each."""
    body: dict[str, Any] = {"amount": amount, "quantity": quantity}
    optional = {"usage_limit": usage_limit, "is_paid": is_paid, "voucher_code": voucher_code}
    body.update({key: value for key, value in optional.items() if value is not None})
    return Call("POST", "voucher/airmoney", _airmoney, json=body, repeat="keyed")


def refund_create(
    iccids: Sequence[str], reason: str, *, notes: str | None = None, email: str | None = None
) -> Call[Refund]:
    """Ask for a refund of up to 5 eSIMs (``reason`` from Airalo's list; ``notes`` required for
    ``OTHERS``). Reviewed by hand; approved amounts come back as credit."""
    body: dict[str, Any] = {"iccids": list(iccids), "reason": reason}
    body.update({k: v for k, v in {"notes": notes, "email": email}.items() if v is not None})
    return Call(
        "POST", "refund", _one(Refund), json=body, expect=frozenset({200, 202}), repeat="keyed"
    )


def _balance(reply: Reply) -> Balance:
    return Balance.model_validate(reply.body["data"]["balances"]["availableBalance"])


def balance_get() -> Call[Balance]:
    return Call("GET", "balance", _balance)


# -- eSIMs ----------------------------------------------------------------------------------


def sim_list(
    *,
    include: str | Iterable[Literal["order", "order.status", "order.user", "share"]] | None = None,
    created_at: tuple[date, date] | str | None = None,
    iccid: str | None = None,
    page_size: int | None = None,
) -> Paged[Sim]:
    """Your eSIMs, newest first, every page."""
    params = _query(
        **{
            "include": _includes(include),
            "filter[created_at]": _day_range(created_at),
            "filter[iccid]": iccid,
        }
    )
    return _paged("sims", Sim, params, page_size)


def sim_get(
    iccid: str,
    *,
    include: str | Iterable[Literal["order", "order.status", "order.user", "share"]] | None = None,
) -> Call[Sim]:
    return Call(
        "GET", f"sims/{_segment(iccid)}", _one(Sim), params=_query(include=_includes(include))
    )


def _usage(reply: Reply) -> Usage:
    return Usage.model_validate(
        {**reply.body["data"], "fetched_at": reply.fetched_at, "from_cache": reply.from_cache}
    )


def sim_usage(iccid: str) -> Call[Usage]:
    """Data, minutes and SMS left. Answered from the usage cache while the last figure is
    younger than the polling window (``usage_ttl``); on a 429 the last figure is returned if
    there is one (``from_cache`` True, ``fetched_at`` its age), else ``RateLimitError``."""
    return Call("GET", f"sims/{_segment(iccid)}/usage", _usage, usage_of=iccid)


def sim_topups(iccid: str) -> Call[list[Package]]:
    """The top-up packages this eSIM can take."""
    return Call("GET", f"sims/{_segment(iccid)}/topups", _many(Package))


def sim_packages(iccid: str) -> Call[list[SimPackage]]:
    """The eSIM's packages: the first one and each top-up, with their status."""
    return Call("GET", f"sims/{_segment(iccid)}/packages", _many(SimPackage))


def _instructions(reply: Reply) -> Instructions:
    return Instructions.model_validate(reply.body["data"]["instructions"])


def sim_instructions(iccid: str, *, language: str = "en") -> Call[Instructions]:
    return Call(
        "GET",
        f"sims/{_segment(iccid)}/instructions",
        _instructions,
        headers={"Accept-Language": language},
    )


def _brand(reply: Reply) -> str | None:
    name = reply.body["data"].get("brand_settings_name")
    return str(name) if name is not None else None


def sim_set_brand(iccid: str, name: str | None) -> Call[str | None]:
    """Brand the eSIM's share page with one of your brand settings (None: unbranded)."""
    body = {"brand_settings_name": name}
    return Call("PUT", f"sims/{_segment(iccid)}/brand", _brand, json=body)


# -- notifications, devices, rates, simulator -----------------------------------------------


def _notification(reply: Reply) -> Notification:
    return Notification.model_validate(reply.body["data"]["notification"])


def notification_opt_in(
    type: NotificationType,
    *,
    webhook_url: str | None = None,
    email: str | None = None,
    language: str | None = None,
    levels: Sequence[int] | None = None,
) -> Call[Notification]:
    """Subscribe to a notification: webhook types take ``webhook_url`` (it must answer HEAD with
    200), email types ``email``; credit-limit types take ``levels`` (50, 70, 80, 90)."""
    body: dict[str, Any] = {"type": type}
    optional = {
        "webhook_url": webhook_url,
        "email": email,
        "language": language,
        "levels": list(levels) if levels is not None else None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return Call("POST", "notifications/opt-in", _notification, json=body)


def _nothing(reply: Reply) -> None:
    return None


def notification_opt_out(type: NotificationType) -> Call[None]:
    return Call(
        "POST", "notifications/opt-out", _nothing, json={"type": type}, expect=frozenset({200, 204})
    )


def notification_get(type: NotificationType | None = None) -> Call[Notification]:
    """Your subscription of ``type`` (or the newest one); ``NotFoundError`` when none."""
    return Call("GET", "notifications/opt-in", _notification, params=_query(type=type))


def devices_list(*, lite: bool = True) -> Call[list[Device]]:
    """Devices that take an eSIM (``lite=False``: the deprecated list, with model codes)."""
    return Call("GET", "compatible-devices-lite" if lite else "compatible-devices", _many(Device))


def exchange_rates_get(
    *, date: date | str | None = None, to: str | Iterable[str] | None = None
) -> Call[ExchangeRates]:
    """USD exchange rates of ``date`` (default today) to the currencies ``to``."""
    day = date.isoformat() if date is not None and not isinstance(date, str) else date
    currencies = to if to is None or isinstance(to, str) else ",".join(to)
    params = _query(date=day, to=currencies)
    return Call("GET", "finance/exchange-rates", _one(ExchangeRates), params=params)


def simulator_send(
    event: SimulatorEvent,
    *,
    type: Literal["data_75", "data_90", "expire_1", "expire_3"] | None = None,
    level: int | None = None,
    iccid: str | None = None,
    webhook_url: str | None = None,
) -> Call[str]:
    """Have the API POST a sample webhook (to ``webhook_url``, or to the opted-in URL)."""
    body: dict[str, Any] = {"event": event}
    optional = {"type": type, "level": level, "iccid": iccid, "webhook_url": webhook_url}
    body.update({key: value for key, value in optional.items() if value is not None})
    return Call("POST", "simulator/webhook", _message, json=body, repeat="once")
