"""What an operator meets first: a database that is not ready, money typed wrong, exit codes,
and readiness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from esimhub.cli.main import app
from tests.fixtures.database import BACKEND, make_settings, new_database
from tests.fixtures.servers import esimhub_command, first_answer, free_port, serving

runner = CliRunner()


@pytest.fixture
async def blank_database(tmp_path: Path) -> AsyncIterator[str]:
    """A database nobody has migrated."""
    url, drop = await new_database(tmp_path, migrated=False)
    yield url
    await drop()


def esimhub(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as an operator runs it."""
    return esimhub_command(*args, env={"ESIMHUB_DATABASE_URL": database_url})


def test_a_database_not_migrated_gives_one_line_and_exit_1(blank_database: str) -> None:
    listed = esimhub("partner", "list", database_url=blank_database)
    assert listed.returncode == 1
    assert "Traceback" not in listed.stderr
    lines = listed.stderr.strip().splitlines()
    assert len(lines) == 1, listed.stderr
    assert "not migrated" in lines[0]
    assert "esimhub db upgrade" in lines[0]

    assert esimhub("db", "upgrade", database_url=blank_database).returncode == 0
    listed = esimhub("partner", "list", "--json", database_url=blank_database)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_an_unreachable_database_gives_one_line_without_the_password() -> None:
    url = f"postgresql+asyncpg://esimhub:hunter2@127.0.0.1:{free_port()}/esimhub"
    listed = esimhub("balance", "show", "anyone", database_url=url)
    assert listed.returncode == 1
    assert "Traceback" not in listed.stderr
    assert listed.stderr.strip().startswith("Cannot reach the database at postgresql+asyncpg://")
    assert "hunter2" not in listed.stderr + listed.stdout


def _said(output: str) -> str:
    """The words of an error, out of Rich's box."""
    return " ".join(output.replace("│", " ").split())


def _created(name: str, *options: str) -> str:
    result = runner.invoke(app, ["partner", "create", name, "--json", *options])
    assert result.exit_code == 0, result.output
    client_id: str = json.loads(result.output)["client_id"]
    return client_id


def _balance(client_id: str) -> float:
    shown = runner.invoke(app, ["balance", "show", client_id, "--json"])
    balance: float = json.loads(shown.output)["balance"]
    return balance


def test_money_typed_wrong_is_refused_and_nothing_moves() -> None:
    client_id = _created("Careful Co", "--balance", "100", "--credit-limit", "50")

    negative = runner.invoke(app, ["balance", "credit", client_id, "-1000"])
    assert negative.exit_code == 2
    assert "balance debit" in _said(negative.output)
    too_precise = runner.invoke(app, ["balance", "credit", client_id, "1.234"])
    assert too_precise.exit_code == 2
    assert "more than two decimals" in _said(too_precise.output)
    assert runner.invoke(app, ["partner", "create", "X", "--balance", "0.005"]).exit_code == 2
    assert runner.invoke(app, ["balance", "credit-limit", client_id, "-5"]).exit_code == 2
    assert _balance(client_id) == 100

    past_limit = runner.invoke(app, ["balance", "debit", client_id, "150.01"])
    assert past_limit.exit_code == 1
    assert "credit limit" in _said(past_limit.output)
    assert _balance(client_id) == 100

    assert runner.invoke(app, ["balance", "debit", client_id, "150"]).exit_code == 0
    assert _balance(client_id) == -50
    forced = runner.invoke(app, ["balance", "debit", client_id, "10", "--force"])
    assert forced.exit_code == 0
    assert "-60.00 USD" in forced.output
    assert runner.invoke(app, ["balance", "verify"]).exit_code == 0


def test_exit_codes_one_for_refused_two_for_bad_usage() -> None:
    assert runner.invoke(app, ["balance", "debit", "nobody", "1"]).exit_code == 1
    assert runner.invoke(app, ["webhooks", "show", "nope"]).exit_code == 1
    assert runner.invoke(app, ["mail", "resend", "999999"]).exit_code == 1
    assert runner.invoke(app, ["balance", "credit", "x", "ten"]).exit_code == 2
    assert runner.invoke(app, ["clock", "advance", "soon"]).exit_code == 2
    client_id = _created("Brand Co")
    bad_colour = runner.invoke(app, ["brand", "create", client_id, "B", "--color", "red"])
    assert bad_colour.exit_code == 2


def test_readiness_follows_the_database_and_liveness_does_not(blank_database: str) -> None:
    with serving(make_settings(blank_database)) as server:
        live = httpx.get(f"{server.base_url}/livez")
        ready = httpx.get(f"{server.base_url}/readyz")
        healthz = httpx.get(f"{server.base_url}/healthz")
    assert live.status_code == 200
    assert ready.status_code == healthz.status_code == 503
    assert "not migrated" in ready.json()["database"]


@pytest.mark.slow
def test_serve_migrate_migrates_then_serves(blank_database: str) -> None:
    port = free_port()
    env = {**os.environ, "ESIMHUB_DATABASE_URL": blank_database, "ESIMHUB_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "esimhub", "serve", "--migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = first_answer(f"http://127.0.0.1:{port}/readyz", server)
        assert ready.status_code == 200, ready.text
        assert ready.json()["database"] == "ok"
        expected_redis = "not configured" if BACKEND == "sqlite" else ready.json()["redis"]
        assert ready.json()["redis"] == expected_redis
    finally:
        server.terminate()
        server.wait(timeout=15)
