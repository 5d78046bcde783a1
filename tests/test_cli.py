"""The admin CLI contract: command names, options and output that docs and scripts rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esimhub.cli.common import console
from esimhub.cli.main import app
from esimhub.config import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ESIMHUB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
