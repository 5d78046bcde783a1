"""Per-partner catalogue overrides: set by the operator (admin API, CLI), applied to that partner's
GET /packages, orders and top-ups, listed at GET /v2/packages/overrides, never seen by others."""

from __future__ import annotations

from typing import Any

import httpx

from tests.catalogue.test_catalogue import packages_of
from tests.fixtures.clients import Partnered, get_token
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.sandbox import Sandbox

PACKAGE = "kallur-digital-7days-1gb"
TOPUP = "change-7days-1gb-topup"
HIDDEN = "merhaba-7days-1gb"


async def _override(box: Sandbox, package_id: str, **terms: Any) -> httpx.Response:
    client_id = box.partner.credentials.client_id
    return await box.client.put(
        f"/admin/v1/partners/{client_id}/package-overrides/{package_id}",
        json=terms,
        headers=box.admin,
    )


async def _catalogue(partner: Partnered) -> dict[str, dict[str, Any]]:
    response = await partner.get("/v2/packages", params={"include": "topup"})
    assert response.status_code == 200, response.text
    return {p["id"]: p for p in packages_of(response.json())}


async def _other_partner(box: Sandbox, make_partner: PartnerFactory) -> Partnered:
    credentials = await make_partner("Other Partner", balance_cents=50_000)
    token = await get_token(box.client, credentials)
    return Partnered(box.client, credentials, {"Authorization": f"Bearer {token}"})


async def test_no_overrides_is_an_empty_page(box: Sandbox) -> None:
    response = await box.partner.get("/v2/packages/overrides")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["meta"]["last_page"] == 1
    assert body["meta"]["total"] == 0


async def test_overrides_apply_to_the_partner_alone(
    box: Sandbox, make_partner: PartnerFactory
) -> None:
    other = await _other_partner(box, make_partner)
    before = await _catalogue(box.partner)
    assert before[PACKAGE]["net_price"] != 2.5

    assert (await _override(box, PACKAGE, price="6.00", net_price="2.50")).status_code == 200
    assert (await _override(box, TOPUP, net_price="1.25")).status_code == 200
    assert (await _override(box, HIDDEN, hidden=True)).status_code == 200

    seen = await _catalogue(box.partner)
    assert (seen[PACKAGE]["price"], seen[PACKAGE]["net_price"]) == (6, 2.5)
    assert seen[PACKAGE]["prices"]["net_price"]["USD"] == 2.5
    assert seen[PACKAGE]["prices"]["recommended_retail_price"]["USD"] == 6
    assert seen[TOPUP]["net_price"] == 1.25
    assert seen[TOPUP]["price"] == before[TOPUP]["price"]  # not overridden: the catalogue's
    assert HIDDEN not in seen
    assert set(seen) == set(before) - {HIDDEN}

    # another partner keeps the catalogue's terms, even when both ask at once
    assert await _catalogue(other) == before

    listing = (await box.partner.get("/v2/packages/overrides")).json()
    assert [
        (item["package_id"], item["price"], item["net_price"], item["hidden"])
        for item in listing["data"]
    ] == [(TOPUP, None, 1.25, False), (PACKAGE, 6, 2.5, False), (HIDDEN, None, None, True)]
    assert all(item["updated_at"] for item in listing["data"])
    assert (await other.get("/v2/packages/overrides")).json()["data"] == []

    paged = await box.partner.get("/v2/packages/overrides", params={"limit": 2, "page": 2})
    assert paged.json()["meta"]["last_page"] == 2
    assert [item["package_id"] for item in paged.json()["data"]] == [HIDDEN]


async def test_orders_pay_the_partners_net_price_and_hidden_packages_cannot_be_bought(
    box: Sandbox, make_partner: PartnerFactory
) -> None:
    await _override(box, PACKAGE, net_price="2.50")
    await _override(box, HIDDEN, hidden=True)
    balance = (await box.partner.get("/v2/balance")).json()["data"]["balances"]["availableBalance"]

    order = await box.partner.order(PACKAGE, quantity=2)
    assert order["net_price"] == 2.5
    after = (await box.partner.get("/v2/balance")).json()["data"]["balances"]["availableBalance"]
    assert round(balance["amount"] - after["amount"], 2) == 5.0

    # a hidden package is, to this partner, one that does not exist
    refused = await box.partner.post("/v2/orders", json={"package_id": HIDDEN, "quantity": 1})
    unknown = await box.partner.post("/v2/orders", json={"package_id": "nope", "quantity": 1})
    assert refused.status_code == unknown.status_code == 422
    assert refused.json() == unknown.json()
    brochure = await box.partner.get(f"/v2/packages/{HIDDEN}/product-information")
    assert brochure.status_code == 404

    other = await _other_partner(box, make_partner)
    assert (await other.order(HIDDEN))["package_id"] == HIDDEN
    assert (await other.order(PACKAGE))["net_price"] != 2.5


async def test_clearing_an_override_restores_the_catalogue_and_moves_the_etag(
    box: Sandbox,
) -> None:
    first = await box.partner.get("/v2/packages")
    await _override(box, HIDDEN, hidden=True)
    hidden = await box.partner.get("/v2/packages", headers={"If-None-Match": first.headers["etag"]})
    assert hidden.status_code == 200  # the partner's catalogue changed: not a 304
    assert HIDDEN not in {p["id"] for p in packages_of(hidden.json())}

    client_id = box.partner.credentials.client_id
    url = f"/admin/v1/partners/{client_id}/package-overrides/{HIDDEN}"
    assert (await box.client.delete(url, headers=box.admin)).status_code == 200
    assert (await box.client.delete(url, headers=box.admin)).status_code == 404
    restored = await box.partner.get("/v2/packages")
    assert HIDDEN in {p["id"] for p in packages_of(restored.json())}
    assert (await box.partner.get("/v2/packages/overrides")).json()["data"] == []


async def test_override_terms_are_checked(box: Sandbox) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "price"),
        ({"hidden": True, "price": "3"}, "hidden"),
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "1.00", "net_price": "2.00"}, "net_price"),
    ]
    for terms, field in cases:
        response = await _override(box, PACKAGE, **terms)
        assert response.status_code == 422, terms
        assert field in response.json()["data"], (terms, response.text)
    unknown = await _override(box, "no-such-package", price="3")
    assert unknown.status_code == 422
    assert unknown.json()["data"] == {"package_id": "The selected package is invalid."}
    nobody = await box.client.put(
        f"/admin/v1/partners/nobody/package-overrides/{PACKAGE}",
        json={"price": "3"},
        headers=box.admin,
    )
    assert nobody.status_code == 404
    assert (await box.partner.get("/v2/packages/overrides")).json()["data"] == []


async def test_top_ups_offered_and_paid_on_the_partners_terms(box: Sandbox) -> None:
    iccid = (await box.partner.order("change-7days-1gb"))["sims"][0]["iccid"]
    await _override(box, TOPUP, net_price="1.25")
    await _override(box, "change-15days-2gb-topup", hidden=True)
    offered = (await box.partner.get(f"/v2/sims/{iccid}/topups")).json()["data"]
    by_id = {p["id"]: p for p in offered}
    assert by_id[TOPUP]["net_price"] == 1.25
    assert "change-15days-2gb-topup" not in by_id

    body = {"package_id": TOPUP, "iccid": iccid}
    topup = await box.partner.post("/v2/orders/topups", json=body)
    assert topup.status_code == 200, topup.text
    assert topup.json()["data"]["net_price"] == 1.25
