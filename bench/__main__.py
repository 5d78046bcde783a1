"""Benchmarks against a live esimhub on loopback: catalogue, tokens, orders, eSIMs, usage.

Every figure is also given as a ratio to a baseline measured in the same run (an authenticated
request answered by a tiny in-memory route), because absolute times on shared machines are noisy.

    python -m bench [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from tests.fixtures.factories import create_partner

from bench import worker as worker_bench
from esimhub import db
from esimhub.app import create_app
from esimhub.catalogue import service as catalogue
from esimhub.cli.common import transaction
from esimhub.client import Client
from esimhub.config import Settings
from esimhub.kit.clock import Clock


async def _prepare(settings: Settings) -> tuple[str, str, int, int]:
    await asyncio.to_thread(db.upgrade, settings.database_url)
    async with transaction(settings) as session:
        summary = await catalogue.generate_demo(session, clock=Clock())
    created = await create_partner(settings, Clock(), "Bench", balance_cents=100_000_000)
    return created.client_id, created.client_secret, summary.packages, created.partner_id


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _time(call: Callable[[], httpx.Response], rounds: int, expect: int = 200) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - started)
        assert response.status_code == expect, response.text[:200]
    return samples


def _client_catalogue(
    url: str, client_id: str, secret: str, rounds: int
) -> tuple[float, float, float, int]:
    """The full catalogue through ``esimhub.client`` (typed entries, then the flat view) against
    the same request read with httpx and ``json.loads``, rounds alternated; medians in ms."""
    raw, entries, flat, count = [], [], [], 0
    with Client(url, client_id, secret) as client, httpx.Client(base_url=url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {client.token()}"}
        for _ in range(max(3, rounds // 4)):
            started = time.perf_counter()
            http.get("/v2/packages?include=topup", headers=headers).json()
            raw.append(time.perf_counter() - started)
            started = time.perf_counter()
            list(client.packages.list(include_topups=True))
            entries.append(time.perf_counter() - started)
            started = time.perf_counter()
            count = len(list(client.packages.list(include_topups=True).flat()))
            flat.append(time.perf_counter() - started)
    medians = [statistics.median(samples) * 1000 for samples in (raw, entries, flat)]
    return medians[0], medians[1], medians[2], count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # Per-endpoint limits off: the token row alone would hit 3/min. The usage polling limit
        # stays on (classic): the 429 path is one of the rows.
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            rate_limits=False,
            admin_token="bench-admin-token",
            sweep_seconds=0,
        )
        client_id, secret, package_count, partner_id = asyncio.run(_prepare(settings))
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                form = {
                    "client_id": client_id,
                    "client_secret": secret,
                    "grant_type": "client_credentials",
                }
                token = client.post("/v2/token", data=form).json()["data"]["access_token"]
                auth_header = {"Authorization": f"Bearer {token}"}

                def get(path: str, **headers: str) -> Callable[[], httpx.Response]:
                    return lambda: client.get(path, headers={**auth_header, **headers})

                def order(quantity: int) -> Callable[[], httpx.Response]:
                    body = {"package_id": "merhaba-7days-1gb", "quantity": quantity}
                    return lambda: client.post("/v2/orders", json=body, headers=auth_header)

                replay_headers = {**auth_header, "Idempotency-Key": "bench-replay"}
                client.post(
                    "/v2/orders",
                    json={"package_id": "merhaba-7days-1gb", "quantity": 1},
                    headers=replay_headers,
                )

                def replay() -> httpx.Response:
                    return client.post(
                        "/v2/orders",
                        json={"package_id": "merhaba-7days-1gb", "quantity": 1},
                        headers=replay_headers,
                    )

                full = "/v2/packages?include=topup"
                cold = _time(get(full), 1)[0]
                size = len(client.get(full, headers=auth_header).content)
                etag = client.get(full, headers=auth_header).headers["etag"]
                rows = [
                    (
                        "baseline: GET /v2/compatible-devices-lite",
                        _time(get("/v2/compatible-devices-lite"), args.rounds),
                    ),
                    ("GET /v2/packages?include=topup (full)", _time(get(full), args.rounds)),
                    (
                        "GET /v2/packages?filter[country]=JP",
                        _time(get("/v2/packages?filter%5Bcountry%5D=JP"), args.rounds),
                    ),
                    (
                        "GET /v2/packages?limit=25&page=3",
                        _time(get("/v2/packages?limit=25&page=3"), args.rounds),
                    ),
                    (
                        "GET full catalogue, If-None-Match → 304",
                        _time(get(full, **{"If-None-Match": etag}), args.rounds, 304),
                    ),
                    (
                        "POST /v2/token",
                        _time(lambda: client.post("/v2/token", data=form), args.rounds),
                    ),
                    ("POST /v2/orders quantity=1", _time(order(1), args.rounds)),
                    ("POST /v2/orders quantity=10", _time(order(10), args.rounds)),
                    ("POST /v2/orders with a replayed Idempotency-Key", _time(replay, args.rounds)),
                    ("GET /v2/sims (first page of 50)", _time(get("/v2/sims"), args.rounds)),
                    (
                        "GET /v2/orders?include=sims,status",
                        _time(get("/v2/orders?include=sims,status"), args.rounds),
                    ),
                ]
                iccid = client.get("/v2/sims?limit=1", headers=auth_header).json()["data"][0]
                rows.append(
                    ("GET /v2/sims/{iccid}", _time(get(f"/v2/sims/{iccid['iccid']}"), args.rounds))
                )
                every = client.get("/v2/sims?limit=1000", headers=auth_header).json()["data"]
                iccids = iter(s["iccid"] for s in every)
                rows.append(
                    (
                        "GET /v2/sims/{iccid}/usage (allowed)",
                        _time(
                            lambda: client.get(
                                f"/v2/sims/{next(iccids)}/usage", headers=auth_header
                            ),
                            args.rounds,
                        ),
                    )
                )
                polled = every[0]["iccid"]
                rows.append(
                    (
                        "GET /v2/sims/{iccid}/usage within 15 min → 429",
                        _time(get(f"/v2/sims/{polled}/usage"), args.rounds, 429),
                    )
                )
                admin = {"Authorization": "Bearer bench-admin-token"}
                batches = iter(range(10**6))

                def feed() -> httpx.Response:
                    batch = next(batches)
                    records = [
                        {
                            "id": f"bench-{batch}-{n}",
                            "iccid": every[(batch * 100 + n) % len(every)]["iccid"],
                            "started_at": datetime.now(UTC).isoformat(),
                            "bytes": 1_000_000,
                        }
                        for n in range(100)
                    ]
                    response = client.post(
                        "/admin/v1/usage-records", json={"records": records}, headers=admin
                    )
                    assert len(response.json()["data"]["accepted"]) == 100, response.text[:300]
                    return response

                feed_samples = _time(feed, max(5, args.rounds // 4))
                rows.append(("POST /admin/v1/usage-records (100 records)", feed_samples))
                qr = iccid["qrcode_url"].split("/qr", 1)[1]
                first_qr = _time(lambda: client.get(f"/qr{qr}"), 1)[0]
                rows.append(
                    (
                        "GET qrcode_url (stored PNG)",
                        _time(lambda: client.get(f"/qr{qr}"), args.rounds),
                    )
                )
            typed = _client_catalogue(f"http://127.0.0.1:{port}", client_id, secret, args.rounds)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        post_rate, delivery_rate = worker_bench.run(settings, partner_id, args.deliveries)

    baseline = statistics.median(rows[0][1])
    print(
        f"catalogue: {package_count} packages, full response {size / 1e6:.2f} MB; first (cold) render {cold * 1000:.0f} ms"
    )
    print(f"first QR PNG render (then stored): {first_qr * 1000:.1f} ms")
    print(f"usage feed: {100 / statistics.median(feed_samples):,.0f} records/s")
    print(
        f"webhooks, one worker, {args.deliveries} events: {delivery_rate:,.0f} deliveries/s "
        f"(baseline: bare signed POSTs {post_rate:,.0f}/s; ratio {post_rate / delivery_rate:.2f}x)"
    )
    raw_ms, entries_ms, flat_ms, flat_count = typed
    print(
        f"full catalogue through esimhub.client: {flat_count} packages, typed entries "
        f"{entries_ms:.0f} ms, flat {flat_ms:.0f} ms; raw httpx + json.loads {raw_ms:.0f} ms "
        f"(ratio {entries_ms / raw_ms:.2f}x / {flat_ms / raw_ms:.2f}x)"
    )
    print(f"{'scenario':48} {'median ms':>10} {'p90 ms':>8} {'x baseline':>11}")
    for name, samples in rows:
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) >= 10 else max(samples)
        print(f"{name:48} {median * 1000:10.2f} {p90 * 1000:8.2f} {median / baseline:11.2f}")


if __name__ == "__main__":
    main()
