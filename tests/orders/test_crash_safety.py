"""``kill -9`` of the server while orders are being placed: every order is complete (its eSIMs,
its debit) or absent, and the ledger adds up."""

from __future__ import annotations

import asyncio
import os
import random
import signal

import httpx
import pytest
from sqlalchemy import func, select

from esimhub.cli.common import transaction
from esimhub.models import LedgerEntry, Order, Sim
from tests.fixtures.database import BACKEND, REDIS_URL, make_settings, redis_key_prefix
from tests.fixtures.factories import PartnerCredentials, PartnerFactory
from tests.fixtures.servers import ServerProcess, server_processes

KILLS = 3
OPENING_CENTS = 1_000_000


async def _orders_until_killed(server: ServerProcess, credentials: PartnerCredentials) -> int:
    """Place orders 16 at a time, and SIGKILL the server at a random moment; the answers seen."""
    answered = 0
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        token = await client.post("/v2/token", data=credentials.form())
        headers = {"Authorization": f"Bearer {token.json()['data']['access_token']}"}

        async def keep_ordering() -> None:
            nonlocal answered
            while True:
                try:
                    await client.post(
                        "/v2/orders",
                        json={"package_id": "kallur-digital-7days-1gb", "quantity": 3},
                        headers=headers,
                    )
                    answered += 1
                except httpx.TransportError:
                    return

        workers = [asyncio.create_task(keep_ordering()) for _ in range(16)]
        await asyncio.sleep(random.uniform(0.3, 1.2))
        os.kill(server.process.pid, signal.SIGKILL)
        await asyncio.gather(*workers)
    return answered


@pytest.mark.slow
def test_orders_are_complete_or_absent_after_kill_9(
    database_url: str, make_partner: PartnerFactory
) -> None:
    credentials = asyncio.run(make_partner(name="Crashy", balance_cents=OPENING_CENTS))
    env = {"ESIMHUB_DATABASE_URL": database_url, "ESIMHUB_EMBEDDED_WORKER": "false"}
    if BACKEND == "postgres":
        env |= {"ESIMHUB_REDIS_URL": REDIS_URL, "ESIMHUB_REDIS_KEY_PREFIX": redis_key_prefix()}
    answered = 0
    for _ in range(KILLS):
        with server_processes(1, **env) as (server,):
            answered += asyncio.run(_orders_until_killed(server, credentials))
    assert answered > 0

    async def audit() -> tuple[list[tuple[int, int, int]], int, int]:
        async with transaction(make_settings(database_url)) as session:
            partner = credentials.partner_id
            orders = (await session.scalars(select(Order).where(Order.partner_id == partner))).all()
            rows = []
            for order in orders:
                sims = await session.scalar(
                    select(func.count(Sim.id)).where(Sim.order_id == order.id)
                )
                debited = await session.scalar(
                    select(func.sum(LedgerEntry.amount_cents)).where(
                        LedgerEntry.partner_id == partner, LedgerEntry.reference == order.code
                    )
                )
                rows.append(
                    (order.quantity, int(sims or 0), -int(debited or 0) - order.debited_cents)
                )
            balance = await session.scalar(
                select(func.sum(LedgerEntry.amount_cents)).where(LedgerEntry.partner_id == partner)
            )
            paid = sum(order.debited_cents for order in orders)
            return rows, int(balance or 0), OPENING_CENTS - paid

    rows, balance, expected = asyncio.run(audit())
    assert rows  # orders were placed between the kills
    assert all(sims == quantity and gap == 0 for quantity, sims, gap in rows)
    assert balance == expected
