"""Data usage end to end: the package lifecycle through the usage endpoint, fed by the network."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock, format_datetime
from esimhub.models import OutboxEvent, Sim
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.sandbox import MIB, Sandbox, sandbox

KALLUR = "kallur-digital-7days-1gb"  # 1 GB (1024 MB), 7 days, rechargeable


async def low_data_events(settings: Settings, iccid: str) -> list[str]:
    async with transaction(settings) as session:
        events = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.kind == "low_data_notification")
            .order_by(OutboxEvent.id)
        )
        return [e.payload["level"] for e in events if e.payload["iccid"] == iccid]


async def grace_days(settings: Settings, iccid: str) -> int:
    async with transaction(settings) as session:
        sim = (await session.scalars(select(Sim).where(Sim.iccid == iccid))).one()
        assert sim.topup_grace_window_days is not None
        return sim.topup_grace_window_days


async def test_the_whole_lifecycle_of_an_esim(box: Sandbox) -> None:
    """Order → NOT_ACTIVE → ACTIVE → FINISHED → top-up → ACTIVE → EXPIRED → RECYCLED (code 73)."""
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]

    assert await box.usage_data(iccid) == {
        "remaining": 1024,
        "total": 1024,
        "expired_at": None,
        "is_unlimited": False,
        "status": "NOT_ACTIVE",
        "remaining_voice": 0,
        "remaining_text": 0,
        "total_voice": 0,
        "total_text": 0,
    }

    await box.advance("15m")
    attached_at = box.clock.now()
    assert (await box.network("attach", iccid)).json()["data"]["status"] == "ACTIVE"
    feed = await box.consume(iccid, mb=300)
    assert feed["rejected"] == []
    assert len(feed["accepted"]) == 1
    usage = await box.usage_data(iccid)
    assert (usage["status"], usage["remaining"], usage["total"]) == ("ACTIVE", 724, 1024)
    assert usage["expired_at"] == format_datetime(attached_at + timedelta(days=7))

    await box.advance("15m")
    await box.consume(iccid, mb=724)
    usage = await box.usage_data(iccid)
    assert (usage["status"], usage["remaining"], usage["total"]) == ("FINISHED", 0, 1024)
    assert await low_data_events(box.settings, iccid) == ["75%", "90%"]

    topups = (await box.partner.get(f"/v2/sims/{iccid}/topups")).json()["data"]
    topup = next(t for t in topups if not t["is_unlimited"])
    bought = await box.partner.post(
        "/v2/orders/topups", json={"package_id": topup["id"], "iccid": iccid}
    )
    assert bought.status_code == 200, bought.text
    await box.advance("15m")
    usage = await box.usage_data(iccid)
    assert (usage["status"], usage["remaining"], usage["total"]) == (
        "ACTIVE",
        topup["amount"],
        topup["amount"],
    )
    topup_expiry = box.clock.now() - timedelta(minutes=15) + timedelta(days=topup["day"])
    assert usage["expired_at"] == format_datetime(topup_expiry)

    await box.advance(f"{topup['day']}d")
    usage = await box.usage_data(iccid)
    assert (usage["status"], usage["remaining"]) == ("EXPIRED", topup["amount"])

    await box.advance(f"{await grace_days(box.settings, iccid)}d")
    assert await box.usage_data(iccid) == {
        "remaining": 0,
        "total": 0,
        "expired_at": None,
        "is_unlimited": None,
        "status": "RECYCLED",
        "remaining_voice": 0,
        "remaining_text": 0,
        "total_voice": 0,
        "total_text": 0,
    }
    refused = await box.partner.post(
        "/v2/orders/topups", json={"package_id": topup["id"], "iccid": iccid}
    )
    assert refused.status_code == 422
    assert refused.json() == {
        "code": 73,
        "reason": f"The eSIM with iccid {iccid} has been recycled. "
        "It can no longer be used or topped up.",
    }
    sim = (await box.partner.get(f"/v2/sims/{iccid}")).json()["data"]
    assert sim["recycled"] is True
    assert sim["recycled_at"] is not None

    history = (await box.partner.get(f"/v2/sims/{iccid}/packages")).json()["data"]
    assert [(h["status"], h["remaining"]) for h in history] == [
        ("FINISHED", 0),
        ("EXPIRED", topup["amount"]),
    ]
    assert history[0]["finished_at"] is not None
    assert history[1]["activated_at"] is not None


async def test_v1_usage_has_no_voice_or_text_fields(box: Sandbox) -> None:
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    response = await box.usage(iccid, "v1")
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "remaining": 1024,
            "total": 1024,
            "expired_at": None,
            "is_unlimited": False,
            "status": "NOT_ACTIVE",
        },
        "meta": {"message": "api.succes"},
    }


async def test_unknown_and_foreign_iccids_are_not_found(
    box: Sandbox, make_partner: PartnerFactory
) -> None:
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    not_found = {"data": [], "meta": {"message": "messages.resource_not_found"}}
    unknown = await box.usage("8999000000000000000")
    assert (unknown.status_code, unknown.json()) == (404, not_found)

    other = await make_partner(name="Other")
    from tests.fixtures.clients import get_token

    token = await get_token(box.client, other)
    foreign = await box.client.get(
        f"/v2/sims/{iccid}/usage", headers={"Authorization": f"Bearer {token}"}
    )
    assert (foreign.status_code, foreign.json()) == (404, not_found)


async def test_installation_policy_and_voice_text_usage(box: Sandbox) -> None:
    """A voice-and-text plan reports minutes and SMS; usage before any attach implies one."""
    packages = (await box.partner.get("/v2/packages", params={"limit": 400})).json()["data"]
    voice = next(
        p
        for entry in packages
        for op in entry["operators"]
        for p in op["packages"]
        if p.get("voice") and not p["is_unlimited"]
    )
    iccid = (await box.partner.order(voice["id"]))["sims"][0]["iccid"]
    await box.consume(iccid, mb=10, voice_seconds=61, sms=3)
    usage = await box.usage_data(iccid)
    assert usage["status"] == "ACTIVE"
    assert usage["remaining"] == voice["amount"] - 10
    assert usage["total_voice"] == voice["voice"]
    assert usage["remaining_voice"] == voice["voice"] - 2  # 61 s are 2 started minutes
    assert (usage["total_text"], usage["remaining_text"]) == (voice["text"], voice["text"] - 3)


async def test_expiry_thresholds_are_raised_once(box: Sandbox) -> None:
    packages = (await box.partner.get("/v2/packages", params={"limit": 400})).json()["data"]
    month = next(
        p["id"]
        for entry in packages
        for op in entry["operators"]
        for p in op["packages"]
        if p["day"] == 30 and not p["is_unlimited"] and p["type"] == "sim"
    )
    iccid = (await box.partner.order(month))["sims"][0]["iccid"]
    await box.network("attach", iccid)
    await box.advance("26d")  # 4 days left: nothing yet
    assert await low_data_events(box.settings, iccid) == []
    await box.advance("1d1m")  # just under 3 days left: the sweep raises "3days"
    assert await low_data_events(box.settings, iccid) == ["3days"]
    await box.usage_data(iccid)
    await box.advance("2d")
    await box.advance("1m")
    assert await low_data_events(box.settings, iccid) == ["3days", "1days"]
    await box.advance("2d")
    assert (await box.usage_data(iccid))["status"] == "EXPIRED"
    assert await low_data_events(box.settings, iccid) == ["3days", "1days"]


async def test_never_installed_esims_are_recycled_after_the_install_window(box: Sandbox) -> None:
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    async with transaction(box.settings) as session:
        sim = (await session.scalars(select(Sim).where(Sim.iccid == iccid))).one()
        window = sim.install_window_days
    assert window is not None
    await box.advance(f"{window}d")
    assert (await box.usage_data(iccid))["status"] == "RECYCLED"
    refused = await box.network("install", iccid)
    assert refused.status_code == 422
    assert "recycled" in refused.json()["data"]["iccid"]


async def test_the_usage_feed_applies_each_record_once_and_rejects_bad_ones(box: Sandbox) -> None:
    iccid = (await box.partner.order(KALLUR))["sims"][0]["iccid"]
    now = box.clock.now().isoformat()
    good = {"id": "cdr-1", "iccid": iccid, "started_at": now, "bytes": 100 * MIB, "country": "fo"}
    result = await box.feed(
        good,
        good,
        {"id": "cdr-2", "iccid": "8999123", "started_at": now, "bytes": 1},
        {"id": "cdr-3", "iccid": iccid, "started_at": "yesterday", "bytes": -5},
        {"id": "cdr-4", "iccid": iccid, "started_at": now},
        {"id": "cdr-5", "iccid": iccid, "started_at": "2099-01-01T00:00:00Z", "bytes": 1},
        "not a record",
    )
    assert result["accepted"] == ["cdr-1"]
    assert result["duplicates"] == ["cdr-1"]
    rejected = {r["index"]: r["errors"] for r in result["rejected"]}
    assert rejected == {
        2: {"iccid": "unknown ICCID 8999123"},
        3: {
            "started_at": "The started at is not a valid date.",
            "bytes": "The bytes must be at least 0.",
        },
        4: {"bytes": "One of bytes, voice seconds or sms is required."},
        5: {"started_at": "The started at must not be in the future."},
        6: {"record": "The record must be an object."},
    }
    again = await box.feed(good)
    assert again == {"accepted": [], "duplicates": ["cdr-1"], "rejected": []}
    assert (await box.usage_data(iccid))["remaining"] == 924

    malformed = await box.client.post(
        "/admin/v1/usage-records", json={"records": "x"}, headers=box.admin
    )
    assert malformed.status_code == 422
    assert malformed.json()["data"] == {"records": "The records must be an array."}


async def test_attaching_outside_the_coverage_does_not_activate(box: Sandbox) -> None:
    order = await box.partner.order(KALLUR)
    iccid = order["sims"][0]["iccid"]
    outside = await box.network("attach", iccid, country="AQ")
    assert outside.json()["data"]["status"] == "NOT_ACTIVE"


async def test_production_refuses_to_move_the_clock(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    async with sandbox(
        database_url,
        clock,
        make_partner,
        env="production",
        secret_key="a-production-secret-key-of-enough-length",
    ) as box:
        response = await box.client.post("/admin/v1/clock", json={"by": "1d"}, headers=box.admin)
        assert response.status_code == 403
        assert response.json()["meta"]["message"] == "The clock cannot be moved on this deployment."


async def test_the_share_page_shows_live_usage(box: Sandbox) -> None:
    sim = (await box.partner.order(KALLUR))["sims"][0]
    await box.consume(sim["iccid"], mb=300)
    path = sim["sharing"]["link"].removeprefix("http://esimhub.test")
    page = await box.client.post(path, data={"access_code": sim["sharing"]["access_code"]})
    assert page.status_code == 200
    assert "724 MB of 1 GB left (active)" in page.text
