"""`esimhub serve --tls`: HTTPS from esimhub's own local CA, trusted by clients that are told
about it — the official Node SDK included, which speaks HTTPS only — and by nothing else."""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.node import npm_sdk
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.slow

NODE_ORDER = """
const [sdk, base, clientId, secret] = process.argv.slice(1);
const { Airalo } = require(sdk);
const Config = require(sdk + "/src/core/Config");
// The only change a partner makes: the base URL (what a hosts-file entry would do).
Config.prototype.getUrl = () => base;
(async () => {
  const airalo = new Airalo({ client_id: clientId, client_secret: secret, env: "sandbox" });
  await airalo.initialize();
  const order = await airalo.order("merhaba-7days-1gb", 1);
  console.log(JSON.stringify({ code: order.data.code, iccid: order.data.sims[0].iccid }));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


@contextmanager
def _serve(tmp_path: Path, *args: str) -> Iterator[tuple[str, Path, str]]:
    """``esimhub serve --demo --tls ...`` on a free port: its base URL, its CA, its output."""
    port = free_port()
    env = {
        **os.environ,
        "ESIMHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tls.db'}",
        "ESIMHUB_DATA_DIR": str(tmp_path / "data"),
        "ESIMHUB_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "esimhub",
        "serve",
        "--demo",
        "--tls",
        "--port",
        str(port),
        *args,
    ]
    output = tmp_path / f"serve-{port}.out"
    with output.open("w") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    ca = tmp_path / "data" / "tls" / "ca.pem"
    try:
        deadline = time.monotonic() + 40
        while True:
            assert server.poll() is None, output.read_text()
            try:
                context = ssl.create_default_context(cafile=str(ca))
                if httpx.get(f"https://127.0.0.1:{port}/livez", verify=context).status_code == 200:
                    break
            except (httpx.TransportError, FileNotFoundError, ssl.SSLError):
                pass
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        yield f"https://127.0.0.1:{port}", ca, output.read_text()
    finally:
        server.terminate()
        server.wait(timeout=15)


def _credentials(banner: str) -> tuple[str, str]:
    lines = dict(
        line.strip().split(":", 1)
        for line in banner.splitlines()
        if "client_" in line and ":" in line
    )
    return lines["client_id"].strip(), lines["client_secret"].strip()


def test_serve_tls_makes_a_ca_once_and_is_trusted_only_through_it(tmp_path: Path) -> None:
    with _serve(tmp_path) as (base, ca, banner):
        assert f"NODE_EXTRA_CA_CERTS={ca}" in banner
        context = ssl.create_default_context(cafile=str(ca))
        port = base.rsplit(":", 1)[1]
        for host in ("127.0.0.1", "localhost"):
            assert httpx.get(f"https://{host}:{port}/readyz", verify=context).status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{base}/livez")  # the system's CAs know nothing of it
        assert banner.count("client_id:") == 1
    tls = ca.parent
    for key in ("ca-key.pem", "key.pem"):
        assert stat.S_IMODE((tls / key).stat().st_mode) == 0o600
    first_ca, first_cert = ca.read_bytes(), (tls / "cert.pem").read_bytes()

    with _serve(tmp_path) as _:
        pass
    assert (ca.read_bytes(), (tls / "cert.pem").read_bytes()) == (first_ca, first_cert)
    with _serve(tmp_path, "--tls-name", "esim.test") as _:
        pass
    assert ca.read_bytes() == first_ca  # the CA stays: clients that trust it keep trusting
    assert (tls / "cert.pem").read_bytes() != first_cert  # a certificate with the new name


@pytest.mark.external
def test_the_official_node_sdk_orders_over_https_with_the_local_ca(tmp_path: Path) -> None:
    node, package = npm_sdk()
    with _serve(tmp_path) as (base, ca, banner):
        client_id, secret = _credentials(banner)
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(ca)}
        ordered = subprocess.run(  # noqa: S603 - our own script
            [node, "-e", NODE_ORDER, str(package), f"{base}/v2/", client_id, secret],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ordered.returncode == 0, ordered.stderr
        order = json.loads(ordered.stdout)
        assert len(order["iccid"]) >= 18
        refused = subprocess.run(  # noqa: S603 - the same, without the CA
            [node, "-e", NODE_ORDER, str(package), f"{base}/v2/", client_id, secret],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 1
        assert "certificate" in refused.stderr.lower()
