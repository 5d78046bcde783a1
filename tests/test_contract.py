"""Schemathesis against a live esimhub, on the backend under test: every operation of
``/openapi.json`` with a partner token, every check (no 5xx, only documented status codes,
bodies, headers and content types as documented, schema-valid input accepted and invalid input
refused), bounded to a fixed number of cases per operation and a fixed seed so a run is the
same run every time. ``tests/schemathesis.toml`` names the few operations whose valid input
depends on stored data."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx

from esimhub.config import Settings
from tests.fixtures.clients import get_token
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.servers import LiveServer, serving

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_the_live_api_keeps_its_openapi_contract(
    settings: Settings, make_partner: PartnerFactory
) -> None:
    # limits off: a fuzzer's hundreds of requests should reach the handlers, not the 429s
    unlimited = settings.model_copy(update={"rate_limits": False, "usage_poll_policy": "off"})
    with serving(unlimited) as server:
        token = asyncio.run(_token(server, make_partner))
        run = subprocess.run(  # noqa: S603 - our own arguments
            [
                str(SCHEMATHESIS),
                "--no-color",
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.base_url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "15",
                "--seed",
                "20261203",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    summary = run.stdout[run.stdout.find("SUMMARY") :]
    print(summary)  # the operations and cases run, for the CI log (pytest -s)
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-2_000:]
    assert "Tested: " in summary
    assert "failures" not in summary.splitlines()[-1]


async def _token(server: LiveServer, make_partner: PartnerFactory) -> str:
    credentials = await make_partner(balance_cents=1_000_000)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        return await get_token(client, credentials)
