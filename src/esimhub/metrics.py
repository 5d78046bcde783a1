"""Prometheus metrics: requests, latency and status by route template."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "esimhub_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "esimhub_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.limiter_failures = Counter(
            "esimhub_rate_limiter_failures_total",
            "Requests let through because the rate limiter's store (Redis) was unreachable.",
            registry=self.registry,
        )

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        template = route_template(scope)
        method = scope.get("method", "GET")
        self.requests.labels(method, template, str(status)).inc()
        self.latency.labels(method, template).observe(seconds)

    def render(self, _: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v2/sims/{iccid}/usage``), so labels stay few.

    Depending on the FastAPI version, ``scope["route"]`` of a route included under a prefix may
    hold the path without the ``/v1``/``/v2`` prefix; the prefix is taken from the request path.
    """
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    prefix = "/" + str(scope.get("path", "")).split("/")[1]
    if prefix in {"/v1", "/v2"} and not template.startswith(prefix + "/"):
        template = prefix + template
    return str(template)
