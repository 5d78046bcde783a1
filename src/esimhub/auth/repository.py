"""SQL of the auth area."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import Partner


async def get_by_client_id(session: AsyncSession, client_id: str) -> Partner | None:
    return await session.scalar(select(Partner).where(Partner.client_id == client_id))


async def get(session: AsyncSession, partner_id: int) -> Partner | None:
    return await session.get(Partner, partner_id)


async def list_all(session: AsyncSession) -> Sequence[Partner]:
    return (await session.scalars(select(Partner).order_by(Partner.id))).all()


async def get_by_name(session: AsyncSession, name: str) -> Partner | None:
    query = select(Partner).where(Partner.name == name).order_by(Partner.id).limit(1)
    return (await session.scalars(query)).first()
