"""Everything the gateway's views use, in one typed object (:class:`GatewayServices`).

``local_api.server`` builds it around the settings (the caller owns it and stops what it started);
the app factory keeps it in the app's one extension slot, and a view reaches it with
:func:`services`, never through module globals, so tests and the server each build apps with
services of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from kiosk.settings import Settings
from local_api.files import FreeSpace
from local_api.link.client import PlatformClient
from local_api.ops.audit import AUDIT_FILE_NAME, AuditLog
from local_api.ops.device_settings import LOCAL_SETTINGS_FILE_NAME, LocalDeviceSettings
from local_api.ops.events import EventLog, KioskPresence
from local_api.ops.fleet_state import FleetState
from local_api.ops.screen_frame import ScreenFrame
from local_api.ops.service_mode import SERVICE_FILE_NAME, ServiceSwitch
from local_api.outbox.forwarder import Forwarder
from local_api.outbox.payments import PaymentLedger, PaymentWatcher
from local_api.outbox.store import Outbox
from local_api.web.credentials import TOTP_FILE_NAME, ConsoleSessions, TokenStore, TotpStore
from local_api.web.metrics import GatewayMetrics

EXTENSION_KEY = "kiosk"


def _version() -> str:
    try:
        return version("gov-kiosk")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


@dataclass
class GatewayServices:
    """The gateway's runtime objects. The first fields are given; the rest are built from them and
    the settings (files in ``settings.data_path``) when the object is made."""

    settings: Settings
    outbox: Outbox
    forwarder: Forwarder
    platform: PlatformClient
    """Client for the platform (the forwarder has its own, so a slow delivery holds no online call)."""
    started_at: float = field(default_factory=time.time)
    proxy: PlatformClient | None = None
    """Client for online-only calls (short timeout); ``platform`` when None."""
    tokens: TokenStore | None = None
    """Operator and technician tokens; None: those doors answer 401 to everyone."""
    item_codes: frozenset[str] | None = None
    """The catalog's item codes; submissions for other codes are refused (None: not checked)."""
    item_names: Callable[[], Mapping[str, str]] = dict
    """The catalog's item names (简体) by code, for the operators' console, read on first use (empty: codes
    are shown)."""
    events: EventLog = field(default_factory=EventLog)
    """What operators see happen (platform reachability, devices, switches, lock-outs)."""
    version: str = field(default_factory=_version)
    door_secret: str = ""
    """The kiosk door's secret for this start (``settings.door_secret_path``); empty: the door refuses everyone."""
    payments: PaymentLedger | None = None
    """Payment orders and the fee items' submissions held until paid; None: fees cannot be paid here."""
    payment_watcher: PaymentWatcher | None = None
    """The thread that asks the payment platform about open orders (late payments, a crashed app)."""
    catalog_state: Callable[[], dict[str, Any]] | None = None
    """The catalog rollout's state (``version``, ``last_error``, ``last_checked``; kiosk/catalog/bundle_sync.py)."""

    data_path: Path = field(init=False)
    """``settings.data_path``, resolved once (it resolves the path on every read)."""
    free_space: FreeSpace = field(init=False)
    """The data folder's free space, for the check before storing (read at most once a second far from the limit)."""
    presence: KioskPresence = field(init=False)
    """The kiosk app as its heartbeats report it, and the device tests waiting for it."""
    metrics: GatewayMetrics = field(init=False)
    """This app's Prometheus registry: counters the views bump, gauges read at scrape time."""
    sessions: ConsoleSessions = field(init=False)
    """The console pages' browser sessions, each bound to the token it was opened with."""
    totp: TotpStore = field(init=False)
    """TOTP secrets of the tokens whose console log-in needs a second factor (``totp.json``)."""
    audit: AuditLog = field(init=False)
    """Who did what to this terminal (``audit.jsonl``)."""
    service_switch: ServiceSwitch = field(init=False)
    """In or out of service, with the residents' message (``service.json``)."""
    device_settings: LocalDeviceSettings = field(init=False)
    """The configured device settings plus a technician's local changes (``kiosk.local.toml``)."""
    screen: ScreenFrame = field(init=False)
    """The latest picture of the kiosk's screen (memory only)."""
    fleet: FleetState = field(init=False)
    """Catalog and settings versions, the platform's clock offset (``/api/v1/status``, ``/metrics``)."""

    def __post_init__(self) -> None:
        settings, data = self.settings, self.settings.data_path
        self.data_path = data
        self.free_space = FreeSpace(data)
        self.presence = KioskPresence(self.events)
        self.metrics = GatewayMetrics(settings, self.version, self.outbox, self.forwarder, self.presence,
                                      self.payments)
        self.sessions = ConsoleSessions(self.tokens)
        self.totp = TotpStore(data / TOTP_FILE_NAME)
        self.audit = AuditLog(data / AUDIT_FILE_NAME, max_bytes=int(settings.gateway.audit_max_mb * 1024 * 1024),
                              keep=settings.gateway.audit_keep,
                              retention_s=settings.gateway.audit_retention_days * 86400.0,
                              kiosk_id=settings.kiosk.id, suite=settings.security.suite)
        # The platform's clock offset, as its answers date it, goes into the audit (GB/T 22239 8.1.4.3 b).
        for client in (self.platform, self.proxy, self.forwarder.client):
            if client is not None:
                client.on_clock = self.audit.clock_heard
        self.metrics.watch_audit(self.audit)
        self.metrics.watch_catalog(self.catalog_version)
        self.service_switch = ServiceSwitch(data / SERVICE_FILE_NAME)
        self.device_settings = LocalDeviceSettings(settings, data / LOCAL_SETTINGS_FILE_NAME)
        self.screen = ScreenFrame()
        self.fleet = FleetState(settings, data / LOCAL_SETTINGS_FILE_NAME)
        for client in (self.platform, self.proxy, self.forwarder.client):
            if client is not None:
                client.on_clock = self._clock_heard
        self.fleet.bundle_version = self.catalog_version
        self.metrics.watch_fleet(self.service_switch, self.fleet, self.started_at)

    def _clock_heard(self, offset_s: float) -> None:
        self.fleet.clock_heard(offset_s)
        self.audit.clock_heard(offset_s)

    def catalog_version(self) -> str:
        """The catalog version this terminal serves: its active signed bundle's, or ``packaged``."""
        return str(self.catalog_state().get("version", "packaged")) if self.catalog_state else "packaged"

    @property
    def online(self) -> PlatformClient:
        """The client for online-only calls."""
        return self.proxy or self.platform

    def attach(self, app: Flask) -> None:
        """Make these the services of ``app`` (its one extension slot)."""
        app.extensions[EXTENSION_KEY] = self


def services() -> GatewayServices:
    """The current app's services."""
    found: GatewayServices = current_app.extensions[EXTENSION_KEY]
    return found
