"""Ordering rules: orders, top-ups, vouchers and refunds, paid through the append-only ledger.

Every money-moving function starts by locking the partner (``repository.lock_partner``), so its
balance check and its debit see the same balance, and writes the order, the eSIMs and the ledger
entry in the caller's one transaction: all of it lands, or none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub import outbox
from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue.cache import Snapshot
from esimhub.config import Settings
from esimhub.errors import (
    ActionUnauthorized,
    BusinessError,
    MessageError,
    NotFound,
    ValidationFailed,
)
from esimhub.esims import profiles
from esimhub.esims import repository as sims_repository
from esimhub.esims import service as esims
from esimhub.kit import pagination
from esimhub.kit.clock import Clock
from esimhub.kit.money import wire_number, wire_string
from esimhub.mail import service as mail
from esimhub.models import (
    Brand,
    LedgerEntry,
    Operator,
    Order,
    Package,
    Partner,
    Refund,
    Sim,
    Voucher,
)
from esimhub.ordering import repository
from esimhub.usage import service as usage
from esimhub.webhooks import service as webhooks

MAX_QUANTITY = 50
ORDER_STATUSES = ("completed", "failed", "refunded", "partially_refunded")

# Sandbox partners can provoke each documented failure by ordering these ids (reference §3.5, §6.2).
SANDBOX_TRIGGERS: dict[str, BusinessError] = {
    "test-insufficient-balance-7days-1gb": BusinessError(
        11, "Insufficient Airalo Credit: sandbox test package."
    ),
    "test-maintenance-mode-7days-1gb": BusinessError(
        13,
        "The requested operator is currently undergoing maintenance. Please try again later.",
    ),
    "test-disabled-top-up-7days-1gb": BusinessError(
        23, "The requested top-up has been disabled by the operator. Sandbox test package."
    ),
    "test-not-enough-7days-1gb": BusinessError(
        33,
        "Insufficient stock of eSIMs remaining: sandbox test package. "
        "Please try your request again later.",
    ),
    "test-out-of-stock-7days-1gb": esims.OutOfStock(),
}


class InsufficientCredit(BusinessError):
    def __init__(self, needed_cents: int, available_cents: int) -> None:
        super().__init__(
            11,
            f"Insufficient Airalo Credit: this request costs {wire_string(needed_cents)} USD, "
            f"{wire_string(max(available_cents, 0))} USD is available.",
        )


class SimRecycled(BusinessError):
    def __init__(self, iccid: str) -> None:
        super().__init__(
            73,
            f"The eSIM with iccid {iccid} has been recycled. It can no longer be used or topped up.",
        )


class TopupDisabled(BusinessError):
    def __init__(self, operator: str) -> None:
        super().__init__(
            23, f"The requested top-up has been disabled by the operator. Operator: {operator}."
        )


# -- the ledger -------------------------------------------------------------------------------


async def balance_cents(session: AsyncSession, partner_id: int) -> int:
    return await repository.balance_cents(session, partner_id)


async def credit(
    session: AsyncSession,
    partner_id: int,
    *,
    amount_cents: int,
    clock: Clock,
    kind: str = "credit",
    reference: str | None = None,
) -> LedgerEntry:
    """Add money (or, negative, take it) outside an order: top-ups of the balance, corrections.

    Credit-limit levels no longer crossed after a top-up are re-armed.
    """
    if amount_cents == 0:
        raise ValueError("a ledger entry moves a non-zero amount")
    account = await repository.lock_partner(session, partner_id)
    entry = repository.append(
        session,
        partner_id=partner_id,
        amount_cents=amount_cents,
        kind=kind,
        reference=reference,
        at=clock.now(),
    )
    if account is not None and account.credit_alerts and account.credit_limit_cents > 0:
        available = await repository.balance_cents(session, partner_id) + account.credit_limit_cents
        used = _credit_used_percent(account, available)
        account.credit_alerts = [level for level in account.credit_alerts if used >= level]
    return entry


async def ledger(session: AsyncSession, partner_id: int) -> Sequence[LedgerEntry]:
    return await repository.entries(session, partner_id)


async def _lock(session: AsyncSession, partner_id: int) -> Partner:
    """The partner's row, locked for the rest of the transaction (see ``lock_partner``)."""
    account = await repository.lock_partner(session, partner_id)
    if account is None:  # deleted since its token was resolved
        raise NotFound()
    return account


async def _debit(
    session: AsyncSession,
    account: Partner,
    *,
    amount_cents: int,
    kind: str,
    reference: str,
    at: datetime,
) -> int:
    """Take ``amount_cents`` from a locked partner's balance plus credit limit.

    Returns what was debited: sandbox partners pay nothing.
    """
    if account.is_sandbox or amount_cents == 0:
        return 0
    available = await repository.balance_cents(session, account.id) + account.credit_limit_cents
    if amount_cents > available:
        raise InsufficientCredit(amount_cents, available)
    repository.append(
        session,
        partner_id=account.id,
        amount_cents=-amount_cents,
        kind=kind,
        reference=reference,
        at=at,
    )
    await _credit_limit_alerts(session, account, available - amount_cents, at)
    return amount_cents


def _credit_used_percent(account: Partner, available_cents: int) -> float:
    """How much of the credit limit is in use (negative while the balance is above zero)."""
    limit = account.credit_limit_cents
    return (limit - available_cents) * 100 / limit


async def _credit_limit_alerts(
    session: AsyncSession, account: Partner, available_cents: int, at: datetime
) -> None:
    """Record each credit-limit level crossed (once, until a top-up re-arms it)."""
    if account.credit_limit_cents <= 0:
        return
    used_percent = _credit_used_percent(account, available_cents)
    wanted = await webhooks.credit_levels(session, account.id)
    crossed = [
        level
        for level in webhooks.CREDIT_LEVELS
        if used_percent >= level and level in wanted and level not in account.credit_alerts
    ]
    if not crossed:
        return
    account.credit_alerts = sorted({*account.credit_alerts, *crossed})
    for level in crossed:
        await outbox.emit(
            session,
            kind=webhooks.CREDIT_LIMIT,
            dedupe_key=f"credit:{account.id}:{level}:{account.ledger_version}",
            payload={
                "message": f"Surpassed {level}% of the credit limit balance",
                "remaining": wire_number(available_cents),
            },
            partner_id=account.id,
            at=at,
        )


@dataclass(frozen=True)
class UnitPrice:
    pricing_model: str
    discount_percentage: int
    paid_cents: int  # what one unit costs this partner


def unit_price(partner: PartnerPrincipal, package: Package) -> UnitPrice:
    """Net pricing pays ``net_price``; discount pricing pays the retail price less the discount."""
    if not partner.uses_discount_pricing:
        return UnitPrice("net_pricing", 0, package.net_price_cents)
    discount = discount_cents(package.price_cents, partner.discount_percentage)
    return UnitPrice(
        "discount_pricing", partner.discount_percentage, package.price_cents - discount
    )


def discount_cents(price_cents: int, percentage: int) -> int:
    exact = Decimal(price_cents) * percentage / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRequest:
    package_id: str
    quantity: int
    description: str | None = None
    brand_settings_name: str | None = None
    to_email: str | None = None
    sharing_options: tuple[str, ...] = ()
    copy_addresses: tuple[str, ...] = ()


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
    brand = await sims_repository.brand_by_name(session, partner_id, name)
    if brand is None:
        raise ValidationFailed({"brand_settings_name": "Brand settings name doesn't exist."})
    return brand


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
    if partner.is_sandbox and request.package_id in SANDBOX_TRIGGERS:
        raise SANDBOX_TRIGGERS[request.package_id]
    package, operator = sim_package(catalogue, settings, request.package_id)
    brand = await find_brand(session, partner.id, request.brand_settings_name)
    account = await _lock(session, partner.id)
    supply = await esims.check_stock(session, operator, request.quantity)
    now = clock.now()
    price = unit_price(partner, package)
    order = _new_order(
        partner, package, operator, price, quantity=request.quantity, kind="sim", at=now
    )
    order.description = request.description
    order.brand_id = brand.id if brand else None
    session.add(order)
    await session.flush()
    order.code = order_code(order)
    order.debited_cents = await _debit(
        session,
        account,
        amount_cents=price.paid_cents * request.quantity,
        kind="order",
        reference=order.code,
        at=now,
    )
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
    if request.to_email:
        mail.queue_share_mail(
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


def _new_order(
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
        status="completed",
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
    for sim in await sims_repository.sims_of_orders(session, list(by_order)):
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


# -- top-ups ----------------------------------------------------------------------------------


async def available_topups(
    session: AsyncSession, partner_id: int, iccid: str, *, catalogue: Snapshot, now: datetime
) -> list[Package]:
    """The top-up packages an eSIM can take: its operator's, if the operator allows recharging."""
    sim = await esims.owned_sim(session, partner_id, iccid)
    if (await usage.settled(session, sim, now)).recycled:
        raise SimRecycled(sim.iccid)
    operator = catalogue.operators.get(sim.operator_id)
    if operator is None or not operator.rechargeability:
        return []
    return catalogue.topups_of(sim.operator_id)


async def place_topup(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    package_id: str,
    iccid: str,
    description: str | None,
    catalogue: Snapshot,
    clock: Clock,
) -> Order:
    """Add a top-up package to one of the partner's eSIMs, paid like an order of one."""
    if partner.is_sandbox and package_id in SANDBOX_TRIGGERS:
        raise SANDBOX_TRIGGERS[package_id]
    sim = await sims_repository.by_iccid(session, partner.id, iccid)
    if sim is None:
        raise ValidationFailed({"iccid": "The selected iccid is invalid."})
    if sim.recycled_at is not None:
        raise SimRecycled(sim.iccid)
    package = catalogue.packages.get(package_id)
    operator = catalogue.operators.get(sim.operator_id)
    if package is None or operator is None or package.type != "topup":
        raise ValidationFailed({"package_id": "invalid topup package"})
    if package.operator_id != sim.operator_id:
        raise ValidationFailed({"package_id": "invalid topup package"})
    if not operator.rechargeability:
        raise TopupDisabled(operator.title)
    account = await _lock(session, partner.id)
    now = clock.now()
    esim = await usage.locked(session, sim, now)  # after the partner: one lock order everywhere
    if esim.recycled:
        raise SimRecycled(sim.iccid)
    price = unit_price(partner, package)
    order = _new_order(partner, package, operator, price, quantity=1, kind="topup", at=now)
    order.description = description or f"Topup ({sim.iccid})"
    order.topup_sim_id = sim.id
    order.brand_id = sim.brand_id
    session.add(order)
    await session.flush()
    order.code = order_code(order)
    order.debited_cents = await _debit(
        session, account, amount_cents=price.paid_cents, kind="topup", reference=order.code, at=now
    )
    queued = esims.queued_package(sim, order, package, now)
    session.add(queued)
    await session.flush()
    esim.packages.append(queued)
    # active at once on a live eSIM with nothing else running; queued behind the current otherwise
    await usage.record_alerts(session, esim, esim.settle(now))
    return order


# -- vouchers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoucherLine:
    package_id: str
    quantity: int
    booking_reference: str | None


@dataclass(frozen=True)
class IssuedVouchers:
    line: VoucherLine
    codes: list[str]


async def _fresh_codes(session: AsyncSession, count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        batch = {profiles.voucher_code() for _ in range(count - len(codes))} - set(codes)
        codes.extend(sorted(batch - await repository.voucher_codes_taken(session, sorted(batch))))
    return codes


async def buy_esim_vouchers(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    lines: Sequence[VoucherLine],
    catalogue: Snapshot,
    clock: Clock,
) -> list[IssuedVouchers]:
    """Codes an end user redeems for an eSIM of the package, one per unit, paid now."""
    account = await _lock(session, partner.id)
    errors: dict[str, str] = {}
    packages: list[Package] = []
    for index, line in enumerate(lines):
        package = catalogue.packages.get(line.package_id)
        if package is None or package.type != "sim":
            key = f"vouchers.{index}.package_id"
            errors[key] = f"The selected {key} is invalid"
        else:
            packages.append(package)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    units = [unit_price(partner, package).paid_cents for package in packages]
    total = sum(unit * line.quantity for unit, line in zip(units, lines, strict=True))
    paid = await _debit(
        session, account, amount_cents=total, kind="voucher", reference="esim vouchers", at=now
    )
    issued: list[IssuedVouchers] = []
    for package, unit, line in zip(packages, units, lines, strict=True):
        codes = await _fresh_codes(session, line.quantity)
        session.add_all(
            Voucher(
                partner_id=partner.id,
                kind="esim",
                code=code,
                package_id=package.id,
                booking_reference=line.booking_reference,
                is_paid=True,
                debited_cents=unit if paid else 0,
                created_at=now,
            )
            for code in codes
        )
        issued.append(IssuedVouchers(line, codes))
    await session.flush()
    return issued


async def buy_airmoney_vouchers(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    amount: int,
    usage_limit: int,
    quantity: int,
    is_paid: bool,
    voucher_code: str | None,
    clock: Clock,
) -> list[Voucher]:
    """Credit vouchers: each code can be redeemed ``usage_limit`` times for ``amount`` USD.

    The partner is debited the most its codes can ever release (amount * uses * codes), so a
    redeemed voucher never spends money the partner did not have.
    """
    account = await _lock(session, partner.id)
    if voucher_code is not None and await repository.voucher_codes_taken(session, [voucher_code]):
        raise ValidationFailed({"voucher_code": "The voucher code has already been taken."})
    now = clock.now()
    per_voucher = amount * 100 * usage_limit
    paid = await _debit(
        session,
        account,
        amount_cents=per_voucher * quantity,
        kind="voucher",
        reference="airmoney vouchers",
        at=now,
    )
    codes = [voucher_code] if voucher_code else await _fresh_codes(session, quantity)
    vouchers = [
        Voucher(
            partner_id=partner.id,
            kind="airmoney",
            code=code,
            amount_cents=amount * 100,
            usage_limit=usage_limit,
            is_paid=is_paid,
            debited_cents=per_voucher if paid else 0,
            created_at=now,
        )
        for code in codes
    ]
    session.add_all(vouchers)
    await session.flush()
    return vouchers


# -- refunds ----------------------------------------------------------------------------------

REFUND_REASONS = (
    "INSTALLATION_FAILURE",
    "NO_COVERAGE",
    "APN_FAILURE",
    "TRIP_CANCELLATION",
    "INTERMITTENT_CONNECTION",
    "BLOCKED_NETWORK",
    "CHANGE_OF_PLAN",
    "DELETED_ESIM",
    "EARLY_EXPIRY",
    "HOTSPOT_NOT_WORKING",
    "IMSI_CHANGE",
    "INCOMPATIBLE_DEVICE",
    "LOCKED_DEVICE",
    "NO_VOICE_TEXT_SERVICES",
    "OVERCHARGED",
    "SLOW_SPEED",
    "TOP_UP_PACKAGE_FAILURE",
    "UNKNOWN_CHARGES",
    "WRONG_PURCHASE",
    "UNABLE_TO_ACCESS_APPS",
    "SERVICE_DEGRADATION",
    "QR_ISSUE_PARTNERS",
    "OTHERS",
)


class RefundRefused(MessageError):
    """Refund errors answer with the message in ``meta`` and empty ``data`` (reference §3.29)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 422)


async def request_refund(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    iccids: Sequence[str],
    reason: str,
    notes: str | None,
    email: str | None,
    clock: Clock,
) -> Refund:
    unique = list(dict.fromkeys(iccids))
    owned = await sims_repository.iccids_owned(session, partner.id, unique)
    foreign = [iccid for iccid in unique if iccid not in owned]
    if foreign:
        raise RefundRefused(
            f"The following ICCIDs do not belong to your company: {', '.join(foreign)}"
        )
    await _lock(session, partner.id)
    claimed = {i for r in await repository.open_refunds(session, partner.id) for i in r.iccids}
    repeated = [iccid for iccid in unique if iccid in claimed]
    if repeated:
        raise RefundRefused(
            f"The following ICCIDs already have a refund request: {', '.join(repeated)}"
        )
    refund = Refund(
        partner_id=partner.id,
        iccids=unique,
        reason=reason,
        notes=notes,
        email=email,
        status="pending",
        created_at=clock.now(),
    )
    session.add(refund)
    await session.flush()
    return refund


class RefundDecisionError(ValueError):
    pass


async def _paid_for(session: AsyncSession, sims: Sequence[Sim]) -> int:
    """What the partner paid for the eSIMs: each one's share of its order, plus its top-ups."""
    orders = await sims_repository.orders_by_id(
        session, [s.order_id for s in sims if s.order_id is not None]
    )
    total = 0
    for sim in sims:
        order = orders.get(sim.order_id or 0)
        if order is not None:
            total += order.debited_cents // order.quantity
        for package in await sims_repository.packages_of(session, sim.id):
            if package.type == "topup":
                topup = await repository.order_of(session, package.order_id)
                total += topup.debited_cents if topup else 0
    return total


async def decide_refund(
    session: AsyncSession,
    refund_id: int,
    *,
    approve: bool,
    clock: Clock,
    amount_cents: int | None = None,
    note: str | None = None,
) -> Refund:
    """Approve (credit the balance through the ledger, mark the eSIMs refunded) or reject."""
    refund = await repository.refund_of(session, refund_id)
    if refund is None:
        raise RefundDecisionError(f"refund {refund_id} does not exist")
    await _lock(session, refund.partner_id)
    await session.refresh(refund)
    if refund.status != "pending":
        raise RefundDecisionError(f"refund {refund_id} is already {refund.status}")
    now = clock.now()
    refund.status = "approved" if approve else "rejected"
    refund.decided_at = now
    refund.decision_note = note
    if not approve:
        return refund
    sims = await sims_repository.of_partner_by_iccids(session, refund.partner_id, refund.iccids)
    value = await _paid_for(session, sims)
    credited = value if amount_cents is None else amount_cents
    if not 0 <= credited <= value:
        raise RefundDecisionError(
            f"the refund can credit between 0 and {wire_string(value)} USD (what was paid)"
        )
    refund.credited_cents = credited
    if credited:
        repository.append(
            session,
            partner_id=refund.partner_id,
            amount_cents=credited,
            kind="refund",
            reference=f"refund {refund.id}",
            at=now,
        )
    for sim in sims:
        sim.refunded_at = now
    await session.flush()
    orders = await sims_repository.orders_by_id(
        session, [s.order_id for s in sims if s.order_id is not None]
    )
    for order in orders.values():
        siblings = await sims_repository.sims_of_orders(session, [order.id])
        all_refunded = all(s.refunded_at is not None for s in siblings)
        order.status = "refunded" if all_refunded else "partially_refunded"
    return refund


async def refunds(session: AsyncSession, status: str | None = None) -> Sequence[Refund]:
    return await repository.refunds(session, status)
