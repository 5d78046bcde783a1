"""Poll the data left on every eSIM, politely: each figure is asked for once per polling window
and answered from the client's cache in between, as Airalo's usage page asks.

    export ESIMHUB_BASE_URL=http://127.0.0.1:8000 ESIMHUB_CLIENT_ID=... ESIMHUB_CLIENT_SECRET=...
    python examples/poll_usage.py --rounds 4 --interval 60

The cache is a directory (``--cache``), so a second run within 15 minutes, or several processes,
share it. At the end the example says how many requests it sent for how many answers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx

from esimhub.client import Client, FileStore, RateLimitError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "esimhub-usage")
    args = parser.parse_args()

    sent: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [sent.append]}, timeout=30)
    answers = cached = 0
    with http, Client(http_client=http, usage_cache=FileStore(args.cache)) as client:
        iccids = [sim.iccid for sim in client.sims.list()]
        for round_ in range(1, args.rounds + 1):
            for iccid in iccids:
                try:
                    usage = client.sims.usage(iccid)
                except RateLimitError as exc:  # polled elsewhere, and no figure kept here
                    print(f"{iccid}  wait {exc.retry_after:.0f} s")
                    continue
                answers += 1
                cached += usage.from_cache
                age = "" if not usage.from_cache else f" (cached {usage.fetched_at:%H:%M:%S})"
                print(f"round {round_}  {iccid}  {usage.status:<10} {usage.remaining} MB{age}")
            if round_ < args.rounds:
                time.sleep(args.interval)
    usage_requests = sum(1 for r in sent if r.url.path.endswith("/usage"))
    print(
        f"{answers} usage answers for {len(iccids)} eSIMs: {usage_requests} requests sent, "
        f"{cached} answered from the cache"
    )


if __name__ == "__main__":
    main()
