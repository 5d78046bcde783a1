"""What the request log line costs: the whole app in process (an unknown path, so no database
work), JSON lines to /dev/null, ``ESIMHUB_ACCESS_LOG`` off and on in alternated rounds, medians.

    python -m bench.access_log [--rounds N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from esimhub import db
from esimhub.app import create_app
from esimhub.config import Settings
from esimhub.kit import logs


async def _per_request_us(url: str, *, access_log: bool, requests: int) -> float:
    app = create_app(Settings(database_url=url, access_log=access_log, embedded_worker=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(requests // 10):  # warm up
            await client.get("/nope")
        started = time.perf_counter()
        for _ in range(requests):
            await client.get("/nope")
    await app.state.runtime.aclose()
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    options = parser.parse_args()
    url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db.upgrade(url)
    with open(os.devnull, "w") as sink:
        logs.configure("INFO", "json", sink)
        timings: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(options.rounds):
            for flag in (False, True):
                run = _per_request_us(url, access_log=flag, requests=options.requests)
                timings[flag].append(asyncio.run(run))
    off, on = statistics.median(timings[False]), statistics.median(timings[True])
    print(f"per request, access log off: {off:.0f} µs; on: {on:.0f} µs")
    print(f"the log line: +{on - off:.0f} µs ({on / off - 1:+.1%}; ratio {on / off:.3f}×)")


if __name__ == "__main__":
    main()
