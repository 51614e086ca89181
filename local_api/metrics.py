"""Prometheus metrics of one gateway app, in its own ``CollectorRegistry`` (never the global one:
tests and the benchmark build several apps in one process).

Counters and the accept-latency histogram are updated by the views; gauges of state that lives
elsewhere (outbox depth, platform reachability, heartbeat age, free disk) are read at scrape time
by a custom collector, so they can never go stale.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from local_api.app import GatewayServices

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StateCollector(Collector):
    """Gauges read from the services at scrape time."""

    def __init__(self, services: GatewayServices, data_dir: Callable[[], Any]) -> None:
        self._services = services
        self._data_dir = data_dir

    def collect(self) -> Iterator[Any]:
        services = self._services
        depth = GaugeMetricFamily("kiosk_gateway_outbox_submissions", "Submissions in the outbox by state",
                                  labels=["state"])
        oldest = GaugeMetricFamily("kiosk_gateway_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest undelivered submission (0 when none)")
        try:
            for state, n in services.outbox.counts().items():
                depth.add_metric([state], n)
            first = services.outbox.oldest_pending_accepted_at()
            oldest.add_metric([], 0.0 if first is None else max(0.0, time.time() - first))
        except Exception as exc:  # a scrape must still answer when the outbox cannot be read
            log.warning("metrics: outbox unreadable (%s)", type(exc).__name__)
        yield depth
        yield oldest
        platform = services.forwarder.status.snapshot()
        yield GaugeMetricFamily("kiosk_gateway_platform_reachable", "1 when the platform answered last time",
                                value=1.0 if platform["reachable"] else 0.0)
        yield GaugeMetricFamily("kiosk_gateway_breaker_open", "1 while the circuit breaker is open or half-open",
                                value=0.0 if platform["breaker"] == "closed" else 1.0)
        age = services.presence.age_s()
        yield GaugeMetricFamily("kiosk_gateway_heartbeat_age_seconds",
                                "Seconds since the kiosk app's last heartbeat (-1: none yet)",
                                value=-1.0 if age is None else age)
        try:
            free = float(shutil.disk_usage(self._data_dir()).free)
        except OSError:
            free = -1.0
        yield GaugeMetricFamily("kiosk_gateway_disk_free_bytes", "Free space in the data folder", value=free)
        forwarder = services.forwarder
        for name, value, text in (("delivered", forwarder.delivered_total, "Submissions delivered"),
                                  ("rejected", forwarder.rejected_total, "Submissions rejected by the platform"),
                                  ("failed_attempts", forwarder.failed_attempts_total,
                                   "Delivery attempts that failed for a passing reason")):
            yield CounterMetricFamily(f"kiosk_gateway_forwarder_{name}", text, value=value)


class GatewayMetrics:
    """The metrics of one app: counters the views bump and the scrape-time collector."""

    def __init__(self, services: GatewayServices, data_dir: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("kiosk_gateway_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.accepted = Counter("kiosk_gateway_submissions_accepted", "Submissions accepted into the outbox",
                                ["kind"], registry=self.registry)
        self.refused = Counter("kiosk_gateway_submissions_refused", "Submissions refused before storing",
                               ["reason"], registry=self.registry)
        self.auth_failures = Counter("kiosk_gateway_auth_failures", "Failed token checks", registry=self.registry)
        self.accept_seconds = Histogram("kiosk_gateway_accept_seconds", "Time to store a submission durably",
                                        buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
                                        registry=self.registry)
        self.registry.register(_StateCollector(services, data_dir))

    def render(self) -> bytes:
        """The Prometheus text exposition of this app's registry."""
        return generate_latest(self.registry)
