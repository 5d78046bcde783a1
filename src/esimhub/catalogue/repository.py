"""SQL of the catalogue area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.kit.statuses import Supply
from esimhub.models import (
    CatalogueState,
    Destination,
    ExchangeRate,
    Operator,
    Package,
    PackageOverride,
)


@dataclass(frozen=True)
class CatalogueRows:
    version: int
    destinations: Sequence[Destination]
    operators: Sequence[Operator]
    packages: Sequence[Package]
    overrides: Sequence[PackageOverride] = ()


async def version(session: AsyncSession) -> int:
    state = await session.scalar(select(CatalogueState.version).where(CatalogueState.id == 1))
    return int(state or 0)


async def bump_version(session: AsyncSession, at: datetime) -> int:
    state = await session.get(CatalogueState, 1, with_for_update=True)
    if state is None:
        state = CatalogueState(id=1, version=1, updated_at=at)
        session.add(state)
    else:
        state.version += 1
        state.updated_at = at
    await session.flush()
    return state.version


async def load(session: AsyncSession) -> CatalogueRows:
    return CatalogueRows(
        version=await version(session),
        destinations=(
            await session.scalars(select(Destination).order_by(Destination.position))
        ).all(),
        operators=(await session.scalars(select(Operator).order_by(Operator.position))).all(),
        packages=(await session.scalars(select(Package).order_by(Package.position))).all(),
        overrides=(
            await session.scalars(select(PackageOverride).order_by(PackageOverride.package_id))
        ).all(),
    )


async def overrides_of(session: AsyncSession, partner_id: int) -> Sequence[PackageOverride]:
    query = select(PackageOverride).where(PackageOverride.partner_id == partner_id)
    return (await session.scalars(query.order_by(PackageOverride.package_id))).all()


async def override_of(
    session: AsyncSession, partner_id: int, package_id: str
) -> PackageOverride | None:
    return await session.scalar(
        select(PackageOverride).where(
            PackageOverride.partner_id == partner_id, PackageOverride.package_id == package_id
        )
    )


async def replace(
    session: AsyncSession,
    *,
    destinations: list[dict[str, Any]],
    operators: list[dict[str, Any]],
    packages: list[dict[str, Any]],
) -> None:
    """Swap the whole catalogue in the caller's transaction (nothing is half-written).

    An operator's supply mode is not catalogue data (it follows inventory imports), so it
    survives the swap.
    """
    current = await session.execute(select(Operator.id, Operator.supply))
    supply = {row[0]: row[1] for row in current.all()}
    operators = [{**row, "supply": supply.get(row["id"], Supply.GENERATED)} for row in operators]
    await session.execute(delete(Package))
    await session.execute(delete(Operator))
    await session.execute(delete(Destination))
    for table, rows in ((Destination, destinations), (Operator, operators), (Package, packages)):
        for start in range(0, len(rows), 500):
            await session.execute(insert(table), rows[start : start + 500])


async def package(session: AsyncSession, package_id: str) -> Package | None:
    return await session.get(Package, package_id)


async def package_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Package)) or 0)


async def rates_on(session: AsyncSession, date: str) -> tuple[str, dict[str, Decimal]] | None:
    """The newest rates published on or before ``date``; else the oldest we have."""
    chosen = await session.scalar(
        select(func.max(ExchangeRate.date)).where(ExchangeRate.date <= date)
    )
    if chosen is None:
        chosen = await session.scalar(select(func.min(ExchangeRate.date)))
    if chosen is None:
        return None
    rows = await session.execute(
        select(ExchangeRate.currency, ExchangeRate.rate).where(ExchangeRate.date == chosen)
    )
    return chosen, {currency: Decimal(str(rate)) for currency, rate in rows.all()}


async def save_rates(session: AsyncSession, date: str, rates: dict[str, Decimal]) -> None:
    await session.execute(delete(ExchangeRate).where(ExchangeRate.date == date))
    await session.execute(
        insert(ExchangeRate), [{"date": date, "currency": c, "rate": r} for c, r in rates.items()]
    )
