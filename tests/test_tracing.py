"""OpenTelemetry: a request's trace holds its SQL and its Redis calls; without the OTEL_*
variables nothing of the SDK is even imported."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from esimhub import tracing
from esimhub.app import create_app
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from tests.fixtures.database import BACKEND
from tests.fixtures.factories import PartnerFactory

OFF_AND_FREE = """
import sys
from esimhub.app import create_app
from esimhub.config import Settings
app = create_app(Settings(database_url=sys.argv[1]))
ours = ("opentelemetry.sdk.trace", "opentelemetry.instrumentation", "opentelemetry.exporter")
loaded = sorted(m for m in sys.modules if m.startswith(ours))
layers, layer = [], app.build_middleware_stack()
while hasattr(layer, "app"):
    layers.append(type(layer).__name__)
    layer = layer.app
print(loaded, [name for name in layers if name in {"Edge", "OpenTelemetryMiddleware"}])
"""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    tracing.uninstrument()


async def test_a_request_is_traced_with_its_sql_and_redis(
    settings: Settings,
    clock: FrozenClock,
    make_partner: PartnerFactory,
    spans: InMemorySpanExporter,
) -> None:
    app = create_app(settings.model_copy(update={"rate_limits": True}), clock=clock)
    runtime = app.state.runtime
    assert tracing.instrument(app=app, engine=runtime.engine, exporter=spans)
    credentials = await make_partner(balance_cents=10_000)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://esimhub.test") as client,
    ):
        token = (await client.post("/v2/token", data=credentials.form())).json()["data"]
        spans.clear()
        orders = await client.get(
            "/v2/orders", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert orders.status_code == 200
        again = await client.post("/v2/token", data=credentials.form())
        assert again.status_code == 200
    finished = spans.get_finished_spans()

    def trace_of(name: str) -> list[ReadableSpan]:
        (server,) = [s for s in finished if s.name == name]
        return [s for s in finished if s.context.trace_id == server.context.trace_id]

    listing = trace_of("GET /v2/orders")
    assert any("db.statement" in (s.attributes or {}) for s in listing), listing
    if BACKEND == "postgres":  # the token endpoint's limit (3 a minute) is counted in Redis
        token_trace = trace_of("POST /v2/token")
        assert any((s.attributes or {}).get("db.system") == "redis" for s in token_trace)
    server = next(s for s in listing if s.name == "GET /v2/orders")
    assert server.resource.attributes["service.name"] == "esimhub"


def test_without_otel_variables_tracing_is_absent(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", OFF_AND_FREE, database_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert run.stdout.strip() == "[] ['Edge']"


def test_the_standard_variables_switch_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in tracing.SWITCHES:
        monkeypatch.delenv(name, raising=False)
    assert not tracing.wanted()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.wanted()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.wanted()
