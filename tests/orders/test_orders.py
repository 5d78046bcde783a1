"""Submitting and reading orders: exact wire bodies, every error body, and the money they move."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.esims import service as esims
from esimhub.esims.profiles import is_valid_iccid, luhn_check_digit
from esimhub.kit.clock import FrozenClock
from esimhub.ledger import service as ordering
from tests.fixtures.clients import ClientFactory, Partnered, get_token
from tests.fixtures.factories import PartnerFactory

INVALID = "the parameter is invalid"
OUT_OF_STOCK = {
    "code": 34,
    "reason": "The requested eSIM package is invalid or it is currently out of stock. "
    "Please try again later.",
}


async def balance(api: Partnered) -> float:
    response = await api.get("/v2/balance")
    amount: float = response.json()["data"]["balances"]["availableBalance"]["amount"]
    return amount


async def order_count(api: Partnered) -> int:
    total: int = (await api.get("/v2/orders")).json()["meta"]["total"]
    return total


async def test_order_answers_the_documented_body_and_debits_net_price(
    partner_api: Partnered,
) -> None:
    before = await balance(partner_api)
    data = await partner_api.order(
        "uki-mobile-15days-2gb", quantity=2, description="booking 1234", type="sim"
    )

    assert list(data) == [
        "id", "code", "currency", "package_id", "quantity", "type", "description", "esim_type",
        "validity", "package", "data", "price", "pricing_model", "created_at",
        "manual_installation", "qrcode_installation", "installation_guides", "text", "voice",
        "net_price", "brand_settings_name", "sims",
    ]  # fmt: skip
    assert data["code"] == f"20261124-{data['id']:06d}"
    assert data["created_at"] == "2026-11-24 12:00:00"
    assert (data["currency"], data["quantity"], data["type"]) == ("USD", 2, "sim")
    assert (data["validity"], data["data"], data["description"]) == (15, "2 GB", "booking 1234")
    assert (data["price"], data["net_price"]) == (7.5, 1.6)
    assert data["voice"] > 0
    assert data["text"] > 0
    assert data["pricing_model"] == "net_pricing"
    assert data["package"].startswith("Uki Mobile-")
    assert data["installation_guides"] == {"en": "http://esimhub.test/help/installation"}
    assert len(data["sims"]) == 2
    sim = data["sims"][0]
    assert list(sim) == [
        "id", "created_at", "iccid", "lpa", "imsis", "matching_id", "qrcode", "qrcode_url",
        "airalo_code", "apn_type", "apn_value", "is_roaming", "confirmation_code", "apn", "msisdn",
        "direct_apple_installation_url", "sharing",
    ]  # fmt: skip
    assert is_valid_iccid(sim["iccid"])
    assert len({s["iccid"] for s in data["sims"]}) == 2
    assert sim["qrcode"] == f"LPA:1${sim['lpa']}${sim['matching_id']}"
    assert sim["direct_apple_installation_url"] == (
        "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=" + sim["qrcode"]
    )
    assert re.fullmatch(
        r"http://esimhub\.test/qr\?expires=\d+&id=\d+&signature=[0-9a-f]{64}", sim["qrcode_url"]
    )
    assert re.fullmatch(r"http://esimhub\.test/s/[a-z0-9]{5}-[a-z0-9]{8}", sim["sharing"]["link"])
    assert re.fullmatch(r"\d{4}", sim["sharing"]["access_code"])
    assert sim["msisdn"] is not None  # a voice plan has a number
    assert set(sim["apn"]) == {"ios", "android"}
    assert await balance(partner_api) == pytest.approx(before - 2 * 1.6)


async def test_data_only_orders_have_no_msisdn(partner_api: Partnered) -> None:
    data = await partner_api.order(quantity=1)
    assert data["sims"][0]["msisdn"] is None
    assert (data["voice"], data["text"]) == (None, None)


@pytest.mark.parametrize("encoding", ["form", "multipart"])
async def test_order_accepts_form_bodies(partner_api: Partnered, encoding: str) -> None:
    fields = {"package_id": "merhaba-7days-1gb", "quantity": "1", "description": "via form"}
    if encoding == "form":
        response = await partner_api.post("/v2/orders", data=fields)
    else:
        response = await partner_api.post("/v2/orders", data=fields, files={"x": ("", b"")})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["quantity"] == 1
    assert response.json()["data"]["description"] == "via form"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            {
                "quantity": "The quantity field is required.",
                "package_id": "The package id field is required.",
            },
        ),
        (
            {"package_id": "merhaba-7days-1gb", "quantity": 51},
            {"quantity": "The quantity may not be greater than 50."},
        ),
        (
            {"package_id": "merhaba-7days-1gb", "quantity": 0},
            {"quantity": "The quantity must be at least 1."},
        ),
        (
            {"package_id": "merhaba-7days-1gb", "quantity": "two"},
            {"quantity": "The quantity must be an integer."},
        ),
        (
            {"package_id": "merhaba-7days-1gb", "quantity": 1, "type": "topup"},
            {"type": "The selected type is invalid."},
        ),
        (
            {"package_id": "change-7days-1gb-topup", "quantity": 1},
            {"package_id": "The selected package is invalid."},
        ),
        (  # errors are gathered: a bad quantity does not hide an unknown package
            {"package_id": "non-existent-package", "quantity": 100},
            {
                "quantity": "The quantity may not be greater than 50.",
                "package_id": "The selected package is invalid.",
            },
        ),
        (
            {"package_id": "change-7days-1gb-topup", "quantity": 0},
            {
                "quantity": "The quantity must be at least 1.",
                "package_id": "The selected package is invalid.",
            },
        ),
        (
            {"package_id": "merhaba-7days-1gb", "quantity": 1, "brand_settings_name": "Nope"},
            {"brand_settings_name": "Brand settings name doesn't exist."},
        ),
        (
            {"package_id": "merhaba-7days-1gb", "quantity": 1, "to_email": "a@example.com"},
            {"sharing_option": "The sharing option field is required when to email is present."},
        ),
        (
            {
                "package_id": "merhaba-7days-1gb",
                "quantity": 1,
                "to_email": "not-an-email",
                "sharing_option": ["link"],
            },
            {"to_email": "The to email must be a valid email address."},
        ),
        (
            {
                "package_id": "merhaba-7days-1gb",
                "quantity": 1,
                "to_email": "a@example.com",
                "sharing_option": ["link", "fax"],
            },
            {
                "sharing_option(1)": "Sharing option on position 1 is invalid. Available options "
                "are: 'link' and 'pdf'."
            },
        ),
        (
            {
                "package_id": "merhaba-7days-1gb",
                "quantity": 1,
                "to_email": "a@example.com",
                "sharing_option": ["link"],
                "copy_address": ["ok@example.com", "bad"],
            },
            {"copy_address.1": "The copy_address.1 must be a valid email address."},
        ),
    ],
)
async def test_order_validation_errors_write_nothing(
    partner_api: Partnered, body: dict[str, Any], errors: dict[str, str]
) -> None:
    before = await balance(partner_api)
    response = await partner_api.post("/v2/orders", json=body)
    assert response.status_code == 422
    assert response.json() == {"data": errors, "meta": {"message": INVALID}}
    assert await balance(partner_api) == before
    assert await order_count(partner_api) == 0


async def test_unknown_package_is_out_of_stock(partner_api: Partnered) -> None:
    response = await partner_api.post(
        "/v2/orders", json={"package_id": "non-existent-package", "quantity": 1}
    )
    assert (response.status_code, response.json()) == (422, OUT_OF_STOCK)


async def test_unknown_package_can_answer_the_validation_body(
    client_for: ClientFactory, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner()
    async with client_for(unknown_package_error="validation") as client:
        token = await get_token(client, credentials)
        response = await client.post(
            "/v2/orders",
            json={"package_id": "non-existent-package", "quantity": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 422
    assert response.json()["data"] == {"package_id": "The selected package is invalid."}


async def test_malformed_json_is_a_422(partner_api: Partnered) -> None:
    response = await partner_api.post(
        "/v2/orders", content=b'{"quantity": 1,', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["meta"] == {"message": INVALID}


async def _partner_client(
    client: httpx.AsyncClient, make_partner: PartnerFactory, **options: Any
) -> Partnered:
    credentials = await make_partner(**options)
    token = await get_token(client, credentials)
    return Partnered(client, credentials, {"Authorization": f"Bearer {token}"})


async def test_insufficient_credit_is_code_11_and_leaves_nothing(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    api = await _partner_client(app_client, make_partner, balance_cents=100)
    response = await api.post("/v2/orders", json={"package_id": "merhaba-7days-1gb", "quantity": 3})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == 11
    assert body["reason"].startswith("Insufficient Airalo Credit: ")
    assert await balance(api) == 1
    assert await order_count(api) == 0
    assert (await api.get("/v2/sims")).json()["data"] == []


async def test_credit_limit_lets_the_balance_go_negative(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    api = await _partner_client(
        app_client, make_partner, balance_cents=100, credit_limit_cents=5_000
    )
    data = await api.order("merhaba-7days-1gb", quantity=2)
    assert await balance(api) == pytest.approx(1 - 2 * data["net_price"])
    assert await balance(api) < 0


async def test_discount_pricing_orders_report_what_was_paid(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    api = await _partner_client(
        app_client,
        make_partner,
        balance_cents=10_000,
        pricing_model="discount_pricing",
        discount_percentage=10,
    )
    data = await api.order("uki-mobile-15days-2gb", quantity=2)
    assert data["pricing_model"] == "discount_pricing"
    assert data["net_price"] is None
    assert data["discount_percentage"] == 10
    assert data["discount_amount"] == 0.75
    assert data["unit_paid_price"] == 6.75
    assert data["total_amount_paid"] == 13.5
    assert await balance(api) == pytest.approx(100 - 13.5)


@pytest.mark.parametrize(
    ("package_id", "code"),
    [
        ("test-insufficient-balance-7days-1gb", 11),
        ("test-maintenance-mode-7days-1gb", 13),
        ("test-disabled-top-up-7days-1gb", 23),
        ("test-not-enough-7days-1gb", 33),
        ("test-out-of-stock-7days-1gb", 34),
    ],
)
async def test_sandbox_trigger_packages(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory, package_id: str, code: int
) -> None:
    api = await _partner_client(app_client, make_partner, sandbox=True)
    response = await api.post("/v2/orders", json={"package_id": package_id, "quantity": 1})
    assert response.status_code == 422
    assert response.json()["code"] == code


async def test_sandbox_orders_cost_nothing(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    api = await _partner_client(app_client, make_partner, sandbox=True)
    data = await api.order("moshi-moshi-7days-1gb", quantity=3)
    assert len(data["sims"]) == 3
    assert await balance(api) == 0


async def test_idempotency_key_replays_the_first_answer(
    partner_api: Partnered, clock: FrozenClock
) -> None:
    before = await balance(partner_api)
    body = {"package_id": "merhaba-7days-1gb", "quantity": 1}
    key = {"Idempotency-Key": "order-42"}
    first = await partner_api.post("/v2/orders", json=body, headers=key)
    again = await partner_api.post("/v2/orders", json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await order_count(partner_api) == 1
    net = first.json()["data"]["net_price"]
    assert await balance(partner_api) == pytest.approx(before - net)

    other = await partner_api.post("/v2/orders", json={**body, "quantity": 2}, headers=key)
    assert other.status_code == 409
    assert other.json()["meta"]["message"].startswith("This Idempotency-Key was already used")

    clock.advance(timedelta(hours=25))  # keys are kept 24 h
    later = await partner_api.post("/v2/orders", json=body, headers=key)
    assert later.status_code == 200
    assert later.json()["data"]["id"] != first.json()["data"]["id"]


async def test_no_idempotency_key_means_every_post_is_an_order(partner_api: Partnered) -> None:
    body = {"package_id": "merhaba-7days-1gb", "quantity": 1}
    await partner_api.post("/v2/orders", json=body)
    await partner_api.post("/v2/orders", json=body)
    assert await order_count(partner_api) == 2


async def test_failed_requests_do_not_burn_the_key(
    app_client: httpx.AsyncClient,
    make_partner: PartnerFactory,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    api = await _partner_client(app_client, make_partner, balance_cents=100)
    body = {"package_id": "merhaba-7days-1gb", "quantity": 1}
    key = {"Idempotency-Key": "k1"}
    assert (await api.post("/v2/orders", json=body, headers=key)).json()["code"] == 11
    async with transaction(settings) as session:
        await ordering.credit(session, api.credentials.partner_id, amount_cents=10_000, clock=clock)
    assert (await api.post("/v2/orders", json=body, headers=key)).status_code == 200


async def test_order_list_filters_includes_and_pages(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory, clock: FrozenClock
) -> None:
    api = await _partner_client(app_client, make_partner, balance_cents=50_000)
    other = await _partner_client(app_client, make_partner, name="Other", balance_cents=50_000)
    await other.order(description="not yours")
    first = await api.order("merhaba-7days-1gb", quantity=1, description="trip to Izmir")
    clock.advance(timedelta(days=2))
    second = await api.order("moshi-moshi-7days-1gb", quantity=2, description="trip to Osaka")
    third = await api.order("kallur-digital-7days-1gb", quantity=1, description="Faroe")

    listed = (await api.get("/v2/orders")).json()
    assert [o["id"] for o in listed["data"]] == [third["id"], second["id"], first["id"]]
    assert listed["meta"]["total"] == 3
    item = listed["data"][2]
    assert item["validity"] == "7"
    assert re.fullmatch(r"\d+\.\d\d", item["price"])
    assert "sims" not in item
    assert "user" not in item
    assert "status" not in item

    full = (await api.get("/v2/orders", params={"include": "sims,user,status,bogus"})).json()
    osaka = next(o for o in full["data"] if o["id"] == second["id"])
    assert len(osaka["sims"]) == 2
    assert osaka["sims"][0]["voucher_code"] is None
    assert osaka["status"] == {"name": "Completed", "slug": "completed"}
    assert osaka["user"]["company"] == "Test Partner"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", osaka["user"]["created_at"])

    def ids(response: httpx.Response) -> list[int]:
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["data"]]

    assert ids(await api.get("/v2/orders", params={"filter[description]": "trip"})) == [
        second["id"],
        first["id"],
    ]
    assert ids(await api.get("/v2/orders", params={"filter[code]": second["code"]})) == [
        second["id"]
    ]
    iccid = second["sims"][1]["iccid"]
    assert ids(await api.get("/v2/orders", params={"filter[iccid]": iccid})) == [second["id"]]
    assert ids(
        await api.get("/v2/orders", params={"filter[created_at]": "2026-11-24 - 2026-11-25"})
    ) == [first["id"]]
    own = first["created_at"]  # "Y-m-d H:i:s": a client's filter built from an order
    assert ids(await api.get("/v2/orders", params={"filter[created_at]": f"{own} - {own}"})) == [
        first["id"]
    ]
    assert ids(await api.get("/v2/orders", params={"filter[order_status]": "refunded"})) == []

    page = (await api.get("/v2/orders", params={"limit": "2", "page": "2"})).json()
    assert [o["id"] for o in page["data"]] == [first["id"]]
    assert page["meta"]["per_page"] == "2"
    assert page["meta"]["last_page"] == 2
    assert page["links"]["prev"].endswith("limit=2&page=1")

    for params, key in [
        ({"limit": "x"}, "limit"),
        ({"page": "0"}, "page"),
        ({"filter[created_at]": "yesterday"}, "filter.created_at"),
        ({"filter[order_status]": "lost"}, "filter.order_status"),
    ]:
        response = await api.get("/v2/orders", params=params)
        assert response.status_code == 422
        assert key in response.json()["data"]


async def test_get_order_is_scoped_to_its_partner(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    api = await _partner_client(app_client, make_partner, balance_cents=10_000)
    other = await _partner_client(app_client, make_partner, name="Other", balance_cents=10_000)
    order = await api.order(quantity=1)

    mine = await api.get(f"/v2/orders/{order['id']}", params={"include": "sims,status"})
    assert mine.status_code == 200
    assert mine.json()["data"]["sims"][0]["iccid"] == order["sims"][0]["iccid"]
    assert mine.json()["meta"] == {"message": "success"}

    theirs = await other.get(f"/v2/orders/{order['id']}")
    assert (theirs.status_code, theirs.json()) == (
        401,
        {"data": [], "meta": {"message": "This action is unauthorized."}},
    )
    for missing in ("999999", "abc"):
        response = await api.get(f"/v2/orders/{missing}")
        assert response.status_code == 404
        assert response.json() == {"data": [], "meta": {"message": "messages.resource_not_found"}}
    assert (await other.get("/v2/orders")).json()["data"] == []


async def test_v1_orders_and_sims(partner_api: Partnered) -> None:
    response = await partner_api.post(
        "/v1/orders", data={"package_id": "merhaba-7days-1gb", "quantity": "1"}
    )
    assert response.status_code == 200, response.text
    order = response.json()["data"]
    assert (await partner_api.get(f"/v1/orders/{order['id']}")).json()["data"]["id"] == order["id"]
    listed = (await partner_api.get("/v1/sims")).json()
    assert listed["data"][0]["iccid"] == order["sims"][0]["iccid"]
    assert listed["meta"]["path"] == "http://esimhub.test/v1/sims"


async def test_pool_operator_sells_only_imported_profiles(
    partner_api: Partnered, settings: Settings, clock: FrozenClock
) -> None:
    catalogue_response = await partner_api.get("/v2/packages", params={"filter[country]": "FO"})
    operator_id = catalogue_response.json()["data"][0]["operators"][0]["id"]
    rows = ["iccid,smdp_address,matching_id,confirmation_code,imsi,msisdn"]
    iccids = []
    for serial in range(2):
        payload = f"894400000000000{serial:03d}"
        iccid = payload + luhn_check_digit(payload)
        iccids.append(iccid)
        rows.append(f"{iccid},rsp.operator.example,MATCH-{serial},,234150000000{serial:03d},")
    async with transaction(settings) as session:
        result = await esims.import_inventory(
            session,
            settings=settings,
            clock=clock,
            operator_id=operator_id,
            csv_text="\n".join(rows),
        )
    assert (result.imported, result.available) == (2, 2)

    too_many = await partner_api.post(
        "/v2/orders", json={"package_id": "kallur-digital-7days-1gb", "quantity": 3}
    )
    assert too_many.status_code == 422
    assert too_many.json()["data"] == {
        "quantity": "SIM quantity is not available. Available quantity: 2."
    }
    data = await partner_api.order("kallur-digital-7days-1gb", quantity=2)
    assert sorted(s["iccid"] for s in data["sims"]) == iccids
    assert data["sims"][0]["lpa"] == "rsp.operator.example"
    assert data["sims"][0]["imsis"] == ["234150000000000"]
    async with transaction(settings) as session:  # a catalogue import keeps the supply mode
        document = await catalogue.export_catalogue(session, clock=clock)
        await catalogue.import_catalogue(session, clock=clock, document=document)
    empty = await partner_api.post(
        "/v2/orders", json={"package_id": "kallur-digital-7days-1gb", "quantity": 1}
    )
    assert (empty.status_code, empty.json()) == (422, OUT_OF_STOCK)
