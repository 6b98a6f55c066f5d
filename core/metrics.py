"""Prometheus metrics: one registry per process, aggregated across workers when PROMETHEUS_MULTIPROC_DIR is set.

prometheus-client picks its multiprocess value store from PROMETHEUS_MULTIPROC_DIR at import time, so the
variable must be set before the service starts (it is inherited by every uvicorn worker and by the scheduler).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter(
    "pension_cert_http_requests_total", "HTTP requests by route template and status.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "pension_cert_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30),
)
FACE_DECISIONS = Counter(
    "pension_cert_face_decisions_total",
    "Face and certification decisions by kind (counter_verify, app_certification, enrol) and outcome.",
    ["kind", "decision"],
)
SWEEP_DURATION = Histogram(
    "pension_cert_sweep_duration_seconds",
    "Duration of scheduler sweeps.",
    ["sweep", "result"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, if configured."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def face_decision(kind: str, decision: str) -> None:
    """Count one face or certification decision."""
    FACE_DECISIONS.labels(kind=kind, decision=decision).inc()


@contextmanager
def timed_sweep(name: str) -> Iterator[None]:
    """Observe a sweep's duration, labelled ok or error."""
    start = time.perf_counter()
    result = "error"
    try:
        yield
        result = "ok"
    finally:
        SWEEP_DURATION.labels(sweep=name, result=result).observe(time.perf_counter() - start)


class ScrapeGauges(Collector):
    """Gauges computed at scrape time (database counts), so every worker reports the same figure."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Yield one gauge per value; nothing when the database cannot be read."""
        try:
            values = self._read()
        except Exception:
            return
        for name, value in values.items():
            yield GaugeMetricFamily(name, _GAUGE_HELP.get(name, name), value=value)


_GAUGE_HELP = {
    "pension_cert_outbox_pending": "Notifications waiting in the outbox (status pending).",
    "pension_cert_outbox_failed": "Notifications that gave up after the last attempt.",
}


def render(extra: Collector | None = None) -> bytes:
    """The exposition text: this process's metrics (every worker's in multiprocess mode), plus `extra`."""
    from prometheus_client import REGISTRY

    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if extra is not None:
        scrape = CollectorRegistry()
        scrape.register(extra)
        text += generate_latest(scrape)
    return text
