"""``create_app()``: the ASGI application with its middleware, error handlers and routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esimhub import __version__, db, telemetry, tracing
from esimhub.admin.routes import router as admin_router
from esimhub.auth.routes import answer_token_at_edge
from esimhub.auth.routes import router as auth_router
from esimhub.catalogue.routes import answer_packages_at_edge
from esimhub.catalogue.routes import router as catalogue_router
from esimhub.config import Settings, get_settings
from esimhub.errors import (
    NotFound,
    ValidationFailed,
    install_error_handlers,
    render,
    unexpected_body,
)
from esimhub.esims.routes import public_router as qr_router
from esimhub.esims.routes import router as esims_router
from esimhub.kit import logs
from esimhub.kit.clock import Clock
from esimhub.kit.forms import nul_in_query
from esimhub.ledger.routes import router as ledger_router
from esimhub.limits import rate_limit_headers
from esimhub.metrics import route_template
from esimhub.notifications.routes import router as notifications_router
from esimhub.orders.routes import router as orders_router
from esimhub.refunds.routes import router as refunds_router
from esimhub.runtime import Runtime
from esimhub.scheduling.routes import router as scheduling_router
from esimhub.simulator.routes import router as simulator_router
from esimhub.topups.routes import router as topups_router
from esimhub.usage.routes import answer_usage_at_edge
from esimhub.usage.routes import router as usage_router
from esimhub.vouchers.routes import router as vouchers_router
from esimhub.web import docs
from esimhub.web.images import router as images_router
from esimhub.web.share import router as share_router
from esimhub.worker import Worker

log = logging.getLogger("esimhub")
access = logging.getLogger("esimhub.access")
# Health probes and the metrics scrape: no clock sync before them (a probe answers even from a
# database that cannot serve, to say so) and no log line for each.
PROBES = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
GC_THRESHOLD = 20_000

DESCRIPTION = """\
A partner API wire-compatible with the Airalo Partner API (v2, and the deprecated v1).
Point an Airalo client at this host: request a token with `POST /v2/token`, then send it as
`Authorization: Bearer <token>`.
"""

# Deprecated v1 operations (reference §4): the same handlers under /v1.
V1_PATHS = {
    "/token",
    "/packages",
    "/compatible-devices",
    "/orders",
    "/orders/{order_id}",
    "/orders/topups",
    "/sims",
    "/sims/{sim_iccid}",
    "/sims/{iccid}/topups",
    "/sims/{iccid}/packages",
    "/sims/{sim_iccid}/usage",
    "/notifications/opt-in",
    "/notifications/opt-out",
    "/sims/{sim_iccid}/instructions",  # both in Airalo's deprecated menu
    "/simulator/webhook",
}
PARTNER_ROUTERS = (
    auth_router,
    catalogue_router,
    orders_router,
    topups_router,
    vouchers_router,
    refunds_router,
    ledger_router,
    scheduling_router,
    esims_router,
    usage_router,
    notifications_router,
    simulator_router,
)


def _v1_router() -> APIRouter:
    router = APIRouter()
    for source in PARTNER_ROUTERS:
        for route in source.routes:
            if getattr(route, "path", None) in V1_PATHS:
                router.routes.append(route)
    return router


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = Runtime.create(settings, clock)
    redis = runtime.redis

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = Worker(runtime) if settings.embedded_worker else None
        task = asyncio.create_task(worker.run_forever()) if worker else None
        yield
        if task is not None and worker is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await worker.aclose()
        await runtime.aclose()

    app = PartnerAPI(
        title="esimhub partner API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # tracing is esimhub's own (``tracing``, when OTEL_* asks for it); FastAPI's native
        # telemetry would otherwise look up the global providers on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served by ``web.docs``, without a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.redis = redis
    install_error_handlers(app)

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        # the Edge answers the app's own failures; this is for a failure of the Edge itself
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(unexpected_body(), status_code=500)

    app.add_exception_handler(Exception, on_unexpected)

    v2 = APIRouter(prefix="/v2")
    for router in PARTNER_ROUTERS:
        v2.include_router(router)
    app.include_router(v2)
    app.include_router(_v1_router(), prefix="/v1", deprecated=True)
    # the admin API exists only with its token set: without it, it is not described either
    app.include_router(admin_router, include_in_schema=settings.admin_token is not None)
    app.include_router(images_router)
    app.include_router(qr_router)
    app.include_router(share_router)

    @app.get("/livez", include_in_schema=False)
    async def livez() -> Response:
        """The process is up and its event loop answers."""
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz() -> Response:
        """Ready to serve: the database reachable and migrated to this code's revision (else
        503). Redis, when configured, is reported but never fails readiness: without it the
        limiter falls back (``ESIMHUB_RATE_LIMIT_FALLBACK``) and the API keeps serving."""
        problem = await db.readiness(runtime.engine)
        body: dict[str, Any] = {
            "status": "ok" if problem is None else "unavailable",
            "version": __version__,
            "database": problem or "ok",
        }
        if redis is None:
            body["redis"] = "not configured"
        else:
            try:
                await redis.ping()
                body["redis"] = "ok"
            except Exception as exc:  # a health check reports every failure, whatever its type
                body["redis"] = f"degraded ({exc.__class__.__name__}): limits counted per process"
                if problem is None:
                    body["status"] = "degraded"
        return JSONResponse(body, status_code=200 if problem is None else 503)

    app.add_api_route("/readyz", readyz, include_in_schema=False)
    app.add_api_route("/healthz", readyz, include_in_schema=False)  # the name before /readyz

    app.add_api_route("/metrics", telemetry.metrics, include_in_schema=False)
    docs.install(app)
    tracing.instrument(app=app, engine=runtime.engine)
    return app


class PartnerAPI(FastAPI):
    """FastAPI with the Edge right inside Starlette's outermost error layer (which tracing
    instruments), before FastAPI's own telemetry and body-limit layers: the requests the Edge
    answers itself pass through no other layer."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        assert isinstance(stack, ServerErrorMiddleware)
        stack.app = Edge(stack.app, runtime=self.state.runtime)
        return stack


class Edge:
    """Pure ASGI, one layer around every request (each layer costs every request a call and a
    ``send`` wrapper): the request id (``X-Request-Id``, accepted or made, returned, and in the
    context of everything the request logs or emits), the sandbox clock brought into step with
    the stored one before the request reads it, ``X-RateLimit-*`` headers on limited routes, the
    request metrics and the request's log line; and the body cap: a body over
    ``ESIMHUB_MAX_BODY_BYTES`` (``ESIMHUB_ADMIN_MAX_BODY_BYTES`` on /admin) answers 413 before
    authentication, unread when its length is declared, and cut off as it arrives when not.
    The hottest paths (``EDGE_ANSWERS``: usage polls, the catalogue, tokens) are answered here by
    their areas, without the router; every other request goes on to the app."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.clock_sync = runtime.settings.clock_control_enabled
        self.access_log = runtime.settings.access_log
        self.max_body = runtime.settings.max_body_bytes
        self.admin_max_body = runtime.settings.admin_max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        started = finished = False
        sent_id = length = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                sent_id = value
            elif key == b"content-length":
                length = value
        rid = logs.accept_request_id(sent_id.decode("latin-1") if sent_id is not None else None)
        context = logs.request_id.set(rid)
        limit = self.admin_max_body if scope["path"].startswith("/admin/") else self.max_body
        too_large = length is not None and (not length.isdigit() or int(length) > limit)
        refusal = (
            _nul_refusal(scope)
            if b"%00" in scope["query_string"] or "\x00" in scope["path"]
            else None
        )
        if self.clock_sync and scope["path"] not in PROBES and not too_large:
            await self.runtime.clock_sync.refresh()

        async def edge_send(message: Message) -> None:
            nonlocal status, started, finished
            if too_large:  # whatever the app answers to the body cut off, the client gets 413
                if message["type"] == "http.response.start":
                    status = 413
                    await _too_large(send, limit, rid)
                return
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                if status != 429:
                    headers.extend(rate_limit_headers(scope))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        received = 0

        async def capped_receive() -> Message:
            """A body without a declared length, counted as it arrives: past the cap the app
            sees the client gone (and answers nothing that is sent)."""
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        try:
            if too_large:
                status = 413
                await _too_large(send, limit, rid)
            elif refusal is not None:
                await refusal(scope, receive, edge_send)
            else:
                app_receive = receive if length is not None else capped_receive
                if not await self.answered_at_edge(scope, app_receive, edge_send):
                    await self.app(scope, app_receive, edge_send)
        except Exception:
            log.exception("unhandled error")
            if finished:  # the whole answer is out (a failure after it: a background task)
                return
            if started:  # half an answer is out: all that is left is to drop the connection
                raise
            await _unexpected(edge_send)
        finally:
            seconds = time.perf_counter() - began
            template = route_template(scope)
            self.runtime.metrics.observe(scope["method"], template, status, seconds)
            if (
                self.access_log
                and scope["path"] not in PROBES
                and access.isEnabledFor(logging.INFO)
            ):
                access.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client_id": scope.get("state", {}).get("client_id"),
                    },
                )
            logs.request_id.reset(context)

    @staticmethod
    async def answered_at_edge(scope: Scope, receive: Receive, send: Send) -> bool:
        for answer in EDGE_ANSWERS:
            if await answer(scope, receive, send):
                return True
        return False


# The hottest paths, answered by their areas without the router (each says when it answers).
EDGE_ANSWERS = (answer_usage_at_edge, answer_packages_at_edge, answer_token_at_edge)


def _nul_refusal(scope: Scope) -> Response | None:
    """A NUL in the path names nothing (404); in a query parameter it is refused (422), before
    any route reads it (PostgreSQL cannot compare text with it)."""
    if "\x00" in scope["path"]:
        return render(NotFound())
    refused = nul_in_query(scope["query_string"])
    return render(ValidationFailed(refused)) if refused else None


async def _unexpected(send: Send) -> None:
    await _send_json(send, 500, unexpected_body())


async def _too_large(send: Send, limit: int, rid: str) -> None:
    body = {"data": [], "meta": {"message": f"The request body is larger than {limit} bytes."}}
    await _send_json(send, 413, body, (b"connection", b"close"), (b"x-request-id", rid.encode()))


async def _send_json(send: Send, status: int, body: Any, *headers: tuple[bytes, bytes]) -> None:
    """A whole JSON answer, written by the Edge itself (outside any route)."""
    content = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": status, "headers": [*head, *headers]})
    await send({"type": "http.response.body", "body": content})


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn must serve the app: forwarded headers only from trusted proxies."""
    trusted = settings.forwarded_allow_ips
    return {
        "proxy_headers": trusted is not None,
        "forwarded_allow_ips": trusted or "",
        "access_log": False,  # the Edge logs each request, with more to say
        "timeout_keep_alive": settings.keep_alive_seconds,
        "log_config": None,  # logging is set up by ``kit.logs.configure``
    }


def served_app() -> FastAPI:
    """The app of one ``esimhub serve --workers N`` process (uvicorn calls it in each)."""
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_style)
    app = create_app(settings)
    settle_heap()
    return app


def settle_heap() -> None:
    """Before serving: what start-up allocated (modules, the app, the catalogue) is moved out of
    the collector's sight, and young collections run less often. A request allocates a few
    thousand short-lived objects; at the default threshold (700) the collector ran several times
    per request, and its full passes over the start-up heap stalled requests (p99)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
