"""Prometheus metrics named ``crm_<service>_<what>_<unit>``; multiprocess-safe under gunicorn."""

from __future__ import annotations

import functools
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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
        self.events_retried = Counter(
            f"{p}_events_retried_total", "Event deliveries that failed and will be retried.", ["type"]
        )
        self.events_dead_lettered = Counter(
            f"{p}_events_dead_lettered_total", "Events parked in the dead-letter queue.", ["type"]
        )
        self.outbox_lag = Gauge(
            f"{p}_outbox_lag_seconds", "Age of the oldest unpublished outbox event.", multiprocess_mode="max"
        )
        self.outbox_pending = Gauge(
            f"{p}_outbox_pending_events", "Outbox events not yet published.", multiprocess_mode="max"
        )
        self._custom: dict[str, Counter] = {}

    def counter(self, what: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        """A business counter ``crm_<service>_<what>``, created once per process."""
        if what not in self._custom:
            self._custom[what] = Counter(f"crm_{self.service}_{what}", documentation, list(labels))
        return self._custom[what]

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


def exposition() -> tuple[bytes, str]:
    """The text format of every metric of this process, or of all gunicorn workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
