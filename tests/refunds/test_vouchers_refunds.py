"""Vouchers and refunds: codes, bodies, and every cent through the ledger."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from esimhub.refunds import schemas as refund_schemas
from esimhub.refunds import service
from tests.fixtures.clients import Partnered, get_token
from tests.fixtures.factories import PartnerFactory

INVALID = "the parameter is invalid"


async def balance(api: Partnered) -> float:
    body = (await api.get("/v2/balance")).json()
    amount: float = body["data"]["balances"]["availableBalance"]["amount"]
    return amount


async def test_esim_vouchers_are_unique_codes_paid_now(partner_api: Partnered) -> None:
    before = await balance(partner_api)
    response = await partner_api.post(
        "/v2/voucher/esim",
        json={
            "vouchers": [
                {"package_id": "jaco-mobile-7days-1gb", "quantity": 2, "booking_reference": "123"},
                {"package_id": "merhaba-7days-1gb", "quantity": 1},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"message": "success"}
    first, second = body["data"]
    assert (first["package_id"], first["booking_reference"]) == ("jaco-mobile-7days-1gb", "123")
    assert second["booking_reference"] is None
    codes = first["codes"] + second["codes"]
    assert len(codes) == len(set(codes)) == 3
    assert all(re.fullmatch(r"[A-Z0-9]{8}", code) for code in codes)
    assert await balance(partner_api) < before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"vouchers": "The vouchers field is required."}),
        (
            {
                "vouchers": [
                    {"package_id": "merhaba-7days-1gb", "quantity": 1},
                    {"package_id": "nope", "quantity": 1},
                ]
            },
            {"vouchers.1.package_id": "The selected vouchers.1.package_id is invalid"},
        ),
        (
            {"vouchers": [{"package_id": "merhaba-7days-1gb"}]},
            {"vouchers.0.quantity": "The vouchers.0.quantity field is required."},
        ),
    ],
)
async def test_esim_voucher_errors(
    partner_api: Partnered, body: dict[str, object], errors: dict[str, str]
) -> None:
    before = await balance(partner_api)
    response = await partner_api.post("/v2/voucher/esim", json=body)
    assert response.status_code == 422
    assert response.json() == {"data": errors, "meta": {"message": INVALID}}
    assert await balance(partner_api) == before


async def test_airmoney_vouchers(partner_api: Partnered) -> None:
    before = await balance(partner_api)
    one = await partner_api.post(
        "/v2/voucher/airmoney",
        json={"usage_limit": 2, "amount": 10, "quantity": 1, "voucher_code": "SUMMER26"},
    )
    assert one.status_code == 200, one.text
    data = one.json()["data"]
    assert (data["code"], data["usage_limit"], data["amount"], data["is_paid"]) == (
        "SUMMER26",
        2,
        10,
        False,
    )
    assert data["created_at"] == "2026-11-24 12:00:00"
    assert await balance(partner_api) == before - 20  # 10 USD, redeemable twice

    many = await partner_api.post(
        "/v2/voucher/airmoney", json={"amount": 5, "quantity": 3, "is_paid": True}
    )
    assert len(many.json()["data"]) == 3
    assert await balance(partner_api) == before - 35

    taken = await partner_api.post(
        "/v2/voucher/airmoney", json={"amount": 5, "quantity": 1, "voucher_code": "SUMMER26"}
    )
    assert taken.status_code == 422
    assert taken.json()["data"] == {"voucher_code": "The voucher code has already been taken."}
    capped = await partner_api.post(
        "/v2/voucher/airmoney", json={"amount": 5, "quantity": 2, "voucher_code": "WINTER"}
    )
    assert capped.json()["data"] == {
        "voucher_code": "The selected voucher code allows a maximum quantity of 1"
    }
    assert await balance(partner_api) == before - 35


async def test_refund_request_and_approval_credit_the_ledger(
    partner_api: Partnered, settings: Settings, clock: FrozenClock
) -> None:
    order = await partner_api.order("merhaba-7days-1gb", quantity=2)
    after_order = await balance(partner_api)
    iccid = order["sims"][0]["iccid"]
    response = await partner_api.post(
        "/v2/refund", data={"iccids[]": [iccid], "reason": "NO_COVERAGE", "email": "a@b.example"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["meta"] == {"message": "success"}
    assert body["data"]["created_at"] == "2026-11-24 12:00"
    refund_id = body["data"]["refund_id"]
    assert isinstance(refund_id, str)

    again = await partner_api.post("/v2/refund", json={"iccids": [iccid], "reason": "NO_COVERAGE"})
    assert again.status_code == 422
    assert again.json()["meta"]["message"] == (
        f"The following ICCIDs already have a refund request: {iccid}"
    )

    async with transaction(settings) as session:
        refund = await service.decide_refund(session, int(refund_id), approve=True, clock=clock)
        assert refund.credited_cents == round(order["net_price"] * 100)
    assert await balance(partner_api) == pytest.approx(after_order + order["net_price"])
    status = (await partner_api.get(f"/v2/orders/{order['id']}?include=status")).json()
    assert status["data"]["status"]["slug"] == "partially_refunded"

    async with transaction(settings) as session:
        with pytest.raises(service.RefundDecisionError):
            await service.decide_refund(session, int(refund_id), approve=True, clock=clock)


async def test_refund_errors(partner_api: Partnered) -> None:
    iccid = (await partner_api.order())["sims"][0]["iccid"]
    cases: list[tuple[dict[str, object], dict[str, object]]] = [
        (
            {"reason": "NO_COVERAGE"},
            {"data": [], "meta": {"message": "The iccids field is required."}},
        ),
        (
            {"iccids": [iccid, "894000000000001", "894000000000002"], "reason": "NO_COVERAGE"},
            {
                "data": [],
                "meta": {
                    "message": "The following ICCIDs do not belong to your company: "
                    "894000000000001, 894000000000002"
                },
            },
        ),
        (
            {"iccids": [iccid], "reason": "BORED"},
            {
                "data": {
                    "reason": "The selected reason is invalid. It must be one of the following: "
                    + ", ".join(refund_schemas.REFUND_REASONS)
                },
                "meta": {"message": INVALID},
            },
        ),
        (
            {"iccids": [iccid], "reason": "OTHERS"},
            {
                "data": {"notes": "The notes field is required when reason is OTHERS."},
                "meta": {"message": INVALID},
            },
        ),
    ]
    for body, expected in cases:
        response = await partner_api.post("/v2/refund", json=body)
        assert response.status_code == 422, body
        assert response.json() == expected


async def test_two_partners_racing_for_one_voucher_code_get_200_and_422(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    """The code is unique: whoever loses the race is told so, and pays nothing."""
    racers = []
    for name in ("First", "Second"):
        credentials = await make_partner(name=name, balance_cents=10_000)
        token = await get_token(app_client, credentials)
        racers.append({"Authorization": f"Bearer {token}"})
    body = {"amount": 10, "quantity": 1, "voucher_code": "SUMMER-2027"}
    answers = await asyncio.gather(
        *(app_client.post("/v2/voucher/airmoney", json=body, headers=h) for h in racers)
    )
    assert sorted(a.status_code for a in answers) == [200, 422]
    lost = next(a for a in answers if a.status_code == 422)
    assert lost.json() == {
        "data": {"voucher_code": "The voucher code has already been taken."},
        "meta": {"message": "the parameter is invalid"},
    }
    balances = [
        (await app_client.get("/v2/balance", headers=h)).json()["data"]["balances"][
            "availableBalance"
        ]["amount"]
        for h in racers
    ]
    assert sorted(balances) == [90, 100]
