"""SQL of the ledger: the partner row lock, the append-only entries and what they sum to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import LedgerEntry, Partner


async def lock_partner(
    session: AsyncSession, partner_id: int, *, take_cents: int = 0
) -> Partner | None:
    """Serialise a partner's money-moving writes, and read the partner's row as locked (its
    ``balance_cents`` is the balance as of the lock), in one statement; with ``take_cents``,
    the same statement also takes that much from the balance (nothing from a sandbox partner),
    and the row read is the balance after it.

    The UPDATE takes the partner's row lock on PostgreSQL and the database write lock on SQLite,
    so two orders never both see the same balance. On SQLite it must be the transaction's first
    statement (see ``db.writes_are_serial``).
    """
    moved: dict[str, Any] = {"ledger_version": Partner.ledger_version + 1}
    if take_cents:
        taken = case((Partner.is_sandbox, 0), else_=take_cents)
        moved["balance_cents"] = Partner.balance_cents - taken
    locked = await session.scalars(
        update(Partner).where(Partner.id == partner_id).values(moved).returning(Partner),
        execution_options={"populate_existing": True},
    )
    return locked.one_or_none()


async def partner(session: AsyncSession, partner_id: int) -> Partner | None:
    return await session.get(Partner, partner_id)


async def balance_cents(session: AsyncSession, partner_id: int) -> int:
    """The maintained balance: one row, however long the ledger."""
    total = await session.scalar(select(Partner.balance_cents).where(Partner.id == partner_id))
    return int(total or 0)


async def balances(session: AsyncSession) -> dict[int, int]:
    """Every partner's maintained balance, by partner id."""
    rows = await session.execute(select(Partner.id, Partner.balance_cents))
    return {partner_id: int(total) for partner_id, total in rows.all()}


async def ledger_sums(session: AsyncSession) -> dict[int, int]:
    """What every partner's ledger entries add up to (the check of the maintained balances)."""
    rows = await session.execute(
        select(LedgerEntry.partner_id, func.sum(LedgerEntry.amount_cents)).group_by(
            LedgerEntry.partner_id
        )
    )
    return {partner_id: int(total or 0) for partner_id, total in rows.all()}


async def append(
    session: AsyncSession,
    *,
    partner_id: int,
    amount_cents: int,
    kind: str,
    reference: str | None,
    at: datetime,
) -> None:
    """An entry, and the partner's maintained balance moved by as much, in one transaction."""
    await add_entry(
        session,
        partner_id=partner_id,
        amount_cents=amount_cents,
        kind=kind,
        reference=reference,
        at=at,
    )
    await session.execute(
        update(Partner)
        .where(Partner.id == partner_id)
        .values(balance_cents=Partner.balance_cents + amount_cents)
    )


async def add_entry(
    session: AsyncSession,
    *,
    partner_id: int,
    amount_cents: int,
    kind: str,
    reference: str | None,
    at: datetime,
) -> None:
    """The entry alone, for a balance already moved (``lock_partner(take_cents=)``). Core, not
    the unit of work: the entry is written and never read back by its writer."""
    await session.execute(
        insert(LedgerEntry).values(
            partner_id=partner_id,
            amount_cents=amount_cents,
            kind=kind,
            reference=reference,
            created_at=at,
        )
    )


async def entries(session: AsyncSession, partner_id: int) -> Sequence[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.partner_id == partner_id).order_by(LedgerEntry.id)
    return (await session.scalars(query)).all()


async def movements(session: AsyncSession) -> tuple[int, int]:
    """Cents taken from (debits) and added to (credits) every balance, as positive sums."""
    negative = func.coalesce(
        func.sum(-LedgerEntry.amount_cents).filter(LedgerEntry.amount_cents < 0), 0
    )
    positive = func.coalesce(
        func.sum(LedgerEntry.amount_cents).filter(LedgerEntry.amount_cents > 0), 0
    )
    row = (await session.execute(select(negative, positive))).one()
    return int(row[0]), int(row[1])
