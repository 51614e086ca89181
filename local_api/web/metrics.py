"""Prometheus metrics of one gateway app, in its own ``CollectorRegistry`` (never the global one:
tests and the benchmark build several apps in one process).

Counters and the accept-latency histogram are updated by the views; gauges of state that lives
elsewhere (outbox depth, platform reachability, heartbeat age, free disk, the kiosk app's devices
and sessions) are read at scrape time by a custom collector, so they can never go stale.

The fleet's alert rules and dashboard (``deploy/prometheus/``, ``deploy/grafana/``) use these
names; ``tests/ops/test_metrics_fleet.py`` checks each one a rule uses is really exposed. The terminal's
``kiosk_id``, ``station`` and ``district`` are put on every series by Prometheus, as target labels from
the fleet inventory (``kiosk fleet targets``). No ``*_created`` series.

| metric | labels | meaning |
|---|---|---|
| ``kiosk_gateway_info`` | kiosk_id, place, version, catalog_version, settings_version | always 1: the terminal's software, catalog and settings versions (``local_api/ops/fleet_state.py``) |
| ``kiosk_gateway_in_service`` / ``_service_changed_timestamp_seconds`` | | 1 in service, 0 out; when the switch was last set (the gateway's start when never) |
| ``kiosk_gateway_clock_offset_seconds`` | | the platform's clock minus this terminal's (from its last answer's ``Date``; absent before one) |
| ``kiosk_gateway_last_session_timestamp_seconds`` | | the last resident session the app reported (the gateway's start when none since) |
| ``kiosk_gateway_auth_failures_total`` | | failed token checks |
| ``kiosk_gateway_help_requests`` / ``_help_oldest_waiting_seconds`` | state | remote help requests (open, accepted, live); how long the oldest open one has waited (the fleet's help queue) |
| ``process_*``, ``python_info`` | | prometheus_client's process and platform collectors (``process_start_time_seconds``: restart loops) |
| ``kiosk_catalog_info`` | version | always 1; the signed catalog bundle served (``packaged``: none) |
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
| ``kiosk_gateway_fast_door_requests_total`` | status | answers of the event-loop submission door (``web/fast_door.py``; also in ``kiosk_gateway_http_requests_total``) |
| ``kiosk_gateway_payments`` | state | payment orders by state (creating, created, paid, expired, cancelled, refunded, failed); no payer data |
| ``kiosk_gateway_payments_paid_yuan`` | | sum of the paid orders still on record, in yuan |
| ``kiosk_gateway_payments_oldest_unconfirmed_age_seconds`` | | oldest order still open or paid but not yet queued (0 when none) |
| ``kiosk_gateway_sample_pin_with_real_devices`` | | 1 while real hardware is configured and the maintenance PIN is the packaged sample one |
| ``kiosk_gateway_tls_cert_not_after_seconds`` | cert | when a certificate expires (Unix time): ``platform_server`` as last seen, ``platform_client`` (mutual TLS), ``gateway`` (the operators' door) |
| ``kiosk_gateway_audit_bytes`` / ``_audit_budget_bytes`` | | the audit files' size; ``gateway.audit_max_mb`` × (``audit_keep`` + 1) |
| ``kiosk_gateway_audit_oldest_record_timestamp_seconds`` / ``_audit_retention_seconds`` | | the oldest audit record kept; ``gateway.audit_retention_days`` |
| ``kiosk_gateway_audit_retention_short`` | | 1 while the audit is at its file budget and its oldest record is younger than the retention |
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kiosk import crypto
from kiosk.settings import LOCAL_OVERRIDES, Settings
from local_api.ops.audit import AuditLog
from local_api.ops.device_settings import LocalDeviceSettings
from local_api.ops.events import KioskPresence
from local_api.ops.fleet import SessionTally, device_families
from local_api.ops.fleet_state import FleetState
from local_api.ops.service_mode import ServiceSwitch
from local_api.outbox.forwarder import Forwarder
from local_api.outbox.payments import PaymentLedger
from local_api.outbox.store import Outbox

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MB = 1024 * 1024

# No ``*_created`` series: a counter's creation time doubles the fleet's series count and no rule reads it.
disable_created_metrics()


class _CertFileExpiry:
    """A PEM certificate file's expiry (Unix seconds), read again only when the file changed."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, float | None]] = {}

    def not_after(self, name: str) -> float | None:
        path = Path(name).expanduser()
        try:
            mtime = path.stat().st_mtime
            cached = self._seen.get(name)
            if cached is not None and cached[0] == mtime:
                return cached[1]
            found: float | None = crypto.certificate_not_after(path.read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("metrics: certificate %s unreadable (%s)", path, type(exc).__name__)
            return None
        self._seen[name] = (mtime, found)
        return found


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
        self.audit: AuditLog | None = None
        self.switch: ServiceSwitch | None = None
        self.fleet: FleetState | None = None
        self.started_at = time.time()
        self._certs = _CertFileExpiry()
        self._data = settings.data_path  # resolved once
        # Read at scrape time: a technician's kiosk.local.toml (or one edited by hand) counts at once.
        self._devices = LocalDeviceSettings(settings, self._data / LOCAL_OVERRIDES)

    def collect(self) -> Iterator[Metric]:
        settings = self._settings
        fleet = self.fleet
        info = GaugeMetricFamily("kiosk_gateway_info", "This terminal: kiosk id, place, software, catalog and "
                                 "settings versions", labels=["kiosk_id", "place", "version", "catalog_version",
                                                              "settings_version"])
        info.add_metric([settings.kiosk.id, settings.kiosk.place, self._version,
                         fleet.catalog_version if fleet else "unknown",
                         fleet.settings_version() if fleet else "unknown"], 1.0)
        yield info
        yield from self._fleet_families()
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
            free = float(shutil.disk_usage(self._data).free)
        except OSError:
            free = -1.0
        yield GaugeMetricFamily("kiosk_gateway_disk_free_bytes", "Free space in the data folder", value=free)
        for name, value, text in (("delivered", forwarder.delivered_total, "Submissions delivered"),
                                  ("rejected", forwarder.rejected_total, "Submissions rejected by the platform"),
                                  ("failed_attempts", forwarder.failed_attempts_total,
                                   "Delivery attempts that failed for a passing reason")):
            yield CounterMetricFamily(f"kiosk_gateway_forwarder_{name}", text, value=value)
        yield from self._tls_and_audit()

    def _fleet_families(self) -> Iterator[Metric]:
        """In or out of service, the clock offset and the last session."""
        if self.switch is not None:
            view = self.switch.state()
            yield GaugeMetricFamily("kiosk_gateway_in_service", "1 in service, 0 taken out of service by an operator "
                                    "or technician", value=1.0 if view["in_service"] else 0.0)
            yield GaugeMetricFamily("kiosk_gateway_service_changed_timestamp_seconds", "When the service switch was "
                                    "last set (Unix time; the gateway's start when never)",
                                    value=view["since"] or self.started_at)
        if self.fleet is not None and self.fleet.clock_offset_s is not None:
            yield GaugeMetricFamily("kiosk_gateway_clock_offset_seconds", "The platform's clock minus this "
                                    "terminal's, from the Date of its last answer", value=self.fleet.clock_offset_s)
        last = self._sessions.last_at
        yield GaugeMetricFamily("kiosk_gateway_last_session_timestamp_seconds", "When the kiosk app last reported "
                                "a new resident session (Unix time; the gateway's start when none since)",
                                value=last if last is not None else self.started_at)

    def _tls_and_audit(self) -> Iterator[Metric]:
        settings = self._settings
        expiry = GaugeMetricFamily("kiosk_gateway_tls_cert_not_after_seconds",
                                   "When a TLS certificate expires (Unix time): the platform's as last seen, this "
                                   "terminal's client certificate, the operators' door's", labels=["cert"])
        seen = self._forwarder.client.server_cert_not_after()
        if seen is not None:
            expiry.add_metric(["platform_server"], seen)
        for cert, name in (("platform_client", settings.platform.client_cert),
                           ("gateway", settings.gateway.tls_cert)):
            not_after = self._certs.not_after(name) if name else None
            if not_after is not None:
                expiry.add_metric([cert], not_after)
        yield expiry
        gw = settings.gateway
        yield GaugeMetricFamily("kiosk_gateway_audit_budget_bytes", "Disk budget of the audit: gateway.audit_max_mb "
                                "x (audit_keep + 1)", value=gw.audit_max_mb * MB * (gw.audit_keep + 1))
        yield GaugeMetricFamily("kiosk_gateway_audit_retention_seconds", "How long audit records are kept at least "
                                "(gateway.audit_retention_days)", value=gw.audit_retention_days * 86400.0)
        if self.audit is None:
            return
        size, oldest = self.audit.usage()
        yield GaugeMetricFamily("kiosk_gateway_audit_bytes", "Size of the audit files (audit.jsonl and rotated)",
                                value=float(size))
        if oldest is not None:
            yield GaugeMetricFamily("kiosk_gateway_audit_oldest_record_timestamp_seconds",
                                    "Unix time of the oldest audit record kept", value=oldest)
        yield GaugeMetricFamily("kiosk_gateway_audit_retention_short",
                                "1 while the audit is at its disk budget and its oldest record is younger than "
                                "gateway.audit_retention_days (records inside retention are being deleted)",
                                value=1.0 if self.audit.retention_short() else 0.0)


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


class _CatalogInfo(Collector):
    def __init__(self, version: Callable[[], str]) -> None:
        self._version = version

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("kiosk_catalog_info", "The catalog this terminal serves: its signed bundle's "
                                 "version, or packaged", labels=["version"])
        info.add_metric([self._version()], 1.0)
        yield info


class _HelpDeskState(Collector):
    """The remote help desk's requests (issue 21): how many wait for staff, are being answered or helped,
    and how long the oldest one has waited — so a fleet's helpers see every terminal's queue at once."""

    STATES = ("open", "accepted", "live")

    def __init__(self, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        requests = self._snapshot()
        count = GaugeMetricFamily("kiosk_gateway_help_requests", "Remote help requests by state: open (waiting "
                                  "for staff), accepted (asking the resident), live (being helped)",
                                  labels=["state"])
        for state in self.STATES:
            count.add_metric([state], float(sum(r["state"] == state for r in requests)))
        yield count
        waiting = [r["opened_at"] for r in requests if r["state"] == "open"]
        yield GaugeMetricFamily("kiosk_gateway_help_oldest_waiting_seconds", "How long the oldest open remote "
                                "help request has waited for staff (0: none waits)",
                                value=max(0.0, time.time() - min(waiting)) if waiting else 0.0)


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
        self.fast_door = Counter("kiosk_gateway_fast_door_requests", "Answers of the kiosk app's event-loop "
                                 "submission door, by status", ["status"], registry=self.registry)
        self.accept_seconds = Histogram("kiosk_gateway_accept_seconds", "Time to store a submission durably",
                                        buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
                                        registry=self.registry)
        self._state = _StateCollector(settings, version, outbox, forwarder, presence, self.sessions,
                                      payments)
        self.registry.register(self._state)
        # process_start_time_seconds (restart loops), memory and file descriptors; python_info.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def watch_fleet(self, switch: ServiceSwitch, fleet: FleetState, started_at: float) -> None:
        """Report the service switch, the versions, the clock offset and the last session too."""
        self._state.switch, self._state.fleet, self._state.started_at = switch, fleet, started_at

    def watch_audit(self, audit: AuditLog) -> None:
        """Report the audit's size and oldest record too."""
        self._state.audit = audit

    def watch_catalog(self, version: Callable[[], str]) -> None:
        """Expose ``kiosk_catalog_info{version}`` (the signed catalog bundle this terminal serves)."""
        self.registry.register(_CatalogInfo(version))

    def watch_helpdesk(self, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        """Expose the remote help desk's queue (``kiosk_gateway_help_requests{state}``, the oldest wait)."""
        self.registry.register(_HelpDeskState(snapshot))

    def render(self) -> bytes:
        """The Prometheus text exposition of this app's registry."""
        return generate_latest(self.registry)
