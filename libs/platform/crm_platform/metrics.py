"""Prometheus metrics named ``crm_<service>_<what>_<unit>``; multiprocess-safe under gunicorn."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from crm_platform.db import Database

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTBOX_CACHE_SECONDS = 5.0


class ServiceMetrics:
    """The platform's metrics for one service; services add their own business counters with ``counter``."""

    def __init__(self, service: str) -> None:
        self.service = service
        p = f"crm_{service}"
        self.http_requests = Counter(f"{p}_http_requests_total", "HTTP requests.", ["method", "route", "status"])
        self.http_latency = Histogram(
            f"{p}_http_request_duration_seconds", "HTTP request latency.", ["method", "route"], buckets=LATENCY_BUCKETS
        )
        self.grpc_requests = Counter(f"{p}_grpc_requests_total", "gRPC requests served.", ["method", "code"])
        self.grpc_latency = Histogram(
            f"{p}_grpc_request_duration_seconds", "gRPC request latency.", ["method"], buckets=LATENCY_BUCKETS
        )
        self.events_published = Counter(f"{p}_events_published_total", "Events published from the outbox.", ["type"])
        self.events_unroutable = Counter(
            f"{p}_events_unroutable_total", "Events published that no queue was bound to.", ["type"]
        )
        self.events_consumed = Counter(f"{p}_events_consumed_total", "Events handled successfully.", ["type"])
        self.events_duplicate = Counter(
            f"{p}_events_duplicate_total", "Deliveries of events this service had already handled.", ["type"]
        )
        self.events_retried = Counter(
            f"{p}_events_retried_total", "Event deliveries that failed and will be retried.", ["type"]
        )
        self.events_dead_lettered = Counter(
            f"{p}_events_dead_lettered_total", "Events parked in the dead-letter queue.", ["type"]
        )
        self._custom: dict[str, Counter] = {}

    def counter(self, what: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        """A business counter ``crm_<service>_<what>``, created once per process."""
        if what not in self._custom:
            self._custom[what] = Counter(f"crm_{self.service}_{what}", documentation, list(labels))
        return self._custom[what]

    def start_event_counters(self, event_types: Iterable[str]) -> None:
        """Export 0 for each consumed type at start, so an alert's ``increase`` sees the first dead letter."""
        for event_type in event_types:
            for counter in (
                self.events_consumed,
                self.events_duplicate,
                self.events_retried,
                self.events_dead_lettered,
            ):
                counter.labels(event_type)

    # bus.Observer
    def on_consumed(self, event_type: str) -> None:
        self.events_consumed.labels(event_type).inc()

    def on_retried(self, event_type: str) -> None:
        self.events_retried.labels(event_type).inc()

    def on_dead_lettered(self, event_type: str) -> None:
        self.events_dead_lettered.labels(event_type).inc()


@functools.cache
def for_service(service: str) -> ServiceMetrics:
    return ServiceMetrics(service)


class OutboxCollector:
    """``crm_<service>_outbox_lag_seconds`` and ``_outbox_pending_events``, read from the outbox table at scrape.

    Measured where the rows are, so every process of a service (HTTP, gRPC, worker) reports the same
    lag, and it keeps growing while the worker that relays the rows is down. One query on the
    partial index of unpublished rows, cached a few seconds; a database that cannot answer leaves the
    samples out (readiness reports the database).
    """

    def __init__(self) -> None:
        self._databases: dict[str, Database] = {}
        self._cache: dict[str, tuple[float, float, int]] = {}
        self._lock = threading.Lock()

    def watch(self, service: str, database: Database) -> None:
        with self._lock:
            self._databases[service] = database  # the latest runtime of a service wins (tests build several)
            self._cache.pop(service, None)

    def describe(self) -> list[Metric]:
        return []  # no collect() at registration: that would query the database at import

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            watched = dict(self._databases)
        for service, database in sorted(watched.items()):
            measured = self._measure(service, database)
            if measured is None:
                continue
            lag, pending = measured
            yield GaugeMetricFamily(
                f"crm_{service}_outbox_lag_seconds", "Age of the oldest unpublished outbox event.", value=lag
            )
            yield GaugeMetricFamily(
                f"crm_{service}_outbox_pending_events", "Outbox events not yet published.", value=pending
            )

    def _measure(self, service: str, database: Database) -> tuple[float, int] | None:
        now = time.monotonic()
        cached = self._cache.get(service)
        if cached is not None and now - cached[0] < OUTBOX_CACHE_SECONDS:
            return cached[1], cached[2]
        try:
            lag, pending = database.outbox_backlog()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even when the database does not
            log.warning("outbox of %s unreadable for metrics: %r", service, exc)
            return None
        self._cache[service] = (now, lag, pending)
        return lag, pending


OUTBOX = OutboxCollector()
REGISTRY.register(OUTBOX)  # type: ignore[arg-type]


def exposition() -> tuple[bytes, str]:
    """The text format of every metric of this process, or of all gunicorn workers in multiprocess mode.

    In multiprocess mode the outbox gauges come from the worker answering the scrape, read at scrape
    time: a per-process gauge file would keep a dead worker's stale value.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(OUTBOX)  # type: ignore[arg-type]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
