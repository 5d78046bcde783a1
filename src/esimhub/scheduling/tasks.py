"""Scheduled-order work that owns its transactions (the worker).

The worker leases a due row, places the order and writes the order webhook in one transaction,
so an order is placed once and announced once however the worker dies; a failed attempt is
rolled back and recorded as a failure webhook (``{"request_id", "reason"}``) in a second one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.catalogue.cache import Snapshot
from esimhub.config import Settings
from esimhub.errors import EsimhubError
from esimhub.kit.clock import Clock
from esimhub.scheduling import service


async def claim_due(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, lease: int, limit: int = 20
) -> list[int]:
    async with db.transaction(sessionmaker) as session:
        return await service.lease_due(session, clock.now(), lease, limit)


async def execute(
    sessionmaker: async_sessionmaker[AsyncSession],
    scheduled_id: int,
    *,
    catalogue: Snapshot,
    settings: Settings,
    clock: Clock,
) -> str:
    """Place one leased scheduled order; returns its new status."""
    try:
        async with db.transaction(sessionmaker) as session:
            row, status = await service.pending(session, scheduled_id)
            if row is None:
                return status
            partner_catalogue = catalogue.for_partner(row.partner_id)  # its overrides
            return await service.place(
                session, row, catalogue=partner_catalogue, settings=settings, clock=clock
            )
    except EsimhubError as exc:
        async with db.transaction(sessionmaker) as session:
            row, status = await service.pending(session, scheduled_id)
            if row is None:
                return status
            return await service.fail(session, row, service.reason(exc), clock.now())
