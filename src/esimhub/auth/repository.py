"""SQL of the auth area."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from esimhub.db import Detached, DriverQuery
from esimhub.models import Partner


async def get_by_client_id(session: AsyncSession, client_id: str) -> Partner | None:
    return await session.scalar(select(Partner).where(Partner.client_id == client_id))


_PARTNER = Detached(Partner, [column.key for column in Partner.__table__.columns])
_CREDENTIALS = DriverQuery(
    select(*Partner.__table__.columns).where(Partner.client_id == bindparam("client_id"))
)


async def credentials(engine: AsyncEngine, client_id: str) -> Partner | None:
    """The partner holding ``client_id``, read on the driver for ``POST /token`` (a hot path
    that writes nothing), as a detached object."""
    rows = await _CREDENTIALS.rows(engine, client_id=client_id)
    return _PARTNER(rows[0]) if rows else None


async def get(session: AsyncSession, partner_id: int) -> Partner | None:
    return await session.get(Partner, partner_id)


async def list_all(session: AsyncSession) -> Sequence[Partner]:
    return (await session.scalars(select(Partner).order_by(Partner.id))).all()


async def get_by_name(session: AsyncSession, name: str) -> Partner | None:
    query = select(Partner).where(Partner.name == name).order_by(Partner.id).limit(1)
    return (await session.scalars(query)).first()
