"""What operators see happen: the event log, and the kiosk app as its heartbeats report it.

Both live in memory only (a restart starts them afresh) and never hold personal data:
events carry receipt numbers, device names and plain reasons; heartbeats carry the screen
name and device statuses (``DeviceStatus.to_dict()``), which have no resident data.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_EVENTS = 1000
MAX_COMMANDS = 100
MAX_REASON = 300
UP_STATES = ("online", "busy")


def _reason(status: dict[str, Any]) -> str:
    """A device's last error in words (clipped), for the event that says it went down."""
    last = status.get("last_error")
    message = last.get("message") if isinstance(last, dict) else None
    return str(message)[:MAX_REASON] if message else ""


class EventLog:
    """A bounded, numbered list of recent events. Thread-safe."""

    def __init__(self, *, wall_clock: Callable[[], float] = time.time, maxlen: int = MAX_EVENTS) -> None:
        self._now = wall_clock
        self._lock = threading.Lock()
        self._events: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._ids = itertools.count(1)

    def add(self, kind: str, message: str, **fields: Any) -> None:
        """Record an event: ``kind`` is a stable name (``platform_unreachable``), ``message`` plain text."""
        with self._lock:
            self._events.append({"id": next(self._ids), "at": self._now(), "kind": kind, "message": message,
                                 **fields})

    def since(self, after_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Events newer than ``after_id``, oldest first, at most ``limit``."""
        with self._lock:
            return [dict(e) for e in self._events if e["id"] > after_id][:max(1, limit)]


class KioskPresence:
    """The kiosk app's last heartbeat (screen, device statuses) and the device tests waiting for it.

    A technician's device test is queued here and handed to the kiosk app in the answer to its
    next heartbeat (the app owns the devices; the gateway never opens them); the app reports the
    outcome in a later heartbeat.
    """

    def __init__(self, events: EventLog, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._events = events
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        self.screen: str | None = None
        self.devices: dict[str, dict[str, Any]] = {}
        self._seen_mono: float | None = None
        self.seen_at: float | None = None
        self._commands: dict[str, dict[str, Any]] = {}

    def beat(self, screen: str, devices: dict[str, dict[str, Any]],
             results: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Record a heartbeat; returns the device tests the app should run now."""
        with self._lock:
            changes = [(name, self.devices.get(name, {}).get("state"), status.get("state"), _reason(status))
                       for name, status in devices.items()
                       if self.devices.get(name, {}).get("state") != status.get("state")]
            self.screen, self.devices = screen, dict(devices)
            self._seen_mono, self.seen_at = self._clock(), self._wall()
            for result in results or ():
                command = self._commands.get(str(result.get("command_id")))
                if command is not None and command["state"] != "done":
                    command.update(state="done", ok=bool(result.get("ok")), detail=str(result.get("detail", ""))[:500],
                                   finished_at=self._wall())
            pending = [c for c in self._commands.values() if c["state"] == "queued"]
            for command in pending:
                command["state"] = "sent"
        for name, before, after, reason in changes:
            if before is not None or after != "online":
                why = f" ({reason})" if reason and after not in UP_STATES else ""
                self._events.add("device_state", f"{name}: {before or 'unknown'} → {after}{why}", device=name,
                                 state=after)
        return [{k: c[k] for k in ("command_id", "device", "action")} for c in pending]

    def age_s(self) -> float | None:
        """Seconds since the last heartbeat (None: none yet)."""
        with self._lock:
            return None if self._seen_mono is None else max(0.0, self._clock() - self._seen_mono)

    def snapshot(self) -> dict[str, Any]:
        """``{screen, devices, seen_at, age_s}`` for the status report."""
        age = self.age_s()
        with self._lock:
            return {"screen": self.screen, "devices": dict(self.devices), "seen_at": self.seen_at,
                    "age_s": None if age is None else round(age, 1)}

    def queue_test(self, device: str, action: str) -> dict[str, Any]:
        """Queue a device test for the kiosk app; KeyError if the app has not reported that device."""
        with self._lock:
            if device not in self.devices:
                raise KeyError(device)
            if len(self._commands) >= MAX_COMMANDS:  # forget the oldest finished ones first
                for key in [k for k, c in self._commands.items() if c["state"] == "done"][:MAX_COMMANDS // 2]:
                    del self._commands[key]
            command_id = str(uuid.uuid4())
            command = {"command_id": command_id, "device": device, "action": action, "state": "queued",
                       "queued_at": self._wall(), "ok": None, "detail": None, "finished_at": None}
            self._commands[command_id] = command
        self._events.add("device_test", f"{device}: {action} queued", device=device)
        return dict(command)

    def command(self, command_id: str) -> dict[str, Any] | None:
        """A queued test and, once the app reported it, its outcome."""
        with self._lock:
            found = self._commands.get(command_id)
            return dict(found) if found else None
