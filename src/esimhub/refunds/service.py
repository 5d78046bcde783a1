"""Refunds: requested by partners for up to five eSIMs, decided by the operator, credited
through the ledger (never more than was paid)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.auth.directory import PartnerPrincipal
from esimhub.errors import MessageError
from esimhub.esims import service as esims
from esimhub.kit.clock import Clock
from esimhub.kit.money import wire_string
from esimhub.kit.statuses import OrderStatus, RefundStatus
from esimhub.ledger import service as ledger
from esimhub.models import Refund, Sim
from esimhub.refunds import repository


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
    owned = await esims.iccids_owned(session, partner.id, unique)
    foreign = [iccid for iccid in unique if iccid not in owned]
    if foreign:
        raise RefundRefused(
            f"The following ICCIDs do not belong to your company: {', '.join(foreign)}"
        )
    await ledger.lock(session, partner.id)
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
        status=RefundStatus.PENDING,
        created_at=clock.now(),
    )
    session.add(refund)
    await session.flush()
    return refund


class RefundDecisionError(ValueError):
    pass


async def _paid_for(session: AsyncSession, sims: Sequence[Sim]) -> int:
    """What the partner paid for the eSIMs: each one's share of its order, plus its top-ups."""
    orders = await esims.orders_of(session, sims)
    total = 0
    for sim in sims:
        order = orders.get(sim.order_id or 0)
        if order is not None:
            total += order.debited_cents // order.quantity
        for package in await esims.packages_of(session, sim.id):
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
    await ledger.lock(session, refund.partner_id)
    await session.refresh(refund)
    if refund.status != RefundStatus.PENDING:
        raise RefundDecisionError(f"refund {refund_id} is already {refund.status}")
    now = clock.now()
    refund.status = RefundStatus.APPROVED if approve else RefundStatus.REJECTED
    refund.decided_at = now
    refund.decision_note = note
    if not approve:
        return refund
    sims = await esims.sims_by_iccids(session, refund.partner_id, refund.iccids)
    value = await _paid_for(session, sims)
    credited = value if amount_cents is None else amount_cents
    if not 0 <= credited <= value:
        raise RefundDecisionError(
            f"the refund can credit between 0 and {wire_string(value)} USD (what was paid)"
        )
    refund.credited_cents = credited
    if credited:
        await ledger.append(
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
    orders = await esims.orders_of(session, sims)
    for order in orders.values():
        siblings = await esims.sims_of_orders(session, [order.id])
        all_refunded = all(s.refunded_at is not None for s in siblings)
        order.status = OrderStatus.REFUNDED if all_refunded else OrderStatus.PARTIALLY_REFUNDED
    return refund


async def refunds(session: AsyncSession, status: str | None = None) -> Sequence[Refund]:
    return await repository.refunds(session, status)
