"""Overload is answered, not crashed: no database connection or partner lock free in time is a
503 with Retry-After, and nothing of the request is written (PostgreSQL: the pool and the lock
wait are settings there)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.fixtures.clients import ClientFactory, get_token
from tests.fixtures.database import BACKEND
from tests.fixtures.factories import PartnerFactory

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="pool and lock waits: PostgreSQL")

BUSY = {"data": [], "meta": {"message": "The server is busy; try again in a moment."}}


async def test_no_free_connection_answers_503(
    client_for: ClientFactory, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner(balance_cents=10_000)
    async with client_for(database_pool_size=1, database_pool_timeout_seconds=0.2) as client:
        headers = {"Authorization": f"Bearer {await get_token(client, credentials)}"}
        async with client.app.state.runtime.engine.connect() as held:
            await held.execute(text("SELECT 1"))  # the pool's only connection, kept busy
            busy = await client.get("/v2/balance", headers=headers)
        assert (busy.status_code, busy.json()) == (503, BUSY)
        assert busy.headers["retry-after"] == "1"
        assert (await client.get("/v2/balance", headers=headers)).status_code == 200


async def test_a_partner_lock_held_too_long_answers_503_and_writes_nothing(
    client_for: ClientFactory, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner(balance_cents=10_000)
    async with client_for(database_lock_timeout_seconds=0.3) as client:
        headers = {"Authorization": f"Bearer {await get_token(client, credentials)}"}
        order = {"package_id": "kallur-digital-7days-1gb", "quantity": 1}
        async with client.app.state.runtime.engine.connect() as other:
            # another transaction holding the partner's row lock (as a long money write would)
            await other.execute(
                text("UPDATE partners SET ledger_version = ledger_version WHERE id = :id"),
                {"id": credentials.partner_id},
            )
            busy = await client.post("/v2/orders", json=order, headers=headers)
            await other.rollback()
        assert (busy.status_code, busy.json()) == (503, BUSY)
        listed = (await client.get("/v2/orders", headers=headers)).json()
        assert listed["meta"]["total"] == 0
        balance = (await client.get("/v2/balance", headers=headers)).json()
        assert balance["data"]["balances"]["availableBalance"]["amount"] == 100
        assert (await client.post("/v2/orders", json=order, headers=headers)).status_code == 200
