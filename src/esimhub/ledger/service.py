"""The money of a partner: an append-only ledger in cents, a credit limit, and the alerts sent
as the credit limit is used up.

Every money-moving write starts with ``lock`` (the partner's row), so its balance check and its
debit see the same balance, and writes its ledger entry in the caller's one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from esimhub import db
from esimhub.auth import service as auth
from esimhub.config import Settings
from esimhub.errors import BusinessError, NotFound
from esimhub.kit.clock import Clock
from esimhub.kit.money import wire_string
from esimhub.ledger import repository
from esimhub.models import LedgerEntry, Partner
from esimhub.notifications import payloads
from esimhub.notifications import service as notifications


class InsufficientCredit(BusinessError):
    def __init__(self, needed_cents: int, available_cents: int) -> None:
        super().__init__(
            11,
            f"Insufficient Airalo Credit: this request costs {wire_string(needed_cents)} USD, "
            f"{wire_string(max(available_cents, 0))} USD is available.",
        )


async def open_account(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    name: str,
    balance_cents: int = 0,
    **options: Any,
) -> auth.Credentials:
    """A new partner (``auth.create_partner`` takes the ``options``) with an opening balance."""
    if balance_cents < 0:
        raise ValueError("balance and credit limit cannot be negative")
    created = await auth.create_partner(
        session, settings=settings, clock=clock, name=name, **options
    )
    if balance_cents:
        await credit(
            session,
            created.partner.id,
            amount_cents=balance_cents,
            clock=clock,
            reference="opening balance",
        )
    return created


async def partners_with_balances(session: AsyncSession) -> list[tuple[Partner, int]]:
    balances = await repository.balances(session)
    return [(p, balances.get(p.id, 0)) for p in await auth.list_partners(session)]


async def balance_cents(session: AsyncSession, partner_id: int) -> int:
    return await repository.balance_cents(session, partner_id)


async def balances(session: AsyncSession) -> dict[int, int]:
    return await repository.balances(session)


async def mismatches(session: AsyncSession) -> dict[int, tuple[int, int]]:
    """Partners whose maintained balance differs from the sum of their ledger entries:
    ``{partner_id: (maintained, summed)}``; empty when the books agree."""
    summed = await repository.ledger_sums(session)
    maintained = await repository.balances(session)
    return {
        partner_id: (maintained.get(partner_id, 0), summed.get(partner_id, 0))
        for partner_id in maintained.keys() | summed.keys()
        if maintained.get(partner_id, 0) != summed.get(partner_id, 0)
    }


async def available_cents(session: AsyncSession, partner_id: int) -> int:
    """Balance plus credit limit: what the partner can still spend."""
    account = await repository.partner(session, partner_id)
    limit = account.credit_limit_cents if account else 0
    return await repository.balance_cents(session, partner_id) + limit


async def entries(session: AsyncSession, partner_id: int) -> Sequence[LedgerEntry]:
    return await repository.entries(session, partner_id)


async def lock(session: AsyncSession, partner_id: int) -> Partner:
    """The partner's row, locked for the rest of the transaction (see ``lock_partner``)."""
    await db.queue_for_write(session)
    account = await repository.lock_partner(session, partner_id)
    if account is None:  # deleted since its token was resolved
        raise NotFound()
    return account


async def credit(
    session: AsyncSession,
    partner_id: int,
    *,
    amount_cents: int,
    clock: Clock,
    kind: str = "credit",
    reference: str | None = None,
) -> None:
    """Add money (or, negative, take it) outside an order: top-ups of the balance, corrections,
    approved refunds. Credit-limit levels no longer crossed afterwards are re-armed."""
    if amount_cents == 0:
        raise ValueError("a ledger entry moves a non-zero amount")
    account = await repository.lock_partner(session, partner_id)
    await repository.append(
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


async def debit(
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
    # the row as locked: nothing else has moved this partner's money since
    available = account.balance_cents + account.credit_limit_cents
    if amount_cents > available:
        raise InsufficientCredit(amount_cents, available)
    await repository.append(
        session,
        partner_id=account.id,
        amount_cents=-amount_cents,
        kind=kind,
        reference=reference,
        at=at,
    )
    # the stored balance moved in SQL; the locked row follows without a write of its own, so a
    # second debit in the same transaction checks the balance left by the first
    set_committed_value(account, "balance_cents", account.balance_cents - amount_cents)
    await _credit_limit_alerts(session, account, available - amount_cents, at)
    return amount_cents


async def lock_and_debit(
    session: AsyncSession,
    partner_id: int,
    *,
    amount_cents: int,
    kind: str,
    reference: str,
    at: datetime,
) -> int:
    """``lock`` and ``debit`` as one statement, for a write that moves a partner's money only
    by this debit and locks the partner last (an order on PostgreSQL): the partner's other
    writes then wait for this statement, the ledger entry and the commit, nothing else. A
    refused debit raises, and the caller's rollback puts the balance back.

    Returns what was debited: sandbox partners pay nothing."""
    account = await repository.lock_partner(session, partner_id, take_cents=amount_cents)
    if account is None:  # deleted since its token was resolved
        raise NotFound()
    if account.is_sandbox or amount_cents == 0:
        return 0
    available = account.balance_cents + amount_cents + account.credit_limit_cents
    if amount_cents > available:
        raise InsufficientCredit(amount_cents, available)
    await repository.add_entry(
        session,
        partner_id=partner_id,
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
    wanted = await notifications.credit_levels(session, account.id)
    crossed = [
        level
        for level in payloads.CREDIT_LEVELS
        if used_percent >= level and level in wanted and level not in account.credit_alerts
    ]
    if not crossed:
        return
    account.credit_alerts = sorted({*account.credit_alerts, *crossed})
    for level in crossed:
        await notifications.emit(
            session,
            kind=payloads.CREDIT_LIMIT,
            dedupe_key=f"credit:{account.id}:{level}:{account.ledger_version}",
            payload=payloads.credit_limit(level=level, available_cents=available_cents),
            partner_id=account.id,
            at=at,
        )


async def append(
    session: AsyncSession,
    *,
    partner_id: int,
    amount_cents: int,
    kind: str,
    reference: str | None,
    at: datetime,
) -> None:
    """An entry as it is, for callers that already hold the partner's lock (refund approval)."""
    await repository.append(
        session,
        partner_id=partner_id,
        amount_cents=amount_cents,
        kind=kind,
        reference=reference,
        at=at,
    )


async def movements(session: AsyncSession) -> tuple[int, int]:
    """Cents debited from and credited to every balance since the beginning (for /metrics)."""
    return await repository.movements(session)
