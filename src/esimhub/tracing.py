"""OpenTelemetry tracing of requests, SQL, Redis and outgoing HTTP (webhooks), switched on by the
standard variables and absent otherwise.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_TRACES_EXPORTER`` (``otlp`` or ``console``) is set, unless ``OTEL_SDK_DISABLED=true``.
Off, nothing of the SDK or the instrumentations is imported and no request pays for it. Spans
go through a batch processor to the OTLP/HTTP exporter, which reads the rest of the standard
variables itself (headers, timeouts, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``).
Needs ``pip install 'esimhub[otel]'``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("esimhub.tracing")

SWITCHES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
)
# One provider per process, however many apps it builds (the tests build many).
_state: dict[str, Any] = {}


def wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "none":
        return False
    return any(os.environ.get(name) for name in SWITCHES)


def _provider(exporter: Any | None) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if "provider" not in _state:
        resource = Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME") or "esimhub"}
        )
        _state["provider"] = TracerProvider(resource=resource)
    provider = _state["provider"]
    if exporter is not None:  # given (the tests): every span at once
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif "exporting" not in _state:
        if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _state["exporting"] = True
    return provider


def instrument(
    *, app: FastAPI | None = None, engine: AsyncEngine, exporter: Any | None = None
) -> bool:
    """Trace ``app``'s requests, ``engine``'s SQL, and every Redis and httpx call of the process,
    when tracing is wanted (or an ``exporter`` is given). Whether it is on."""
    if exporter is None and not wanted():
        return False
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    except ImportError as exc:
        log.warning(
            "OTEL_* is set but tracing is not installed (%s): pip install 'esimhub[otel]'", exc
        )
        return False
    provider = _provider(exporter)
    if app is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="livez,readyz,healthz,metrics"
        )
    # The instrumentation declares SQLAlchemy < 2.1 and would otherwise do nothing on 2.1; the
    # engine events it listens to are unchanged in 2.1 (tests/test_tracing.py checks the spans).
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
    )
    if "process" not in _state:  # process-wide: once
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        RedisInstrumentor().instrument(tracer_provider=provider)
        _state["process"] = True
    return True


def uninstrument() -> None:
    """Undo ``instrument`` for the whole process (the tests, between apps)."""
    if not _state:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().uninstrument()
    if _state.get("process"):
        HTTPXClientInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
    _state["provider"].shutdown()
    _state.clear()
