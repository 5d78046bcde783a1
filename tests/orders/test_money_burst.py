"""A burst of one partner's money writes through two server processes: exactly the affordable
orders succeed, the ledger is exact, and overload is a 503 (retried), never a 500."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from esimhub.cli.common import transaction
from esimhub.models import LedgerEntry, Order, Package, Partner, Sim
from tests.fixtures.database import BACKEND, REDIS_URL, make_settings, redis_key_prefix
from tests.fixtures.factories import PartnerCredentials, PartnerFactory
from tests.fixtures.servers import ServerProcess, server_processes

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="two processes share PostgreSQL")

KALLUR = "kallur-digital-7days-1gb"
AFFORDABLE = 400
REQUESTS = 1000


async def _burst(
    servers: list[ServerProcess], credentials: PartnerCredentials, *, concurrency: int
) -> tuple[Counter[int], Counter[int]]:
    """Fire ``REQUESTS`` orders at the servers in turn; a 503 is sent again after Retry-After.
    Returns the final statuses and the 422 codes."""
    async with httpx.AsyncClient(timeout=60) as client:
        token = await client.post(f"{servers[0].url}/v2/token", data=credentials.form())
        headers = {"Authorization": f"Bearer {token.json()['data']['access_token']}"}
        limit = asyncio.Semaphore(concurrency)
        codes: Counter[int] = Counter()

        async def order(number: int) -> int:
            url = f"{servers[number % len(servers)].url}/v2/orders"
            async with limit:
                for _ in range(30):
                    answer = await client.post(
                        url, json={"package_id": KALLUR, "quantity": 1}, headers=headers
                    )
                    if answer.status_code != 503:
                        break
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
            if answer.status_code == 422:
                codes[answer.json().get("code", 0)] += 1
            return answer.status_code

        statuses = Counter(await asyncio.gather(*(order(n) for n in range(REQUESTS))))
    return statuses, codes


@pytest.mark.slow
def test_a_money_burst_from_two_processes_leaves_the_ledger_exact(
    database_url: str, make_partner: PartnerFactory
) -> None:
    async def net_price() -> int:
        async with transaction(make_settings(database_url)) as session:
            package = await session.get(Package, KALLUR)
            assert package is not None
            return package.net_price_cents

    price = asyncio.run(net_price())
    credentials = asyncio.run(make_partner(name="Bursty", balance_cents=AFFORDABLE * price))
    env = {
        "ESIMHUB_DATABASE_URL": database_url,
        "ESIMHUB_REDIS_URL": REDIS_URL,
        "ESIMHUB_REDIS_KEY_PREFIX": redis_key_prefix(),
        "ESIMHUB_EMBEDDED_WORKER": "false",
        "ESIMHUB_RATE_LIMITS": "off",
    }
    with server_processes(2, **env) as servers:
        statuses, codes = asyncio.run(_burst(servers, credentials, concurrency=64))
    assert statuses == {200: AFFORDABLE, 422: REQUESTS - AFFORDABLE}
    assert codes == {11: REQUESTS - AFFORDABLE}  # insufficient credit, every one of them

    async def count() -> tuple[int, int, int, int]:
        async with transaction(make_settings(database_url)) as session:
            partner = credentials.partner_id
            balance = await session.scalar(
                select(func.sum(LedgerEntry.amount_cents)).where(LedgerEntry.partner_id == partner)
            )
            maintained = await session.scalar(
                select(Partner.balance_cents).where(Partner.id == partner)
            )
            orders = await session.scalar(
                select(func.count(Order.id)).where(Order.partner_id == partner)
            )
            sims = await session.scalar(select(func.count(Sim.id)).where(Sim.partner_id == partner))
            return int(balance or 0), int(maintained or 0), int(orders or 0), int(sims or 0)

    assert asyncio.run(count()) == (0, 0, AFFORDABLE, AFFORDABLE)
