"""Top-ups: another package queued on one of the partner's eSIMs, paid like an order of one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue.cache import Snapshot
from esimhub.errors import BusinessError, ValidationFailed
from esimhub.esims import service as esims
from esimhub.kit.clock import Clock
from esimhub.ledger import service as ledger
from esimhub.models import Order
from esimhub.orders import service as orders
from esimhub.usage import service as usage


class TopupDisabled(BusinessError):
    def __init__(self, operator: str) -> None:
        super().__init__(
            23, f"The requested top-up has been disabled by the operator. Operator: {operator}."
        )


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
    orders.refuse_sandbox_trigger(partner, package_id)
    sim = await esims.find_sim(session, partner.id, iccid)
    if sim is None:
        raise ValidationFailed({"iccid": "The selected iccid is invalid."})
    if sim.recycled_at is not None:
        raise usage.SimRecycled(sim.iccid)
    package = catalogue.packages.get(package_id)
    operator = catalogue.operators.get(sim.operator_id)
    if package is None or operator is None or package.type != "topup":
        raise ValidationFailed({"package_id": "invalid topup package"})
    if package.operator_id != sim.operator_id:
        raise ValidationFailed({"package_id": "invalid topup package"})
    if not operator.rechargeability:
        raise TopupDisabled(operator.title)
    account = await ledger.lock(session, partner.id)
    now = clock.now()
    state = await usage.locked(session, sim, now)  # after the partner: one lock order everywhere
    if state.recycled:
        raise usage.SimRecycled(sim.iccid)
    price = orders.unit_price(partner, package)
    order = orders.new_order(partner, package, operator, price, quantity=1, kind="topup", at=now)
    order.description = description or f"Topup ({sim.iccid})"
    order.topup_sim_id = sim.id
    order.brand_id = sim.brand_id
    session.add(order)
    await session.flush()
    order.code = orders.order_code(order)
    order.debited_cents = await ledger.debit(
        session, account, amount_cents=price.paid_cents, kind="topup", reference=order.code, at=now
    )
    queued = esims.queued_package(sim, order, package, now)
    session.add(queued)
    await session.flush()
    state.packages.append(queued)
    # active at once on a live eSIM with nothing else running; queued behind the current otherwise
    await usage.record_alerts(session, state, state.settle(now))
    return order
