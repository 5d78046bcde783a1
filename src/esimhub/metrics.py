"""Prometheus metrics.

Two kinds. Counted in this process (each API process and worker counts its own; Prometheus adds
them up across targets): HTTP requests and latency by route template, usage polls and their
429s, limiter fallbacks, worker passes, webhook delivery lag. Read from the database when
scraped (the same figure from every process, whatever process did the work, surviving
restarts): orders and eSIMs issued, ledger debits and credits in cents, webhook deliveries by
outcome, the outbox backlog and the age of its oldest event, mail by status. Those are
sampled at most once per ``BOOKS_SECONDS``, so a scrape never costs more than a few counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import Scope

BOOKS_SECONDS = 10.0


@dataclass(frozen=True)
class Books:
    """What the database says, at one moment."""

    orders: int
    esims: int
    debited_cents: int
    credited_cents: int
    deliveries: dict[bool, int] = field(default_factory=dict)
    mail: dict[str, int] = field(default_factory=dict)
    outbox_pending: int = 0
    outbox_oldest_age_seconds: float = 0.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self.books: Books | None = None
        self.books_at = float("-inf")  # monotonic time of the last sample
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
        self.usage_polls = Counter(
            "esimhub_usage_polls_total",
            "Usage requests (GET /sims/{iccid}/usage) by outcome: answered, limited (429 of the"
            " polling limit) or refused (any other error).",
            ["outcome"],
            registry=self.registry,
        )
        self.worker_passes = Counter(
            "esimhub_worker_passes_total",
            "Passes of the worker over what is due (failed ones included).",
            ["result"],
            registry=self.registry,
        )
        self.worker_pass_seconds = Histogram(
            "esimhub_worker_pass_duration_seconds",
            "Time one worker pass took.",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.delivery_lag = Histogram(
            "esimhub_webhook_delivery_lag_seconds",
            "From an event written to the outbox to its successful delivery.",
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
        )
        self.registry.register(_BooksCollector(self))

    def observe(self, method: str, template: str, status: int, seconds: float) -> None:
        """One answered request, by its route template (``route_template``)."""
        series = self._series.get((method, template, status))
        if series is None:
            series = self._series[(method, template, status)] = self._series_of(
                method, template, status
            )
        count, latency, polls = series
        count.inc()
        latency.observe(seconds)
        if polls is not None:
            polls.inc()

    def _series_of(self, method: str, template: str, status: int) -> tuple[Any, Any, Any]:
        """The children one kind of request moves (``labels()`` looks them up under a lock)."""
        polls = None
        if template.endswith("/usage"):
            outcome = "answered" if status == 200 else "limited" if status == 429 else "refused"
            polls = self.usage_polls.labels(outcome)
        return (
            self.requests.labels(method, template, str(status)),
            self.latency.labels(method, template),
            polls,
        )

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _BooksCollector(Collector):
    """The families read from the database, from the last sample (none before the first)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        books = self.metrics.books
        if books is None:
            return
        yield CounterMetricFamily("esimhub_orders", "Orders placed.", value=books.orders)
        yield CounterMetricFamily("esimhub_esims_issued", "eSIMs sold.", value=books.esims)
        yield CounterMetricFamily(
            "esimhub_ledger_debits_cents",
            "Money taken from partner balances (orders, top-ups, vouchers, corrections), cents.",
            value=books.debited_cents,
        )
        yield CounterMetricFamily(
            "esimhub_ledger_credits_cents",
            "Money added to partner balances (prepayments, refunds, corrections), cents.",
            value=books.credited_cents,
        )
        deliveries = CounterMetricFamily(
            "esimhub_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered: the receiver answered 200).",
            labels=["outcome"],
        )
        for outcome, ok in (("delivered", True), ("failed", False)):
            deliveries.add_metric([outcome], books.deliveries.get(ok, 0))
        yield deliveries
        yield GaugeMetricFamily(
            "esimhub_outbox_pending_events",
            "Webhook events waiting to be delivered.",
            value=books.outbox_pending,
        )
        yield GaugeMetricFamily(
            "esimhub_outbox_oldest_pending_age_seconds",
            "Age of the oldest event waiting to be delivered (0 when none waits).",
            value=books.outbox_oldest_age_seconds,
        )
        mail = GaugeMetricFamily(
            "esimhub_mail_messages", "Mail to end users by status.", labels=["status"]
        )
        for status, count in sorted(books.mail.items()):
            mail.add_metric([status], count)
        yield mail


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
