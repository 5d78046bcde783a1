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

import itertools
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
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
        # (method, route template, status) → what requests of that kind added up to
        self._series: dict[tuple[str, str, int], _RequestSeries] = {}
        self.books: Books | None = None
        self.books_at = float("-inf")  # monotonic time of the last sample
        self.limiter_failures = Counter(
            "esimhub_rate_limiter_failures_total",
            "Requests let through because the rate limiter's store (Redis) was unreachable.",
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
        self.registry.register(_RequestsCollector(self))
        self.registry.register(_BooksCollector(self))

    def observe(self, method: str, template: str, status: int, seconds: float) -> None:
        """One answered request, by its route template (``route_template``): plain additions on
        every request, turned into Prometheus families only when scraped."""
        series = self._series.get((method, template, status))
        if series is None:
            series = self._series[(method, template, status)] = _RequestSeries()
        series.count += 1
        series.seconds += seconds
        series.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


@dataclass
class _RequestSeries:
    count: int = 0
    seconds: float = 0.0
    # requests per latency bucket (each up to its bound, the last one past every bound)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))


def _poll_outcome(status: int) -> str:
    return "answered" if status == 200 else "limited" if status == 429 else "refused"


class _RequestsCollector(Collector):
    """The request families, from the counts ``Metrics.observe`` keeps."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        series = dict(self.metrics._series)  # observe may add a kind while this runs
        requests = CounterMetricFamily(
            "esimhub_http_requests",
            "HTTP requests by method, route template and status code.",
            labels=["method", "route", "status"],
        )
        latency = HistogramMetricFamily(
            "esimhub_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            labels=["method", "route"],
        )
        polls = CounterMetricFamily(
            "esimhub_usage_polls",
            "Usage requests (GET /sims/{iccid}/usage) by outcome: answered, limited (429 of the"
            " polling limit) or refused (any other error).",
            labels=["outcome"],
        )
        by_route: dict[tuple[str, str], _RequestSeries] = {}
        outcomes: dict[str, int] = {}
        for (method, template, status), kind in sorted(series.items()):
            requests.add_metric([method, template, str(status)], kind.count)
            route = by_route.setdefault((method, template), _RequestSeries())
            route.count += kind.count
            route.seconds += kind.seconds
            route.buckets = [a + b for a, b in zip(route.buckets, kind.buckets, strict=True)]
            if template.endswith("/usage"):
                outcome = _poll_outcome(status)
                outcomes[outcome] = outcomes.get(outcome, 0) + kind.count
        for (method, template), route in by_route.items():
            bounds = [*(str(float(b)) for b in LATENCY_BUCKETS), "+Inf"]
            cumulative = list(itertools.accumulate(route.buckets))
            latency.add_metric(
                [method, template], list(zip(bounds, cumulative, strict=True)), route.seconds
            )
        for outcome in sorted(outcomes):
            polls.add_metric([outcome], outcomes[outcome])
        yield requests
        yield latency
        yield polls


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
