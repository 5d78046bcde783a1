"""The usage read path: one statement for an eSIM with nothing due, the same bytes as the full
path (the eSIM and its queue loaded into a session and settled) in every state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from esimhub.cli.common import transaction
from esimhub.kit.clock import FrozenClock
from esimhub.models import Sim
from esimhub.usage import schemas, service
from tests.fixtures.clients import get_token
from tests.fixtures.database import statements_run
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.sandbox import Sandbox, sandbox

KALLUR = "kallur-digital-7days-1gb"


@pytest.fixture
async def unlimited_polls(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> AsyncIterator[Sandbox]:
    async with sandbox(
        database_url, clock, make_partner, usage_poll_policy="off", partner_cache_seconds=60
    ) as box:
        yield box


async def assert_same_as_full_path(box: Sandbox, iccid: str) -> str:
    """The endpoint's bytes (v2 and v1) equal the full path's; returns the status."""
    partner_id = box.partner.credentials.partner_id
    answers = {v: (await box.usage(iccid, v)).content for v in ("v2", "v1")}
    async with transaction(box.settings) as session:
        report = await service.usage(session, partner_id, iccid, box.clock.now())
    assert answers["v2"] == schemas.usage_body(report, with_voice=True)
    assert answers["v1"] == schemas.usage_body(report, with_voice=False)
    return report.status


async def database_work_of_one_poll(box: Sandbox, iccid: str) -> tuple[int, list[str]]:
    """The connections one poll checks out of the pool, and the statements it sends through
    SQLAlchemy (the driver-level read is not one of them)."""
    engine = box.app.state.runtime.engine
    checkouts: list[object] = []

    def record(*args: object) -> None:
        checkouts.append(args[0])

    event.listen(engine.sync_engine.pool, "checkout", record)
    try:
        with statements_run(engine) as statements:
            assert (await box.usage(iccid)).status_code == 200
    finally:
        event.remove(engine.sync_engine.pool, "checkout", record)
    return len(checkouts), statements


async def test_every_state_reads_the_same_through_the_fast_path(unlimited_polls: Sandbox) -> None:
    box = unlimited_polls
    fresh, active, finished, queued, expiring = (
        sim["iccid"] for sim in (await box.partner.order(KALLUR, quantity=5))["sims"]
    )
    assert await assert_same_as_full_path(box, fresh) == "NOT_ACTIVE"

    for iccid in (active, finished, queued, expiring):
        assert (await box.network("attach", iccid)).status_code == 200
    await box.consume(active, mb=300, voice_seconds=0, sms=0)
    await box.consume(finished, mb=1024)
    topups = (await box.partner.get(f"/v2/sims/{queued}/topups")).json()["data"]
    bought = await box.partner.post(
        "/v2/orders/topups", json={"package_id": topups[0]["id"], "iccid": queued}
    )
    assert bought.status_code == 200, bought.text
    assert await assert_same_as_full_path(box, active) == "ACTIVE"
    assert await assert_same_as_full_path(box, finished) == "FINISHED"
    assert await assert_same_as_full_path(box, queued) == "ACTIVE"

    # expiring's package ends; the clock is moved without the sweep that moving it through the
    # admin API runs, so the eSIM is due when it is polled: the poll settles it first
    box.clock.advance(timedelta(days=8))
    async with transaction(box.settings) as session:
        sim = (await session.scalars(select(Sim).where(Sim.iccid == expiring))).one()
        assert sim.due_at is not None
        assert sim.due_at <= box.clock.now()
    assert (await box.usage_data(expiring))["status"] == "EXPIRED"
    assert await assert_same_as_full_path(box, expiring) == "EXPIRED"
    assert await assert_same_as_full_path(box, queued) == "ACTIVE"  # the top-up took over

    await box.advance("400d")  # past every grace window (and the token's lifetime)
    box.partner.headers["Authorization"] = (
        f"Bearer {await get_token(box.client, box.partner.credentials)}"
    )
    for iccid in (fresh, active, finished, queued, expiring):
        assert (await box.usage_data(iccid))["status"] == "RECYCLED"
        assert await assert_same_as_full_path(box, iccid) == "RECYCLED"


async def test_an_esim_with_nothing_due_costs_one_driver_read(unlimited_polls: Sandbox) -> None:
    box = unlimited_polls
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    assert (await box.network("attach", iccid)).status_code == 200
    await box.consume(iccid, mb=100)
    assert (await box.usage(iccid)).status_code == 200  # the partner is cached now
    # not a statement through SQLAlchemy: no session, no BEGIN or COMMIT, only the driver-level
    # read (which the byte comparison above holds to the full path), on one pooled connection
    # (PostgreSQL) or on the event loop's own SQLite connection (none from the pool)
    pooled = 0 if box.settings.is_sqlite else 1
    assert await database_work_of_one_poll(box, iccid) == (pooled, [])

    # an eSIM with something due is settled in a transaction: SQLAlchemy statements again
    box.clock.advance(timedelta(days=8))
    checkouts, statements = await database_work_of_one_poll(box, iccid)
    assert checkouts >= pooled + 1  # the read, then the transaction that settles it
    assert any("UPDATE sims" in sql for sql in statements), statements


async def test_a_write_is_read_at_once_by_the_loops_own_sqlite_connection(
    unlimited_polls: Sandbox,
) -> None:
    """The fast path reads on a connection of its own (SQLite): what a pooled connection has just
    committed is what it reads, poll after poll."""
    box = unlimited_polls
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    assert (await box.network("attach", iccid)).status_code == 200
    remaining = []
    for mb in (10, 20, 30):
        await box.consume(iccid, mb=mb)
        remaining.append((await box.usage_data(iccid))["remaining"])
    assert remaining == [1014, 994, 964]
    assert await assert_same_as_full_path(box, iccid) == "ACTIVE"


async def test_another_partners_esim_is_not_found_on_the_fast_path(
    unlimited_polls: Sandbox, make_partner: PartnerFactory
) -> None:
    box = unlimited_polls
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    other = await make_partner(name="Other")
    token = (await box.client.post("/v2/token", data=other.form())).json()["data"]
    answer = await box.client.get(
        f"/v2/sims/{iccid}/usage", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert answer.status_code == 404
