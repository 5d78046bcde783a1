"""SQL of vouchers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.models import Voucher


async def voucher_codes_taken(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    query = select(Voucher.code).where(Voucher.code.in_(codes))
    return set((await session.scalars(query)).all())
