"""The examples in ``examples/`` run against a live esimhub, as the README says they do."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.client.conftest import PACKAGE, Hub

EXAMPLES = Path(__file__).parents[2] / "examples"


async def run_example(hub: Hub, name: str, *args: str) -> str:
    env = {
        **os.environ,
        "ESIMHUB_BASE_URL": hub.url,
        "ESIMHUB_CLIENT_ID": hub.partner.client_id,
        "ESIMHUB_CLIENT_SECRET": hub.partner.client_secret,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_order_an_esim_and_show_its_qr_code(hub: Hub) -> None:
    printed = await run_example(hub, "order_esim.py", "--package", PACKAGE)
    assert re.search(r"^ICCID\s+\d{19}$", printed, re.MULTILINE)
    assert re.search(r"^LPA\s+LPA:1\$", printed, re.MULTILINE)
    assert "█" in printed or "▀" in printed  # the QR code, drawn by segno
    cheapest = await run_example(hub, "order_esim.py", "FR")
    assert "order " in cheapest


async def test_poll_usage_politely(hub: Hub, tmp_path: Path) -> None:
    for _ in range(3):
        await run_example(hub, "order_esim.py", "--package", PACKAGE)
    printed = await run_example(
        hub, "poll_usage.py", "--rounds", "4", "--interval", "0", "--cache", str(tmp_path)
    )
    assert printed.splitlines()[-1] == (
        "12 usage answers for 3 eSIMs: 3 requests sent, 9 answered from the cache"
    )
    # a second run within the window shares the cache directory: no request at all
    again = await run_example(
        hub, "poll_usage.py", "--rounds", "1", "--interval", "0", "--cache", str(tmp_path)
    )
    assert again.splitlines()[-1] == (
        "3 usage answers for 3 eSIMs: 0 requests sent, 3 answered from the cache"
    )


async def test_receive_and_verify_a_webhook(hub: Hub) -> None:
    printed = await run_example(hub, "webhook_receiver.py", "--port", "0", "--simulate")
    assert "verified low_data webhook" in printed
    assert "'level': '75%'" in printed
