"""The terminal's heartbeat: what operators see of it, and what technicians send it back.

Every few seconds the app reports its screen, its devices and the sessions ended since it started
(no personal data) to the local gateway, with a picture of the screen for the operator console. The
answer carries what the gateway has for the terminal: whether the platform can be reached, the
out-of-service switch, device tests a technician queued and device settings changed at the gateway.

Heartbeats have their own thread and their own gateway connection: a resident's 30 s QR scan or face
capture on the effect runner must not make the terminal look dead to operators.

Between the regular heartbeats a small watcher compares the devices' states every
:data:`WATCH_S`: when one changed (a camera unplugged or back, a reader gone), a heartbeat goes out
at once with the last screen, so operators and alerts see it within a second, not at the next beat.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk import flow
from kiosk.terminal.device_control import DeviceControl
from kiosk.terminal.worker import Worker
from local_api.client import GatewayClient, GatewayError, GatewayUnavailable

log = logging.getLogger(__name__)

MAX_RESULTS = 32  # device test outcomes the gateway takes with one heartbeat
WATCH_S = 0.5  # how often device states are compared for an early heartbeat


@dataclass(frozen=True)
class Beat:
    """One heartbeat: the screen shown, the devices' states, and the frame (encoded on the heartbeat
    thread, off the UI loop)."""

    screen: str
    devices: dict[str, dict[str, object]]
    screen_png: Callable[[], bytes] | None = None


class Heartbeat:
    """Sends heartbeats on its own thread and posts what their answers mean to the flow."""

    def __init__(self, gateway: GatewayClient, post: Callable[[flow.Event], None], *,
                 device_control: DeviceControl | None = None,
                 platform_clock: Callable[[float], None] | None = None) -> None:
        self.gateway = gateway
        self.post = post
        self.device_control = device_control
        self.platform_clock = platform_clock  # told the platform's clock offset (kiosk/terminal/trusted_date.py)
        self._worker: Worker[Beat] = Worker("heartbeat", self._send)
        self._results: list[dict[str, Any]] = []  # device test outcomes for the next heartbeat
        self._tally: dict[tuple[str, str], int] = {}
        self._tally_lock = threading.Lock()
        self._run_id = uuid.uuid4().hex[:16]  # this app run, for the gateway's per-run session totals
        self._last_screen: str | None = None  # the screen of the last regular beat (None: none yet)
        self._last_states: dict[str, object] = {}
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._worker.start()
        if self.device_control is not None:
            self._stopping.clear()
            self._watcher = threading.Thread(target=self._watch, name="heartbeat-devices", daemon=True)
            self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5.0)
            self._watcher = None
        self._worker.stop()
        self.gateway.close()

    def beat(self, screen: str, devices: dict[str, dict[str, object]],
             screen_png: Callable[[], bytes] | None = None) -> None:
        """Queue a heartbeat (screen and device states) for the gateway's operator status;
        ``screen_png`` encodes the current frame on the heartbeat thread, off the UI loop."""
        self._last_screen = screen
        self._last_states = _states(devices)
        if self._worker.waiting() < 2:  # a slow gateway must not pile heartbeats up
            self._worker.put(Beat(screen, devices, screen_png))

    def _watch(self) -> None:
        """Send a heartbeat as soon as a device's state changes (the devices' statuses are thread-safe)."""
        dc = self.device_control
        while dc is not None and not self._stopping.wait(WATCH_S):
            screen = self._last_screen
            if screen is None:  # the UI has not reported a screen yet
                continue
            try:
                devices = dc.hardware.statuses()
            except Exception as exc:  # noqa: BLE001  a device being reopened; the regular beat reports it
                log.debug("device states not read: %s", exc)
                continue
            states = _states(devices)
            if states != self._last_states and self._worker.waiting() < 2:
                self._last_states = states
                self._worker.put(Beat(screen, devices))

    def count(self, ended: flow.SessionWiped) -> None:
        """Count a session that ended with an outcome (by item kind; nothing about the resident)."""
        if ended.outcome:
            with self._tally_lock:
                key = (ended.item_kind, ended.outcome)
                self._tally[key] = self._tally.get(key, 0) + 1

    def session_counts(self) -> dict[str, Any]:
        """Sessions ended since this app started, by item kind and outcome (no personal data); the
        gateway adds them up per ``run`` so an app restart neither loses nor doubles a count."""
        with self._tally_lock:
            counts = [{"item_kind": kind, "outcome": outcome, "count": n}
                      for (kind, outcome), n in sorted(self._tally.items())]
        return {"run": self._run_id, "counts": counts}

    def _send(self, beat: Beat) -> None:
        """Report the screen and devices; the answer says whether the platform can be reached."""
        results, self._results = self._results[:MAX_RESULTS], self._results[MAX_RESULTS:]
        try:
            answer = self.gateway.heartbeat(beat.screen, beat.devices, results=results,
                                            sessions=self.session_counts())
        except (GatewayError, GatewayUnavailable) as exc:
            self._results[:0] = results  # not delivered: they go with the next heartbeat
            log.warning("heartbeat not delivered: %s", exc)
            return
        self._device_operations(answer)
        platform = answer.get("platform") or {}
        if platform:
            up = bool(platform.get("reachable", True)) and platform.get("breaker") != "open"
            self.post(flow.DeviceStates({"platform": up}))
            offset = platform.get("clock_offset_s")
            if self.platform_clock is not None and isinstance(offset, int | float) and not isinstance(offset, bool):
                self.platform_clock(float(offset))
        service = answer.get("service")
        if isinstance(service, dict):
            self.post(flow.ServiceSwitched(bool(service.get("in_service", True)), str(service.get("message", ""))))
        if beat.screen_png:
            try:
                self.gateway.post_screen(beat.screen_png())
            except (GatewayError, GatewayUnavailable) as exc:
                log.warning("screen picture not delivered: %s", exc)

    def _device_operations(self, answer: dict[str, Any]) -> None:
        """Run the device tests a technician queued at the gateway (outcomes go with the next heartbeat)
        and apply device settings changed there; then let the screens' availability follow."""
        dc = self.device_control
        if dc is None:
            return
        settings_view = answer.get("device_settings")
        if isinstance(settings_view, dict):
            outcome = dc.apply_view(settings_view)
            if outcome is not None:
                self.post(flow.DeviceStates(dc.hardware.available()))
                self._audit("settings_changed", "ok" if outcome.applied else "kept_last_good", outcome.message)
        for command in answer.get("commands") or ():
            if not isinstance(command, dict) or "command_id" not in command:
                continue
            test = dc.test(str(command.get("device", "")), str(command.get("action", "")))
            self._results.append({"command_id": str(command["command_id"]), "ok": test.ok,
                                  "detail": test.detail[:500]})
            if command.get("action") == "reset":
                self.post(flow.DeviceStates(dc.hardware.available()))

    def _audit(self, action: str, outcome: str, detail: str) -> None:
        """Record a device operation in the gateway's audit."""
        try:
            self.gateway.audit(action, outcome, "devices", detail[:300])
        except Exception as exc:  # noqa: BLE001  the audit is a record, not a reason to stop applying settings
            log.warning("audit record not delivered: %s", exc)


def _states(devices: dict[str, dict[str, object]]) -> dict[str, object]:
    return {name: status.get("state") for name, status in devices.items()}
