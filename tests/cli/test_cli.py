"""The admin CLI contract: command names, options and output that docs and scripts rely on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esimhub.cli.common import console, transaction
from esimhub.cli.main import app
from esimhub.config import get_settings
from esimhub.esims.profiles import luhn_check_digit
from esimhub.kit.clock import Clock
from esimhub.models import LedgerEntry, Partner
from tests.fixtures.clients import app_client
from tests.fixtures.database import make_settings
from tests.fixtures.factories import create_partner, place_order
from tests.fixtures.servers import first_answer, free_port

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_partner_create_json_list_rotate_and_allow_ip() -> None:
    created = json.loads(
        invoke(
            "partner",
            "create",
            "Acme Travel",
            "--balance",
            "250.50",
            "--credit-limit",
            "100",
            "--json",
        )
    )
    assert set(created) >= {"client_id", "client_secret"}
    assert created["balance"] == 250.5
    listing = json.loads(invoke("partner", "list", "--json"))
    acme = next(p for p in listing if p["client_id"] == created["client_id"])
    assert (acme["name"], acme["balance"], acme["credit_limit"]) == (
        "Acme Travel",
        "250.50",
        "100.00",
    )
    console.width = 200
    table = invoke("partner", "list")
    assert "Acme Travel" in table
    assert created["client_secret"] not in table

    rotated = json.loads(invoke("partner", "rotate-secret", created["client_id"], "--json"))
    assert rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]

    output = invoke("partner", "allow-ip", created["client_id"], "203.0.113.0/24", "2001:db8::1")
    assert "203.0.113.0/24" in output
    assert "2001:db8::1/128" in output


def test_partner_commands_fail_clearly() -> None:
    missing = runner.invoke(app, ["partner", "rotate-secret", "no-such-client"])
    assert missing.exit_code == 1
    assert "No partner" in missing.output
    created = json.loads(invoke("partner", "create", "Bad IP", "--json"))
    bad_ip = runner.invoke(app, ["partner", "allow-ip", created["client_id"], "300.1.1.1"])
    assert bad_ip.exit_code == 2
    negative = runner.invoke(app, ["partner", "create", "Neg", "--balance", "-1"])
    assert negative.exit_code != 0


def test_catalogue_export_and_import(tmp_path: Path) -> None:
    target = tmp_path / "catalogue.json"
    output = invoke("catalogue", "export", str(target))
    assert "packages" in output
    document = json.loads(target.read_text())
    assert len(document["data"]) >= 200
    imported = invoke("catalogue", "import", str(target))
    assert "Catalogue version" in imported
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    failed = runner.invoke(app, ["catalogue", "import", str(broken)])
    assert failed.exit_code == 1
    assert "Cannot import" in failed.output


def test_catalogue_overrides_reach_the_partners_orders(database_url: str) -> None:
    created = json.loads(invoke("partner", "create", "Special Terms", "--balance", "50", "--json"))
    client_id = created["client_id"]
    console.width = 200
    assert "no overrides" in invoke("catalogue", "overrides", client_id)
    shown = invoke("catalogue", "override", client_id, "merhaba-7days-1gb", "--net-price", "1.10")
    assert "merhaba-7days-1gb" in shown
    assert "1.1" in shown
    invoke("catalogue", "override", client_id, "kallur-digital-7days-1gb", "--hide")
    listing = invoke("catalogue", "overrides", client_id)
    assert "merhaba-7days-1gb" in listing
    assert "kallur-digital-7days-1gb" in listing

    order = _post(database_url, created, {"package_id": "merhaba-7days-1gb", "quantity": 1})
    assert order["data"]["net_price"] == 1.1
    hidden = _post(database_url, created, {"package_id": "kallur-digital-7days-1gb", "quantity": 1})
    assert hidden["code"] == 34  # hidden from this partner: answered as an unknown package
    listed = _get(database_url, created, "/v2/packages/overrides")
    assert [item["package_id"] for item in listed["data"]] == [
        "kallur-digital-7days-1gb",
        "merhaba-7days-1gb",
    ]

    invoke("catalogue", "clear-override", client_id, "kallur-digital-7days-1gb")
    again = _post(database_url, created, {"package_id": "kallur-digital-7days-1gb", "quantity": 1})
    assert again["data"]["package_id"] == "kallur-digital-7days-1gb"

    for args, code, message in [
        (["override", client_id, "merhaba-7days-1gb"], 1, "Give a price"),
        (["override", client_id, "no-such-package", "--price", "3"], 1, "invalid"),
        (["override", "nobody", "merhaba-7days-1gb", "--price", "3"], 1, "No partner"),
        (["override", client_id, "merhaba-7days-1gb", "--price", "1.234"], 2, "1.234"),
        (["clear-override", client_id, "kallur-digital-7days-1gb"], 1, "no override"),
    ]:
        result = runner.invoke(app, ["catalogue", *args])
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)


def _post(
    database_url: str, created: dict[str, str], body: dict[str, Any], path: str = "/v2/orders"
) -> Any:
    """POST to the partner API (in-process) as a partner the CLI created."""

    async def place() -> Any:
        async with app_client(make_settings(database_url), Clock()) as client:
            token = await client.post(
                "/v2/token",
                data={
                    "client_id": created["client_id"],
                    "client_secret": created["client_secret"],
                    "grant_type": "client_credentials",
                },
            )
            headers = {"Authorization": f"Bearer {token.json()['data']['access_token']}"}
            response = await client.post(path, json=body, headers=headers)
        return response.json()

    return asyncio.run(place())


def _get(database_url: str, created: dict[str, str], path: str) -> Any:
    """GET from the partner API (in-process) as a partner the CLI created."""

    async def fetch() -> Any:
        async with app_client(make_settings(database_url), Clock()) as client:
            form = {key: created[key] for key in ("client_id", "client_secret")}
            token = await client.post("/v2/token", data=form)
            headers = {"Authorization": f"Bearer {token.json()['data']['access_token']}"}
            return (await client.get(path, headers=headers)).json()

    return asyncio.run(fetch())


def test_balance_credit_limit_and_show(database_url: str) -> None:
    created = json.loads(invoke("partner", "create", "Ledger Co", "--balance", "10", "--json"))
    client_id = created["client_id"]
    assert "35.50 USD" in invoke("balance", "credit", client_id, "25.50", "--note", "wire 7")
    invoke("balance", "credit-limit", client_id, "100")
    order = _post(database_url, created, {"package_id": "merhaba-7days-1gb", "quantity": 1})
    shown = json.loads(invoke("balance", "show", client_id, "--json"))
    assert shown["credit_limit"] == 100
    assert shown["balance"] == pytest.approx(35.5 - order["data"]["net_price"])
    assert [e["kind"] for e in shown["ledger"]] == ["credit", "credit", "order"]
    assert shown["ledger"][1]["reference"] == "wire 7"
    assert shown["ledger"][2]["reference"] == order["data"]["code"]
    table = invoke("balance", "show", client_id)
    assert "Ledger Co" in table
    assert "wire 7" in table
    missing = runner.invoke(app, ["balance", "show", "nobody"])
    assert missing.exit_code == 1


def test_balance_verify_finds_a_ledger_entry_written_behind_the_balance(
    database_url: str,
) -> None:
    created = json.loads(invoke("partner", "create", "Books Co", "--balance", "10", "--json"))
    _post(database_url, created, {"package_id": "merhaba-7days-1gb", "quantity": 1})
    assert "Every balance equals" in invoke("balance", "verify")

    async def tamper() -> None:
        async with transaction(make_settings(database_url)) as session:
            partner = (
                await session.scalars(
                    select(Partner).where(Partner.client_id == created["client_id"])
                )
            ).one()
            session.add(
                LedgerEntry(
                    partner_id=partner.id,
                    amount_cents=500,
                    kind="credit",
                    reference="forged",
                    created_at=Clock().now(),
                )
            )

    asyncio.run(tamper())
    found = runner.invoke(app, ["balance", "verify"])
    assert found.exit_code == 1
    assert "ledger entries add up to" in found.output


def test_brand_inventory_refund_and_mail_commands(database_url: str, tmp_path: Path) -> None:
    created = json.loads(invoke("partner", "create", "Brandy", "--balance", "100", "--json"))
    client_id = created["client_id"]
    assert "/s/sky-travel/" in invoke(
        "brand", "create", client_id, "Sky Travel", "--color", "#112233"
    )
    assert "Sky Travel" in invoke("brand", "list", client_id)
    duplicate = runner.invoke(app, ["brand", "create", client_id, "Sky Travel"])
    assert duplicate.exit_code == 1

    profiles = tmp_path / "profiles.csv"
    lines = ["iccid,smdp_address,matching_id,confirmation_code,imsi,msisdn"]
    for serial in range(3):
        payload = f"894900000000000{serial:03d}"
        lines.append(f"{payload}{luhn_check_digit(payload)},rsp.example.net,M-{serial},1234,,")
    profiles.write_text("\n".join(lines) + "\n")
    assert "Imported 3 profiles" in invoke(
        "inventory", "import", str(profiles), "--operator", "Merhaba"
    )
    assert "3" in invoke("inventory", "status")
    again = runner.invoke(app, ["inventory", "import", str(profiles), "--operator", "Merhaba"])
    assert again.exit_code == 1
    assert "already known" in again.output
    broken = tmp_path / "broken.csv"
    broken.write_text("iccid,smdp_address,matching_id\n8949000000000000001,rsp.example.net,X\n")
    bad = runner.invoke(app, ["inventory", "import", str(broken), "--operator", "Merhaba"])
    assert bad.exit_code == 1
    assert "Luhn" in bad.output

    order = _post(
        database_url,
        created,
        {
            "package_id": "merhaba-7days-1gb",
            "quantity": 1,
            "brand_settings_name": "Sky Travel",
            "to_email": "guest@example.com",
            "sharing_option": ["link"],
        },
    )
    sim = order["data"]["sims"][0]
    assert sim["iccid"].startswith("894900000000000")
    assert sim["lpa"] == "rsp.example.net"
    mail = invoke("mail", "list", "--full")
    assert "guest@example.com" in mail
    assert sim["sharing"]["access_code"] in mail
    assert "kept" in invoke("mail", "list")

    refund = _post(
        database_url,
        created,
        {"iccids": [sim["iccid"]], "reason": "OTHERS", "notes": "trip cancelled"},
        "/v2/refund",
    )
    refund_id = refund["data"]["refund_id"]
    assert "pending" in invoke("refund", "list", "--status", "pending")
    too_much = runner.invoke(app, ["refund", "approve", refund_id, "--amount", "1000"])
    assert too_much.exit_code == 1
    credited = invoke("refund", "approve", refund_id, "--amount", "0.50", "--note", "partial")
    assert "0.50 USD credited" in credited
    assert runner.invoke(app, ["refund", "reject", refund_id]).exit_code == 1
    shown = json.loads(invoke("balance", "show", client_id, "--json"))
    assert shown["ledger"][-1] == {
        "at": shown["ledger"][-1]["at"],
        "kind": "refund",
        "amount": 0.5,
        "reference": f"refund {refund_id}",
    }


def test_network_and_clock_commands(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(database_url)
    partner = asyncio.run(create_partner(settings, Clock(), "Roamers", balance_cents=10_000))
    sims = asyncio.run(place_order(settings, Clock(), partner, "kallur-digital-7days-1gb", 2))
    first, second = (sim.iccid for sim in sims)

    assert "NOT_ACTIVE" in invoke("network", "install", first)
    assert "ACTIVE (kallur-digital-7days-1gb: 1024 MB left" in invoke(
        "network", "attach", first, "--country", "FO"
    )
    assert "724 MB left" in invoke("network", "consume", first, "--mb", "300")
    assert "ACTIVE" in invoke("network", "consume", first, "--voice-min", "1", "--sms", "2")
    nothing = runner.invoke(app, ["network", "consume", first])
    assert nothing.exit_code != 0
    unknown = runner.invoke(app, ["network", "attach", "8999000000000000000"])
    assert unknown.exit_code == 1
    assert "unknown ICCID" in unknown.output

    assert "1 eSIM(s) settled" in invoke("clock", "advance", "8d")
    assert "EXPIRED" in invoke("network", "consume", first, "--mb", "1")
    assert "8 days" in invoke("clock", "show")
    backwards = runner.invoke(app, ["clock", "set", "2020-01-01T00:00:00Z"])
    assert backwards.exit_code == 1
    assert runner.invoke(app, ["clock", "advance", "soon"]).exit_code != 0

    simulated = invoke(
        "network", "simulate", "--sims", "2", "--speed", "600", "--duration", "1", "--tick", "0.2"
    )
    assert "2 eSIMs driven" in simulated
    assert second in simulated

    invoke("clock", "reset")
    assert "moved 0:00:00" in invoke("clock", "show")

    monkeypatch.setenv("ESIMHUB_ENV", "production")
    monkeypatch.setenv("ESIMHUB_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    refused = runner.invoke(app, ["clock", "advance", "1d"])
    assert refused.exit_code == 1
    assert "cannot be moved" in refused.output


def test_worker_and_webhooks_commands(database_url: str) -> None:
    from tests.fixtures.receiver import receiver

    created = json.loads(invoke("partner", "create", "Hooked", "--balance", "100", "--json"))
    with receiver() as hook:
        accepted = _post(
            database_url,
            created,
            {"package_id": "kallur-digital-7days-1gb", "quantity": 1, "webhook_url": hook.url},
            "/v2/orders-async",
        )
        request_id = accepted["data"]["request_id"]
        passed = invoke("worker", "--once")  # places the order, then announces it
        assert "scheduled orders: 1 completed; webhook events: 1 delivered" in passed
        assert "scheduled orders: none; webhook events: none" in invoke("worker", "--once")
        listed = json.loads(invoke("webhooks", "list", "--json"))
        assert [(e["kind"], e["status"]) for e in listed] == [
            ("async_order_notification", "delivered")
        ]
        event_id = listed[0]["event_id"]
        assert listed[0]["payload"]["request_id"] == request_id
        shown = json.loads(invoke("webhooks", "show", event_id))
        assert [d["status_code"] for d in shown["deliveries"]] == [200]
        assert "queued" in invoke("webhooks", "replay", event_id)
        invoke("worker", "--once")
        assert len(hook.posts()) == 2
    assert "Hooked" not in invoke("webhooks", "list", "--status", "failed")
    assert runner.invoke(app, ["webhooks", "show", "nope"]).exit_code == 1
    assert runner.invoke(app, ["webhooks", "list", "--partner", "nobody"]).exit_code == 1


def test_serve_with_two_workers_answers_from_two_processes(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ESIMHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}",
        "ESIMHUB_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "esimhub", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert first_answer(f"http://127.0.0.1:{port}/healthz", server).status_code == 200
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2  # the two workers (and uvicorn's process-spawning helper)
    finally:
        server.terminate()
        server.wait(timeout=15)
