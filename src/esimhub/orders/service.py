"""Orders: selling eSIMs of a sim package, paid through the ledger, and reading them back.

``place_order`` writes the order, the eSIMs and the ledger entry in the caller's one transaction:
all of it lands, or none of it. The partner is locked (``ledger.lock``) before the balance check,
so the check and the debit see the same balance: first thing on SQLite, just before the debit on
PostgreSQL (``db.writes_are_serial``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import db
from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue.cache import Snapshot
from esimhub.config import Settings
from esimhub.errors import ActionUnauthorized, BusinessError, NotFound, ValidationFailed
from esimhub.esims import service as esims
from esimhub.kit import pagination
from esimhub.kit.clock import Clock
from esimhub.kit.money import discount_cents
from esimhub.kit.statuses import OrderStatus, PricingModel
from esimhub.ledger import service as ledger
from esimhub.models import Brand, Operator, Order, Package, Sim
from esimhub.orders import repository
from esimhub.orders.schemas import OrderRequest

ORDER_STATUSES = tuple(OrderStatus)

# Sandbox partners can provoke each documented failure by ordering these ids (reference §3.5, §6.2).
SANDBOX_FAILURES: dict[str, tuple[int, str]] = {
    "test-insufficient-balance-7days-1gb": (
        11,
        "Insufficient Airalo Credit: sandbox test package.",
    ),
    "test-maintenance-mode-7days-1gb": (
        13,
        "The requested operator is currently undergoing maintenance. Please try again later.",
    ),
    "test-disabled-top-up-7days-1gb": (
        23,
        "The requested top-up has been disabled by the operator. Sandbox test package.",
    ),
    "test-not-enough-7days-1gb": (
        33,
        "Insufficient stock of eSIMs remaining: sandbox test package. "
        "Please try your request again later.",
    ),
    "test-out-of-stock-7days-1gb": (34, esims.OUT_OF_STOCK),
}


def refuse_sandbox_trigger(partner: PartnerPrincipal, package_id: str) -> None:
    """A sandbox partner ordering a ``test-*`` failure package gets that failure (a new error
    each time: a shared exception object would carry every earlier traceback)."""
    if partner.is_sandbox and package_id in SANDBOX_FAILURES:
        raise BusinessError(*SANDBOX_FAILURES[package_id])


@dataclass(frozen=True)
class UnitPrice:
    pricing_model: str
    discount_percentage: int
    paid_cents: int  # what one unit costs this partner


def unit_price(partner: PartnerPrincipal, package: Package) -> UnitPrice:
    """Net pricing pays ``net_price``; discount pricing pays the retail price less the discount."""
    if not partner.uses_discount_pricing:
        return UnitPrice(PricingModel.NET, 0, package.net_price_cents)
    discount = discount_cents(package.price_cents, partner.discount_percentage)
    return UnitPrice(
        PricingModel.DISCOUNT, partner.discount_percentage, package.price_cents - discount
    )


@dataclass
class PlacedOrder:
    order: Order
    sims: list[Sim] = field(default_factory=list)
    brand: Brand | None = None


def sim_package(
    catalogue: Snapshot, settings: Settings, package_id: str
) -> tuple[Package, Operator]:
    """The sim package ordered by id: unknown → out of stock (or 422, configurable)."""
    package = catalogue.packages.get(package_id)
    if package is None:
        if settings.unknown_package_error == "validation":
            raise ValidationFailed({"package_id": "The selected package is invalid."})
        raise esims.OutOfStock()
    if package.type != "sim":
        raise ValidationFailed({"package_id": "The selected package is invalid."})
    return package, catalogue.operators[package.operator_id]


async def find_brand(session: AsyncSession, partner_id: int, name: str | None) -> Brand | None:
    if name is None:
        return None
    return await esims.brand_named(session, partner_id, name)


async def place_order(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    request: OrderRequest,
    catalogue: Snapshot,
    settings: Settings,
    clock: Clock,
    base_url: str,
) -> PlacedOrder:
    """Sell ``quantity`` eSIMs of a sim package: check, debit, record, issue — in one transaction."""
    refuse_sandbox_trigger(partner, request.package_id)
    package, operator = sim_package(catalogue, settings, request.package_id)
    account = await ledger.lock(session, partner.id) if db.writes_are_serial(session) else None
    brand = await find_brand(session, partner.id, request.brand_settings_name)
    supply = await esims.check_stock(session, operator, request.quantity)
    now = clock.now()
    price = unit_price(partner, package)
    order = new_order(
        partner, package, operator, price, quantity=request.quantity, kind="sim", at=now
    )
    order.description = request.description
    order.brand_id = brand.id if brand else None
    # what the debit below takes (sandbox partners pay nothing), written with the order itself
    # rather than by an UPDATE after it; the debit's own figure is what stands
    order.debited_cents = 0 if partner.is_sandbox else price.paid_cents * request.quantity
    session.add(order)
    await session.flush()
    order.code = order_code(order)
    sims = await esims.issue(
        session,
        settings=settings,
        order=order,
        operator=operator,
        supply=supply,
        package=package,
        brand=brand,
        at=now,
    )
    # On PostgreSQL the partner is locked only now, by the statement that debits it: its orders
    # queue for that statement, the ledger entry and the commit, not for everything above. A
    # refused debit rolls all of it back.
    cost = price.paid_cents * request.quantity
    if account is None:
        order.debited_cents = await ledger.lock_and_debit(
            session, partner.id, amount_cents=cost, kind="order", reference=order.code, at=now
        )
    else:
        order.debited_cents = await ledger.debit(
            session, account, amount_cents=cost, kind="order", reference=order.code, at=now
        )
    if request.to_email:
        esims.queue_share_mail(
            session,
            partner_id=partner.id,
            to=request.to_email,
            cc=request.copy_addresses,
            options=request.sharing_options,
            sims=sims,
            brand=brand,
            package_title=order.package_title,
            base_url=base_url,
            at=now,
        )
    return PlacedOrder(order, sims, brand)


def order_code(order: Order) -> str:
    """``YYYYMMDD-NNNNNN``: the creation date and the id, zero-padded to six digits."""
    return f"{order.created_at:%Y%m%d}-{order.id:06d}"


def new_order(
    partner: PartnerPrincipal,
    package: Package,
    operator: Operator,
    price: UnitPrice,
    *,
    quantity: int,
    kind: str,
    at: datetime,
) -> Order:
    return Order(
        partner_id=partner.id,
        type=kind,
        status=OrderStatus.COMPLETED,
        quantity=quantity,
        is_sandbox=partner.is_sandbox,
        package_id=package.id,
        operator_id=operator.id,
        package_title=f"{operator.title}-{package.title}",
        data_label=package.data_label,
        days=package.days,
        amount_mb=package.amount_mb,
        is_unlimited=package.is_unlimited,
        voice_minutes=package.voice_minutes,
        sms=package.sms,
        esim_type=operator.esim_type,
        manual_installation=package.manual_installation if kind == "sim" else None,
        qr_installation=package.qr_installation if kind == "sim" else None,
        price_cents=package.price_cents,
        net_price_cents=package.net_price_cents,
        pricing_model=price.pricing_model,
        discount_percentage=price.discount_percentage,
        unit_paid_cents=price.paid_cents,
        debited_cents=0,
        created_at=at,
    )


async def order_for(
    session: AsyncSession, partner: PartnerPrincipal, order_id: int, *, with_sims: bool
) -> tuple[Order, list[Sim]]:
    """One of the partner's orders (another partner's → 401, as Airalo answers)."""
    order = await repository.order_of(session, order_id)
    if order is None:
        raise NotFound()
    if order.partner_id != partner.id:
        raise ActionUnauthorized()
    sims = (await order_sims(session, [order]))[order.id] if with_sims else []
    return order, sims


async def order_sims(session: AsyncSession, orders: Sequence[Order]) -> dict[int, list[Sim]]:
    """The eSIMs of each order, by order id."""
    by_order: dict[int, list[Sim]] = {order.id: [] for order in orders}
    for sim in await esims.sims_of_orders(session, list(by_order)):
        by_order[sim.order_id or 0].append(sim)
    return by_order


async def orders_page(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    filters: repository.OrderFilters,
    page: pagination.PageRequest,
    default_limit: int,
    with_sims: bool,
) -> tuple[pagination.PageWindow, Sequence[Order], dict[int, list[Sim]]]:
    """One page of the partner's orders, newest first, with their eSIMs when asked for."""
    total = await repository.count_orders(session, partner.id, filters)
    window = pagination.window(total, page, default_limit)
    orders = await repository.list_orders(
        session, partner.id, filters, offset=window.start, limit=window.stop - window.start
    )
    return window, orders, await order_sims(session, orders) if with_sims else {}


async def issued(session: AsyncSession) -> tuple[int, int]:
    """Orders placed and eSIMs sold since the beginning (for /metrics)."""
    return await repository.issued(session)
