"""What the fleet's Prometheus learns from one terminal beyond the gateway's own state: the kiosk
app's devices (from its heartbeats) and its sessions (a tally the app sends with each heartbeat).

Nothing here holds personal data: device statuses are ``DeviceStatus.to_dict()`` and a session is
counted by its item's kind and its outcome only.

Label values come from the kiosk app, so every one is checked against a closed list or clipped
before it becomes a Prometheus label: a confused app must not be able to blow up the fleet's
time-series count.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, get_args

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

DeviceStateName = Literal["online", "offline", "no_device", "busy", "hardware_error", "user_error"]
"""A device's state as the kiosk app reports it: the values of devices/base.py ``DeviceState``
(XFS4IoT; the gateway does not import devices)."""
DEVICE_STATES: tuple[DeviceStateName, ...] = get_args(DeviceStateName)

# ``detail["paper"]`` of a printer's status (devices/printer/health.py PaperLevel values).
PAPER_LEVELS = ("ok", "low", "out", "unknown")
MAX_DEVICE_NAME = 32
MAX_RUNS_REMEMBERED = 8


def _device_label(name: str) -> str | None:
    """The device name as a label value, or None when it is not a plain short name."""
    if not name or len(name) > MAX_DEVICE_NAME or not all(c.isascii() and (c.isalnum() or c in "_-.") for c in name):
        return None
    return name


def device_families(devices: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    """Metric families of the devices in the app's last heartbeat: every configured device under its
    settings name (``id_reader``, ``printer``, ``ssc_reader``, ``camera``, ``document_camera``,
    ``qr_camera``), present or not — an absent one is ``no_device``.

    - ``kiosk_gateway_device_state{device, state}``: 1 for the device's state, 0 for the others
      (every state is always present, so ``== 1`` and ``== 0`` both work in alert rules);
    - ``kiosk_gateway_printer_paper{device, level}``: the same for the paper level
      (``ok``, ``low``, ``out``, ``unknown``) of each device that reports one;
    - ``kiosk_gateway_device_operations_total`` / ``kiosk_gateway_device_errors_total``
      ``{device}``: the device's counters since the kiosk app started (a restart resets them,
      which Prometheus's ``rate()`` and ``increase()`` allow for).
    """
    state = GaugeMetricFamily("kiosk_gateway_device_state",
                              "Device state reported by the kiosk app: 1 for the current state, 0 for the others",
                              labels=["device", "state"])
    paper = GaugeMetricFamily("kiosk_gateway_printer_paper",
                              "Receipt paper level: 1 for the current level (ok, low, out, unknown), 0 for the others",
                              labels=["device", "level"])
    operations = CounterMetricFamily("kiosk_gateway_device_operations",
                                     "Operations a device completed since the kiosk app started", labels=["device"])
    errors = CounterMetricFamily("kiosk_gateway_device_errors",
                                 "Errors a device reported since the kiosk app started", labels=["device"])
    for name, status in sorted(devices.items()):
        device = _device_label(name)
        if device is None:
            continue
        current = status.get("state")
        for each in DEVICE_STATES:
            state.add_metric([device, each], 1.0 if each == current else 0.0)
        detail = status.get("detail") or {}
        if isinstance(detail, Mapping) and "paper" in detail:
            level = detail["paper"] if detail["paper"] in PAPER_LEVELS else "unknown"
            for paper_level in PAPER_LEVELS:
                paper.add_metric([device, paper_level], 1.0 if paper_level == level else 0.0)
        for family, key in ((operations, "operations"), (errors, "errors")):
            value = status.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                family.add_metric([device], float(value))
    yield from (state, paper, operations, errors)


class SessionTally:
    """Sessions by item kind and outcome, summed over every run of the kiosk app. Thread-safe.

    The app sends its own cumulative counts since it started together with a random ``run`` id
    chosen at start. Only the increase since the last heartbeat of the same run is added, so a
    resent or repeated heartbeat never counts a session twice, and an app restart (new run id,
    counts from zero) never makes the gateway's totals go down.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str], int] = {}
        self.last_at: float | None = None
        """When a heartbeat last brought a new session (Unix time); None: none since the gateway started."""
        # The last counts seen per run; a few runs are remembered so a late heartbeat of the
        # previous run is recognised rather than counted afresh.
        self._runs: OrderedDict[str, dict[tuple[str, str], int]] = OrderedDict()

    def fold(self, run: str, counts: Iterable[tuple[str, str, int]]) -> int:
        """Add what is new in ``counts`` (``(item_kind, outcome, cumulative count)``); returns the
        number of sessions newly counted."""
        added = 0
        with self._lock:
            seen = self._runs.setdefault(run, {})
            self._runs.move_to_end(run)
            while len(self._runs) > MAX_RUNS_REMEMBERED:
                self._runs.popitem(last=False)
            for kind, outcome, count in counts:
                key = (kind, outcome)
                new = count - seen.get(key, 0)
                if new > 0:  # a smaller count than before is an old, reordered heartbeat: ignore it
                    self._totals[key] = self._totals.get(key, 0) + new
                    seen[key] = count
                    added += new
            if added:
                self.last_at = time.time()
        return added

    def totals(self) -> dict[tuple[str, str], int]:
        """``{(item_kind, outcome): sessions}`` since the gateway started."""
        with self._lock:
            return dict(self._totals)

    def family(self) -> CounterMetricFamily:
        """``kiosk_gateway_sessions_total{item_kind, outcome}``."""
        family = CounterMetricFamily("kiosk_gateway_sessions", "Residents' sessions by item kind and outcome",
                                     labels=["item_kind", "outcome"])
        for (kind, outcome), n in sorted(self.totals().items()):
            family.add_metric([kind, outcome], float(n))
        return family
