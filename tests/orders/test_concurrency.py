"""Concurrent writes never overdraw a balance or hand a pool profile out twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.esims import service as esims
from esimhub.esims.profiles import luhn_check_digit
from esimhub.kit.clock import FrozenClock
from esimhub.models import LedgerEntry, Order, Sim
from tests.fixtures.clients import get_token
from tests.fixtures.factories import PartnerFactory

PACKAGE = "merhaba-7days-1gb"


async def net_price_cents(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    catalogue = await client.get("/v2/packages", params={"filter[country]": "TR"}, headers=headers)
    for operator in catalogue.json()["data"][0]["operators"]:
        for package in operator["packages"]:
            if package["id"] == PACKAGE:
                cents: int = round(package["net_price"] * 100)
                return cents
    raise AssertionError(f"{PACKAGE} is not in the catalogue")


async def test_200_concurrent_orders_against_a_balance_for_100(
    app_client: httpx.AsyncClient,
    make_partner: PartnerFactory,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    probe = await make_partner(name="Probe")
    probe_headers = {"Authorization": f"Bearer {await get_token(app_client, probe)}"}
    unit = await net_price_cents(app_client, probe_headers)
    credentials = await make_partner(balance_cents=100 * unit)
    headers = {"Authorization": f"Bearer {await get_token(app_client, credentials)}"}

    async def order() -> httpx.Response:
        return await app_client.post(
            "/v2/orders", json={"package_id": PACKAGE, "quantity": 1}, headers=headers
        )

    responses = await asyncio.gather(*(order() for _ in range(200)))
    outcomes = Counter(
        "ok" if r.status_code == 200 else f"{r.status_code}/{r.json().get('code')}"
        for r in responses
    )
    assert outcomes == {"ok": 100, "422/11": 100}

    async with transaction(settings) as session:
        partner_id = credentials.partner_id
        total = await session.scalar(
            select(func.sum(LedgerEntry.amount_cents)).where(LedgerEntry.partner_id == partner_id)
        )
        orders = await session.scalar(
            select(func.count(Order.id)).where(Order.partner_id == partner_id)
        )
        sims = await session.scalar(select(func.count(Sim.id)).where(Sim.partner_id == partner_id))
    assert total == 0  # the opening credit, less exactly 100 debits
    assert (orders, sims) == (100, 100)
    balance = await app_client.get("/v2/balance", headers=headers)
    assert balance.json()["data"]["balances"]["availableBalance"]["amount"] == 0


async def test_concurrent_orders_share_a_pool_without_duplicates(
    app_client: httpx.AsyncClient,
    make_partner: PartnerFactory,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    first = await make_partner(name="First", balance_cents=100_000)
    second = await make_partner(name="Second", balance_cents=100_000)
    headers = [
        {"Authorization": f"Bearer {await get_token(app_client, credentials)}"}
        for credentials in (first, second)
    ]
    catalogue = await app_client.get(
        "/v2/packages", params={"filter[country]": "TR"}, headers=headers[0]
    )
    operator_id = catalogue.json()["data"][0]["operators"][0]["id"]
    rows = ["iccid,smdp_address,matching_id"]
    for serial in range(5):
        payload = f"894800000000000{serial:03d}"
        rows.append(f"{payload}{luhn_check_digit(payload)},rsp.example.net,POOL-{serial}")
    async with transaction(settings) as session:
        await esims.import_inventory(
            session,
            settings=settings,
            clock=clock,
            operator_id=operator_id,
            csv_text="\n".join(rows),
        )

    async def order(index: int) -> httpx.Response:
        return await app_client.post(
            "/v2/orders",
            json={"package_id": PACKAGE, "quantity": 1},
            headers=headers[index % 2],
        )

    responses = await asyncio.gather(*(order(i) for i in range(12)))
    sold = [r.json()["data"]["sims"][0]["iccid"] for r in responses if r.status_code == 200]
    refused = [r.json() for r in responses if r.status_code != 200]
    assert len(sold) == len(set(sold)) == 5
    assert all(body["code"] == 34 for body in refused)
    assert len(refused) == 7
