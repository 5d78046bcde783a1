"""eSIMs after the sale: lists, details, QR images, instructions, brands, top-ups, history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.esims import service as esims
from esimhub.kit.clock import FrozenClock
from esimhub.models import Sim
from tests.fixtures.clients import ClientFactory, Partnered, get_token
from tests.fixtures.factories import PartnerFactory

NOT_FOUND = {"data": [], "meta": {"message": "messages.resource_not_found"}}


async def other_partner(client: httpx.AsyncClient, make_partner: PartnerFactory) -> Partnered:
    credentials = await make_partner(name="Other Partner", balance_cents=10_000)
    token = await get_token(client, credentials)
    return Partnered(client, credentials, {"Authorization": f"Bearer {token}"})


async def test_sim_list_is_newest_first_with_simable_and_includes(
    partner_api: Partnered, clock: FrozenClock
) -> None:
    first = await partner_api.order("merhaba-7days-1gb")
    clock.advance(timedelta(minutes=5))
    second = await partner_api.order("moshi-moshi-7days-1gb", quantity=2)

    listed = (await partner_api.get("/v2/sims")).json()
    iccids = [s["iccid"] for s in listed["data"]]
    assert set(iccids[:2]) == {s["iccid"] for s in second["sims"]}
    assert iccids[2] == first["sims"][0]["iccid"]
    item = listed["data"][0]
    assert item["order"] is None
    assert item["recycled"] is False
    assert item["recycled_at"] is None
    assert item["simable"]["id"] == second["id"]
    assert item["simable"]["validity"] == "7"
    # the status without include=order.status (reference §14.10), and the order body's money
    assert item["simable"]["status"] == {"name": "Completed", "slug": "completed"}
    for key in ("net_price", "text", "voice"):
        assert item["simable"][key] == second[key], key
    assert "sharing" not in item["simable"]

    included = await partner_api.get(
        "/v2/sims", params={"include": "order,order.status,order.user,share,nonsense"}
    )
    simable = included.json()["data"][0]["simable"]
    assert simable["status"] == {"name": "Completed", "slug": "completed"}
    assert simable["user"]["name"] == "Test Partner"
    assert simable["sharing"]["access_code"] in {
        s["sharing"]["access_code"] for s in second["sims"]
    }

    filtered = await partner_api.get("/v2/sims", params={"filter[iccid]": iccids[2][-6:]})
    assert [s["iccid"] for s in filtered.json()["data"]] == [iccids[2]]
    paged = (await partner_api.get("/v2/sims", params={"limit": "1", "page": "3"})).json()
    assert [s["iccid"] for s in paged["data"]] == [iccids[2]]
    assert (paged["meta"]["total"], paged["meta"]["last_page"]) == (3, 3)
    bad = await partner_api.get("/v2/sims", params={"limit": "many"})
    assert bad.status_code == 422
    assert bad.json() == {
        "data": {"limit": "The limit must be an integer."},
        "meta": {"message": "the parameter is invalid"},
    }


async def test_get_sim_carries_simable_and_sharing_without_include(
    partner_api: Partnered, app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    order = await partner_api.order()
    iccid = order["sims"][0]["iccid"]
    response = await partner_api.get(f"/v2/sims/{iccid}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["simable"]["code"] == order["code"]
    assert data["simable"]["quantity"] == 1
    assert data["simable"]["status"]["slug"] == "completed"
    assert (data["simable"]["net_price"], data["simable"]["text"], data["simable"]["voice"]) == (
        order["net_price"],
        order["text"],
        order["voice"],
    )
    assert data["sharing"] == order["sims"][0]["sharing"]

    assert (await partner_api.get("/v2/sims/8999000000000000000")).json() == NOT_FOUND
    other = await other_partner(app_client, make_partner)
    theirs = await other.get(f"/v2/sims/{iccid}")
    assert (theirs.status_code, theirs.json()) == (404, NOT_FOUND)
    assert (await other.get("/v2/sims")).json()["data"] == []


async def test_qr_url_serves_png_and_svg_and_refuses_forgeries(
    partner_api: Partnered, settings: Settings, clock: FrozenClock
) -> None:
    sim = (await partner_api.order())["sims"][0]
    url = urlsplit(sim["qrcode_url"])
    path = f"{url.path}?{url.query}"
    png = await partner_api.client.get(path)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = await partner_api.client.get(path + "&format=svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    assert (await partner_api.client.get(path)).content == png.content

    async with transaction(settings) as session:
        stored = (await session.scalars(select(Sim).where(Sim.iccid == sim["iccid"]))).one()
        assert stored.qr_png == png.content  # rendered once, then served from the row

    forged = path[:-4] + ("0000" if not path.endswith("0000") else "1111")
    refused = await partner_api.client.get(forged)
    assert (refused.status_code, refused.json()) == (
        403,
        {"data": [], "meta": {"message": "Invalid signature."}},
    )
    clock.advance(timedelta(days=4 * 366))
    assert (await partner_api.client.get(path)).status_code == 403


@pytest.mark.parametrize(
    ("accept_language", "language", "first_step"),
    [
        (None, "EN", "Go to Settings > Cellular/Mobile > Add Cellular/Mobile Plan."),
        ("de-DE,de;q=0.9", "DE", "Öffne Einstellungen > Mobilfunk > Mobilfunktarif hinzufügen."),
        ("fr", "FR", "Ouvrez Réglages > Données cellulaires > Ajouter un forfait cellulaire."),
        ("es-419", "ES", "Ve a Ajustes > Datos móviles > Añadir plan de datos móviles."),
        ("tr", "TR", "Ayarlar > Hücresel > Hücresel Plan Ekle'ye gidin."),
        ("ja", "JA", "設定 > モバイル通信 > モバイル通信プランを追加 を開きます。"),
        ("xx", "EN", "Go to Settings > Cellular/Mobile > Add Cellular/Mobile Plan."),
    ],
)
async def test_instructions_are_localised(
    partner_api: Partnered, accept_language: str | None, language: str, first_step: str
) -> None:
    sim = (await partner_api.order())["sims"][0]
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = await partner_api.get(f"/v2/sims/{sim['iccid']}/instructions", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"message": "success"}
    instructions = body["data"]["instructions"]
    assert instructions["language"] == language
    ios, android = instructions["ios"][0], instructions["android"][0]
    qr = ios["installation_via_qr_code"]
    assert qr["steps"]["1"] == first_step
    assert list(qr["steps"]) == [str(n) for n in range(1, len(qr["steps"]) + 1)]
    assert qr["qr_code_data"] == sim["qrcode"]
    assert qr["qr_code_url"] == sim["qrcode_url"]
    assert qr["direct_apple_installation_url"] == sim["direct_apple_installation_url"]
    assert "direct_apple_installation_url" not in android["installation_via_qr_code"]
    assert ios["installation_manual"]["smdp_address_and_activation_code"] == sim["lpa"]
    assert android["network_setup"]["is_roaming"] is True


async def test_the_deprecated_v1_serves_instructions_like_v2(partner_api: Partnered) -> None:
    iccid = (await partner_api.order())["sims"][0]["iccid"]
    v1 = await partner_api.get(f"/v1/sims/{iccid}/instructions")
    v2 = await partner_api.get(f"/v2/sims/{iccid}/instructions")
    assert v1.status_code == 200
    assert v1.json() == v2.json()


async def test_brands_on_orders_share_links_and_put_brand(
    partner_api: Partnered, settings: Settings, clock: FrozenClock
) -> None:
    async with transaction(settings) as session:
        await esims.create_brand(
            session, partner_api.credentials.partner_id, clock=clock, name="Wander Co"
        )
    order = await partner_api.order(brand_settings_name="Wander Co")
    assert order["brand_settings_name"] == "Wander Co"
    sim = order["sims"][0]
    assert urlsplit(sim["sharing"]["link"]).path.startswith("/s/wander-co/")

    iccid = sim["iccid"]
    cleared = await partner_api.put(f"/v2/sims/{iccid}/brand", json={"brand_settings_name": None})
    assert cleared.json() == {"data": {"brand_settings_name": None}, "meta": {"message": "success"}}
    data = (await partner_api.get(f"/v2/sims/{iccid}")).json()["data"]
    assert data["brand_settings_name"] is None
    assert urlsplit(data["sharing"]["link"]).path.count("/") == 2

    again = await partner_api.put(
        f"/v2/sims/{iccid}/brand", data={"brand_settings_name": "Wander Co"}
    )
    assert again.json()["data"] == {"brand_settings_name": "Wander Co"}
    unknown = await partner_api.put(f"/v2/sims/{iccid}/brand", json={"brand_settings_name": "X"})
    assert unknown.status_code == 422
    assert unknown.json()["data"] == {"brand_settings_name": "Brand settings name doesn't exist."}
    missing = await partner_api.put(f"/v2/sims/{iccid}/brand", json={})
    assert missing.status_code == 422


async def test_topups_list_order_and_history(partner_api: Partnered) -> None:
    order = await partner_api.order("change-7days-1gb")
    iccid = order["sims"][0]["iccid"]
    available = (await partner_api.get(f"/v2/sims/{iccid}/topups")).json()
    assert available["pricing"] == {"model": "net_pricing", "discount_percentage": 0}
    assert "meta" not in available
    ids = [p["id"] for p in available["data"]]
    assert "change-7days-1gb-topup" in ids
    topup_package = available["data"][ids.index("change-7days-1gb-topup")]
    assert set(topup_package["prices"]) == {"net_price", "recommended_retail_price"}

    before = (await partner_api.get("/v2/balance")).json()["data"]["balances"]
    response = await partner_api.post(
        "/v2/orders/topups", json={"package_id": "change-7days-1gb-topup", "iccid": iccid}
    )
    assert response.status_code == 200, response.text
    topup = response.json()["data"]
    assert topup["type"] == "topup"
    assert topup["quantity"] == 1
    assert topup["description"] == f"Topup ({iccid})"
    assert "sims" not in topup
    assert topup["net_price"] == topup_package["net_price"]
    after = (await partner_api.get("/v2/balance")).json()["data"]["balances"]
    spent = before["availableBalance"]["amount"] - after["availableBalance"]["amount"]
    assert spent == pytest.approx(topup_package["net_price"])

    history = (await partner_api.get(f"/v2/sims/{iccid}/packages")).json()
    assert [h["package"]["id"] for h in history["data"]] == [
        "change-7days-1gb",
        "change-7days-1gb-topup",
    ]
    assert history["data"][1]["package"]["type"] == "topup"
    assert history["data"][0]["status"] == "NOT_ACTIVE"
    assert history["data"][0]["remaining"] == 1024
    listed = (await partner_api.get("/v2/orders", params={"filter[iccid]": iccid})).json()
    assert [o["type"] for o in listed["data"]] == ["topup", "sim"]


async def test_topup_errors(partner_api: Partnered, settings: Settings, clock: FrozenClock) -> None:
    iccid = (await partner_api.order("change-7days-1gb"))["sims"][0]["iccid"]
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        (
            {},
            {
                "package_id": "The package id field is required.",
                "iccid": "The iccid field is required.",
            },
        ),
        (
            {"package_id": "merhaba-7days-1gb", "iccid": iccid},
            {"package_id": "invalid topup package"},
        ),
        (
            {"package_id": "bonbon-mobile-30days-3gb-topup", "iccid": iccid},
            {"package_id": "invalid topup package"},
        ),
        (
            {"package_id": "change-7days-1gb-topup", "iccid": "8999000000000000000"},
            {"iccid": "The selected iccid is invalid."},
        ),
    ]
    for body, errors in cases:
        response = await partner_api.post("/v2/orders/topups", json=body)
        assert response.status_code == 422, body
        assert response.json() == {"data": errors, "meta": {"message": "the parameter is invalid"}}

    async with transaction(settings) as session:
        await session.execute(update(Sim).where(Sim.iccid == iccid).values(recycled_at=clock.now()))
    recycled = {
        "code": 73,
        "reason": f"The eSIM with iccid {iccid} has been recycled. "
        "It can no longer be used or topped up.",
    }
    response = await partner_api.post(
        "/v2/orders/topups", json={"package_id": "change-7days-1gb-topup", "iccid": iccid}
    )
    assert (response.status_code, response.json()) == (422, recycled)
    listed = await partner_api.get(f"/v2/sims/{iccid}/topups")
    assert (listed.status_code, listed.json()) == (422, recycled)
    assert (await partner_api.get(f"/v2/sims/{iccid}")).json()["data"]["recycled"] is True


async def test_sims_without_topups_answer_an_empty_list(partner_api: Partnered) -> None:
    packages = (await partner_api.get("/v2/packages", params={"include": "topup"})).json()
    for entry in packages["data"]:
        for operator in entry["operators"]:
            kinds = {p["type"] for p in operator["packages"]}
            if kinds == {"sim"}:
                package_id = operator["packages"][0]["id"]
                break
        else:
            continue
        break
    iccid = (await partner_api.order(package_id))["sims"][0]["iccid"]
    response = await partner_api.get(f"/v2/sims/{iccid}/topups")
    assert (response.status_code, response.json()) == (200, {"data": []})
    unknown = await partner_api.get("/v2/sims/8999000000000000000/topups")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    history = await partner_api.get("/v2/sims/8999000000000000000/packages")
    assert (history.status_code, history.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize(("setting", "shown"), [(None, ""), ("null", None), ("auto", "auto")])
async def test_an_automatic_apn_without_a_value_shows_the_configured_one(
    client_for: ClientFactory,
    make_partner: PartnerFactory,
    setting: str | None,
    shown: str | None,
) -> None:
    options = {} if setting is None else {"automatic_apn_value": setting}
    async with client_for(**options) as client:
        credentials = await make_partner(balance_cents=10_000)
        token = await get_token(client, credentials)
        partner = Partnered(client, credentials, {"Authorization": f"Bearer {token}"})
        automatic = (await partner.order("kallur-digital-7days-1gb"))["sims"][0]
        assert (automatic["apn_type"], automatic["apn_value"]) == ("automatic", shown)
        assert automatic["apn"]["ios"] == {"apn_type": "automatic", "apn_value": shown}
        listed = (await partner.get(f"/v2/sims/{automatic['iccid']}")).json()["data"]
        assert listed["apn_value"] == shown
        steps = (await partner.get(f"/v2/sims/{automatic['iccid']}/instructions")).json()
        assert steps["data"]["instructions"]["ios"][0]["network_setup"]["apn_value"] == shown
        catalogue = (await partner.get("/v2/packages")).json()
        operator = next(
            op
            for entry in catalogue["data"]
            for op in entry["operators"]
            if "kallur-digital-7days-1gb" in {p["id"] for p in op["packages"]}
        )
        assert (operator["apn_type"], operator["apn_value"]) == ("automatic", shown)

        # an APN the catalogue names keeps its value, automatic or manual
        named = (await partner.order("data-air-7days-1gb"))["sims"][0]
        assert named["apn"] == {
            "ios": {"apn_type": "automatic", "apn_value": "data.roam"},
            "android": {"apn_type": "manual", "apn_value": "data.roam"},
        }
        assert (named["apn_type"], named["apn_value"]) == ("manual", "data.roam")
