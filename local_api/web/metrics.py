"""Prometheus metrics of one gateway app, in its own ``CollectorRegistry`` (never the global one:
tests and the benchmark build several apps in one process).

Counters and the accept-latency histogram are updated by the views; gauges of state that lives
elsewhere (outbox depth, platform reachability, heartbeat age, free disk, the kiosk app's devices
and sessions) are read at scrape time by a custom collector, so they can never go stale.

The fleet's alert rules and dashboard (``deploy/prometheus/``, ``deploy/grafana/``) use these
names; ``tests/ops/test_metrics_fleet.py`` checks each one a rule uses is really exposed.

| metric | labels | meaning |
|---|---|---|
| ``kiosk_gateway_info`` | kiosk_id, place, version | always 1; joins a terminal's id onto alerts |
| ``kiosk_gateway_device_state`` | device, state | 1 for the state the app last reported, 0 for the other five; one device per configured id_reader, printer, ssc_reader, camera, document_camera, qr_camera |
| ``kiosk_gateway_printer_paper`` | device, level | 1 for the paper level (ok, low, out, unknown), 0 for the others |
| ``kiosk_gateway_device_operations_total`` / ``_errors_total`` | device | the device's counters since the app started |
| ``kiosk_gateway_heartbeat_age_seconds`` | | since the app's last heartbeat; -1 before the first |
| ``kiosk_gateway_heartbeat_stale_seconds`` | | ``gateway.heartbeat_stale_s`` |
| ``kiosk_gateway_outbox_submissions`` | state | rows in the outbox by state |
| ``kiosk_gateway_outbox_oldest_pending_age_seconds`` | | oldest undelivered submission (0 when none) |
| ``kiosk_gateway_forwarder_delivered_total`` / ``_rejected_total`` / ``_failed_attempts_total`` | | deliveries |
| ``kiosk_gateway_platform_reachable`` / ``kiosk_gateway_breaker_open`` | | the platform link |
| ``kiosk_gateway_disk_free_bytes`` / ``kiosk_gateway_disk_min_free_bytes`` | | the data folder's disk |
| ``kiosk_gateway_sessions_total`` | item_kind, outcome | residents' sessions (from the app's heartbeats) |
| ``kiosk_gateway_ratings_total`` | level | 好差评 ratings stored (1 = 非常满意 … 5 = 非常不满意) |
| ``kiosk_gateway_submissions_accepted_total`` / ``_refused_total`` | kind / reason | the kiosk door |
| ``kiosk_gateway_payments`` | state | payment orders by state (creating, created, paid, expired, cancelled, refunded, failed); no payer data |
| ``kiosk_gateway_payments_paid_yuan`` | | sum of the paid orders still on record, in yuan |
| ``kiosk_gateway_payments_oldest_unconfirmed_age_seconds`` | | oldest order still open or paid but not yet queued (0 when none) |
| ``kiosk_gateway_sample_pin_with_real_devices`` | | 1 while real hardware is configured and the maintenance PIN is the packaged sample one |
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kiosk.settings import LOCAL_OVERRIDES, Settings
from local_api.ops.device_settings import LocalDeviceSettings
from local_api.ops.events import KioskPresence
from local_api.ops.fleet import SessionTally, device_families
from local_api.outbox.forwarder import Forwarder
from local_api.outbox.payments import PaymentLedger
from local_api.outbox.store import Outbox

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MB = 1024 * 1024


class _StateCollector(Collector):
    """Gauges read from the gateway's state at scrape time."""

    def __init__(self, settings: Settings, version: str, outbox: Outbox, forwarder: Forwarder,
                 presence: KioskPresence, sessions: SessionTally, payments: PaymentLedger | None = None) -> None:
        self._settings = settings
        self._payments = payments
        self._version = version
        self._outbox = outbox
        self._forwarder = forwarder
        self._presence = presence
        self._sessions = sessions
        # Read at scrape time: a technician's kiosk.local.toml (or one edited by hand) counts at once.
        self._devices = LocalDeviceSettings(settings, settings.data_path / LOCAL_OVERRIDES)

    def collect(self) -> Iterator[Metric]:
        settings = self._settings
        info = GaugeMetricFamily("kiosk_gateway_info", "This terminal: kiosk id, place and software version",
                                 labels=["kiosk_id", "place", "version"])
        info.add_metric([settings.kiosk.id, settings.kiosk.place, self._version], 1.0)
        yield info
        yield GaugeMetricFamily("kiosk_gateway_disk_min_free_bytes",
                                "Free space the data folder must keep (gateway.min_free_mb); below it new "
                                "submissions are refused", value=settings.gateway.min_free_mb * MB)
        yield GaugeMetricFamily("kiosk_gateway_heartbeat_stale_seconds",
                                "Heartbeat age above which the kiosk app counts as gone (gateway.heartbeat_stale_s)",
                                value=float(settings.gateway.heartbeat_stale_s))
        depth = GaugeMetricFamily("kiosk_gateway_outbox_submissions", "Submissions in the outbox by state",
                                  labels=["state"])
        oldest = GaugeMetricFamily("kiosk_gateway_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest undelivered submission (0 when none)")
        try:
            for state, n in self._outbox.counts().items():
                depth.add_metric([state], n)
            first = self._outbox.oldest_pending_accepted_at()
            oldest.add_metric([], 0.0 if first is None else max(0.0, time.time() - first))
        except Exception as exc:  # noqa: BLE001 - a scrape must still answer when the outbox cannot be read
            log.warning("metrics: outbox unreadable (%s)", type(exc).__name__)
        yield depth
        yield oldest
        yield from self._payment_families()
        forwarder = self._forwarder
        platform = forwarder.status.snapshot()
        yield GaugeMetricFamily("kiosk_gateway_platform_reachable", "1 when the platform answered last time",
                                value=1.0 if platform["reachable"] else 0.0)
        yield GaugeMetricFamily("kiosk_gateway_breaker_open", "1 while the circuit breaker is open or half-open",
                                value=0.0 if platform["breaker"] == "closed" else 1.0)
        age = self._presence.age_s()
        yield GaugeMetricFamily("kiosk_gateway_heartbeat_age_seconds",
                                "Seconds since the kiosk app's last heartbeat (-1: none yet)",
                                value=-1.0 if age is None else age)
        yield from device_families(self._presence.snapshot()["devices"])
        try:
            sample_pin = 1.0 if self._devices.real_devices_with_sample_pin() else 0.0
        except Exception as exc:  # noqa: BLE001 - a scrape must still answer when the settings cannot be read
            log.warning("metrics: device settings unreadable (%s)", type(exc).__name__)
            sample_pin = 0.0
        yield GaugeMetricFamily("kiosk_gateway_sample_pin_with_real_devices",
                                "1 while real hardware is configured and the maintenance PIN is still the packaged "
                                "sample one (anyone who read the manual can open maintenance mode)", value=sample_pin)
        yield self._sessions.family()
        try:
            free = float(shutil.disk_usage(settings.data_path).free)
        except OSError:
            free = -1.0
        yield GaugeMetricFamily("kiosk_gateway_disk_free_bytes", "Free space in the data folder", value=free)
        for name, value, text in (("delivered", forwarder.delivered_total, "Submissions delivered"),
                                  ("rejected", forwarder.rejected_total, "Submissions rejected by the platform"),
                                  ("failed_attempts", forwarder.failed_attempts_total,
                                   "Delivery attempts that failed for a passing reason")):
            yield CounterMetricFamily(f"kiosk_gateway_forwarder_{name}", text, value=value)


    def _payment_families(self) -> Iterator[Metric]:
        orders = GaugeMetricFamily("kiosk_gateway_payments", "Payment orders by state (no payer data)",
                                   labels=["state"])
        paid = GaugeMetricFamily("kiosk_gateway_payments_paid_yuan", "Sum of paid orders on record, in yuan")
        oldest = GaugeMetricFamily("kiosk_gateway_payments_oldest_unconfirmed_age_seconds",
                                   "Age of the oldest order still open, or paid but not yet queued (0 when none)")
        if self._payments is not None:
            try:
                summary = self._payments.summary()
                for state, n in summary["counts"].items():
                    orders.add_metric([state], n)
                paid.add_metric([], float(summary["paid_amount"]))
                oldest.add_metric([], summary["oldest_unconfirmed_s"] or 0.0)
            except Exception as exc:  # noqa: BLE001 - a scrape must still answer when the outbox cannot be read
                log.warning("metrics: payments unreadable (%s)", type(exc).__name__)
        yield orders
        yield paid
        yield oldest


class GatewayMetrics:
    """The metrics of one app: counters the views bump and the scrape-time collector."""

    def __init__(self, settings: Settings, version: str, outbox: Outbox, forwarder: Forwarder,
                 presence: KioskPresence, payments: PaymentLedger | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.sessions = SessionTally()
        """Residents' sessions as the kiosk app's heartbeats report them."""
        self.ratings = Counter("kiosk_gateway_ratings", "好差评 ratings stored, by GB/T 39046 level "
                               "(1 = 非常满意 … 5 = 非常不满意)", ["level"], registry=self.registry)
        for level in "12345":  # exposed as 0 from the start, so the first rating shows in increase()
            self.ratings.labels(level)
        self.requests = Counter("kiosk_gateway_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.accepted = Counter("kiosk_gateway_submissions_accepted", "Submissions accepted into the outbox",
                                ["kind"], registry=self.registry)
        self.refused = Counter("kiosk_gateway_submissions_refused", "Submissions refused before storing",
                               ["reason"], registry=self.registry)
        self.payments = Counter("kiosk_gateway_payment_events", "Payment orders made and state changes heard "
                                "from the payment platform, by the state reached", ["state"], registry=self.registry)
        self.auth_failures = Counter("kiosk_gateway_auth_failures", "Failed token checks", registry=self.registry)
        self.accept_seconds = Histogram("kiosk_gateway_accept_seconds", "Time to store a submission durably",
                                        buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
                                        registry=self.registry)
        self.registry.register(_StateCollector(settings, version, outbox, forwarder, presence, self.sessions,
                                               payments))

    def render(self) -> bytes:
        """The Prometheus text exposition of this app's registry."""
        return generate_latest(self.registry)
