"""The deployment files hold together (every setting they set exists, every command they run
parses, migrations come first), and docs/deploy.md's topology works as written: PostgreSQL +
Redis, `serve --workers 2` without its embedded worker, and a separate `esimhub worker`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml

from esimhub.cli.main import app
from esimhub.config import Settings
from tests.fixtures.database import BACKEND, REDIS_URL, new_database, redis_key_prefix
from tests.fixtures.receiver import Receiver
from tests.fixtures.servers import esimhub_command, first_answer, free_port

ROOT = Path(__file__).parent.parent
SETTINGS = {f"ESIMHUB_{name.upper()}" for name in Settings.model_fields}
ESIMHUB_SERVICES = {"migrate", "api", "worker"}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def parses(command: list[str]) -> None:
    """``esimhub ...`` as the CLI would read it: each group and the command with its options
    (a usage error for an unknown command or option, or a missing argument); nothing runs."""
    assert command[0] == "esimhub", command
    found: Any = typer.main.get_command(app)
    context = found.make_context("esimhub", command[1:])
    args = command[1:]
    while hasattr(found, "resolve_command"):  # a group: find its subcommand
        name, found, args = found.resolve_command(context, args)
        context = found.make_context(name, list(args), parent=context)


@pytest.mark.parametrize(
    "command",
    [
        ["esimhub", "serve", "--bogus"],
        ["esimhub", "nothing"],
        ["esimhub", "db", "upgrade", "a", "b"],
        ["esimhub", "balance", "credit"],
    ],
)
def test_the_command_check_catches_what_the_cli_would_refuse(command: list[str]) -> None:
    with pytest.raises(Exception, match=r"(?i)no such|unexpected|missing|got"):
        parses(command)


def test_compose_services_settings_and_commands() -> None:
    document = compose()
    services = document["services"]
    assert set(services) == {"postgres", "redis", *ESIMHUB_SERVICES}
    for name in ESIMHUB_SERVICES:
        service = services[name]
        environment = service["environment"]
        unknown = {key for key in environment if key.startswith("ESIMHUB_")} - SETTINGS
        assert not unknown, f"{name} sets what esimhub does not read: {unknown}"
        assert environment["ESIMHUB_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["ESIMHUB_REDIS_URL"].startswith("redis://redis:")
        assert environment["ESIMHUB_EMBEDDED_WORKER"] == "false"
        assert "${ESIMHUB_SECRET_KEY:?" in environment["ESIMHUB_SECRET_KEY"]  # no default key
        parses(service["command"])
    assert services["migrate"]["command"] == ["esimhub", "db", "upgrade"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    api = services["api"]
    assert api["deploy"]["replicas"] == 2
    assert api["command"][api["command"].index("--workers") + 1] == "2"
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert services["worker"]["command"] == ["esimhub", "worker"]


def test_dockerfile_is_multi_stage_unprivileged_and_checks_liveness() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2
    assert re.search(r"^USER esimhub$", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile
    assert "/livez" in dockerfile
    assert "-c requirements/dev.lock" in dockerfile  # the pinned versions CI tests
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    parses(json.loads(cmd))
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "*.db"} <= set(ignored)


def test_systemd_units_run_commands_that_parse_with_settings_that_exist() -> None:
    units = ROOT / "deploy" / "systemd"
    environment = dict(
        line.split("=", 1)
        for line in (units / "esimhub.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(environment) <= SETTINGS
    for unit in ("esimhub-api.service", "esimhub-worker.service"):
        text = (units / unit).read_text()
        assert "EnvironmentFile=/etc/esimhub/esimhub.env" in text
        assert "User=esimhub" in text
        for line in re.findall(r"^Exec\w+=(.+)$", text, re.MULTILINE):
            parses(["esimhub", *line.split()[1:]])


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker here")
def test_docker_compose_config_accepts_the_file() -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)  # noqa: S607
    if probe.returncode != 0:
        pytest.skip("docker has no compose plugin here; the file is checked by the test above")
    result = subprocess.run(  # noqa: S603 - a fixed command
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],  # noqa: S607
        env={**os.environ, "ESIMHUB_SECRET_KEY": "x" * 40},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# -- docs/deploy.md, "By hand" ----------------------------------------------------------------


@pytest.fixture
async def blank_postgres(tmp_path: Path) -> AsyncIterator[str]:
    if BACKEND != "postgres":
        pytest.skip("the deploy guide's topology is PostgreSQL + Redis")
    url, drop = await new_database(tmp_path, migrated=False)
    yield url
    await drop()


@pytest.mark.slow
def test_the_deploy_guide_topology_places_orders(blank_postgres: str, hook: Receiver) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ESIMHUB_DATABASE_URL": blank_postgres,
        "ESIMHUB_REDIS_URL": REDIS_URL,
        "ESIMHUB_REDIS_KEY_PREFIX": redis_key_prefix(),
        "ESIMHUB_EMBEDDED_WORKER": "false",
        "ESIMHUB_WORKER_POLL_SECONDS": "0.2",
        "ESIMHUB_LOG_LEVEL": "WARNING",
    }

    def esimhub(*args: str) -> subprocess.CompletedProcess[str]:
        return esimhub_command(*args, env=env, check=True)

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "esimhub", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    esimhub("db", "upgrade")
    esimhub("catalogue", "generate")
    api = start("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2")
    worker = start("worker")
    try:
        created = json.loads(
            esimhub("partner", "create", "First Partner", "--balance", "500", "--json").stdout
        )
        assert first_answer(f"{base}/readyz", api).status_code == 200
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post(
                "/v2/token",
                data={
                    "client_id": created["client_id"],
                    "client_secret": created["client_secret"],
                    "grant_type": "client_credentials",
                },
            ).json()["data"]["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            order = client.post(
                "/v2/orders", json={"package_id": "merhaba-7days-1gb", "quantity": 1}, headers=auth
            )
            assert order.status_code == 200, order.text
            accepted = client.post(
                "/v2/orders-async",
                json={"package_id": "merhaba-7days-1gb", "quantity": 1, "webhook_url": hook.url},
                headers=auth,
            )
            assert accepted.status_code == 202, accepted.text
            request_id = accepted.json()["data"]["request_id"]
            deadline = time.monotonic() + 30
            while not hook.posts():
                assert time.monotonic() < deadline, "the worker did not deliver the async order"
                time.sleep(0.2)
            delivered = json.loads(hook.posts()[0].body)
            assert delivered["request_id"] == request_id
            orders = client.get("/v2/orders", headers=auth).json()["data"]
            assert len(orders) == 2
        shown = json.loads(esimhub("balance", "show", created["client_id"], "--json").stdout)
        paid = order.json()["data"]["net_price"] + delivered["data"]["net_price"]
        assert shown["balance"] == pytest.approx(500 - paid)
    finally:
        for process in (api, worker):
            process.terminate()
        for process in (api, worker):
            process.wait(timeout=20)
