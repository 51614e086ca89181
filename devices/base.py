"""The one shape every device adapter shares: status model, errors and events.

The status model follows CEN XFS4IoT: a device is in one of a few states, keeps
counters, and remembers its last error together with an *action hint* that tells
staff what to do about it (``clear``: staff can fix it, e.g. replace paper;
``maintenance``: call an engineer; ``reset``; ``configuration``).

Adapters raise only the project's own errors below, each with a ``retryable``
flag, and report events through one callback so the kiosk flow never needs to
know which thread or transport produced them.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class DeviceState(str, enum.Enum):
    """Where a device stands, after XFS4IoT ``Common.Status.Device``."""

    ONLINE = "online"
    OFFLINE = "offline"
    NO_DEVICE = "no_device"
    BUSY = "busy"
    HARDWARE_ERROR = "hardware_error"
    USER_ERROR = "user_error"


class ActionHint(str, enum.Enum):
    """What a person should do about the last error (XFS4IoT wording)."""

    NONE = "none"
    CLEAR = "clear"
    MAINTENANCE = "maintenance"
    RESET = "reset"
    CONFIGURATION = "configuration"


class DeviceError(Exception):
    """Base of the device layer's errors; ``retryable`` says whether trying again may help."""

    retryable: bool = False
    hint: ActionHint = ActionHint.MAINTENANCE

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class DeviceNotFound(DeviceError):
    """The configured endpoint does not exist (no such port, host refuses, no reader)."""

    retryable = True
    hint = ActionHint.CONFIGURATION


class DeviceTimeout(DeviceError):
    """The device did not answer within the operation's timeout."""

    retryable = True
    hint = ActionHint.RESET


class DeviceDisconnected(DeviceError):
    """The device went away while in use (cable pulled, socket closed)."""

    retryable = True
    hint = ActionHint.MAINTENANCE


class DeviceProtocolError(DeviceError):
    """The device answered with bytes that break the protocol (checksum, length, framing)."""

    retryable = True
    hint = ActionHint.RESET


@dataclass(frozen=True)
class LastError:
    """The most recent error, in plain words, with what to do about it."""

    message: str
    hint: ActionHint
    at: float


@dataclass
class DeviceStatus:
    """A snapshot of one device's health, safe to show an operator (no personal data)."""

    name: str
    state: DeviceState = DeviceState.OFFLINE
    operations: int = 0
    errors: int = 0
    last_error: LastError | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "state": self.state.value,
            "operations": self.operations,
            "errors": self.errors,
            "detail": dict(self.detail),
            "last_error": None,
        }
        if self.last_error is not None:
            out["last_error"] = {
                "message": self.last_error.message,
                "hint": self.last_error.hint.value,
                "at": self.last_error.at,
            }
        return out


@dataclass(frozen=True)
class DeviceEvent:
    """Something a device reports: ``kind`` is e.g. ``card_read``, ``card_removed``,
    ``state_changed``, ``paper_low``; ``payload`` carries the kind's data."""

    device: str
    kind: str
    payload: Any = None


EventCallback = Callable[[DeviceEvent], None]


def _ignore(_event: DeviceEvent) -> None:
    return None


class StatusTracker:
    """Keeps a device's :class:`DeviceStatus` and reports state changes once.

    Adapters own one of these; it is thread-safe so a polling thread and the UI
    thread can both read and update it.
    """

    def __init__(self, name: str, on_event: EventCallback | None = None) -> None:
        self._lock = threading.Lock()
        self._status = DeviceStatus(name=name)
        self._on_event = on_event or _ignore

    @property
    def name(self) -> str:
        return self._status.name

    def snapshot(self) -> DeviceStatus:
        with self._lock:
            s = self._status
            return DeviceStatus(s.name, s.state, s.operations, s.errors, s.last_error, dict(s.detail))

    def set_state(self, state: DeviceState, **detail: Any) -> None:
        with self._lock:
            changed = state != self._status.state
            self._status.state = state
            self._status.detail.update(detail)
        if changed:
            self._on_event(DeviceEvent(self.name, "state_changed", state))

    def operation_ok(self) -> None:
        with self._lock:
            self._status.operations += 1

    def record_error(self, error: DeviceError, state: DeviceState | None = None) -> None:
        with self._lock:
            self._status.errors += 1
            self._status.last_error = LastError(str(error), error.hint, time.time())
        if state is not None:
            self.set_state(state)

    def emit(self, kind: str, payload: Any = None) -> None:
        self._on_event(DeviceEvent(self.name, kind, payload))


class DeviceAdapter(Protocol):
    """What the kiosk expects of every adapter. Operations take explicit timeouts."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def status(self) -> DeviceStatus: ...
