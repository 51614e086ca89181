"""A supervision loop any device adapter can run under: reconnect, escalate, log transitions, never die.

Unattended hardware fails in a few ways: the cable is pulled (the port vanishes and later comes
back, perhaps under another ``/dev`` name but the same ``/dev/serial/by-id`` link), the device
hangs (every request times out), or it answers garbage for a while. :class:`DeviceSupervisor`
owns one thread that keeps a device in use through all of that:

- **reconnect with capped backoff**: after :class:`DeviceNotFound` or :class:`DeviceDisconnected`
  it drops the handle and calls ``connect()`` again after 0.2 s, 0.4 s, … up to ``Backoff.max_s``;
- **timeouts escalate**: one :class:`DeviceTimeout` is a hiccup (the adapter reports it as
  usual); ``timeouts_to_error`` in a row put the device in ``hardware_error`` with the
  ``maintenance`` hint, and the loop backs off until the device answers again;
- **transitions logged once**: one warning when a device starts failing (``failed: …``), one info
  line when it works again (``recovered``); repeated failures in between are not logged;
- **never dies**: any exception from the adapter, including bugs, is caught and counted.

How an adapter uses it (the ID card reader does exactly this in ``IdCardReader.start_polling``;
the printer, smart-card and camera adapters can do the same)::

    class PrinterLink:                       # any object with these three methods
        def connect(self) -> None: ...       # open the handle; raise DeviceNotFound if absent
        def disconnect(self) -> None: ...    # drop the handle; must not raise
        def poll(self) -> None: ...          # one unit of work with explicit timeouts: check
                                             # status, read a frame, emit events; raise DeviceError

    supervisor = DeviceSupervisor(PrinterLink(), printer.tracker, interval_s=2.0)
    supervisor.start()    # the caller owns the thread …
    supervisor.stop()     # … and stops it (joins) before closing the device

``poll()`` must return within a bounded time (every operation has a timeout), because
``stop()`` waits for the current poll. Emit device events from ``poll()`` through the adapter's
own :class:`StatusTracker`; the supervisor only changes the state on escalation (the adapter
sets online / offline / no_device itself as its operations succeed or fail).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from devices.base import (
    ActionHint,
    DeviceDisconnected,
    DeviceError,
    DeviceNotFound,
    DeviceState,
    DeviceTimeout,
    StatusTracker,
)

log = logging.getLogger(__name__)


class SupervisedLink(Protocol):
    """What the supervisor drives. All three run on the supervisor's thread only."""

    def connect(self) -> None:
        """Open the device (a no-op when already open); raise DeviceNotFound / DeviceDisconnected."""

    def disconnect(self) -> None:
        """Drop the device handle after a failure. Must not raise."""

    def poll(self) -> None:
        """One unit of work, bounded by the adapter's timeouts; raise a DeviceError on failure."""


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnect attempts: ``initial_s``, then ×``factor``, capped at ``max_s``."""

    initial_s: float = 0.2
    max_s: float = 1.0
    factor: float = 2.0

    def after(self, delay_s: float) -> float:
        """The delay that follows ``delay_s``."""
        return min(max(delay_s, self.initial_s) * self.factor, self.max_s)


@dataclass(frozen=True)
class SupervisorHealth:
    """A snapshot of the supervision loop (no personal data): for status pages and tests."""

    running: bool
    connected: bool
    failing: bool
    escalated: bool
    consecutive_timeouts: int
    connects: int
    failures: int
    problem: str


class DeviceSupervisor:
    """Runs ``link.poll()`` every ``interval_s`` on one owned thread and keeps the link connected."""

    def __init__(self, link: SupervisedLink, tracker: StatusTracker, *, interval_s: float = 0.3,
                 backoff: Backoff = Backoff(), timeouts_to_error: int = 3, name: str | None = None) -> None:
        if interval_s <= 0 or timeouts_to_error < 1:
            raise ValueError("interval_s must be > 0 and timeouts_to_error ≥ 1")
        self.link = link
        self.tracker = tracker
        self.interval_s = interval_s
        self.backoff = backoff
        self.timeouts_to_error = timeouts_to_error
        self.name = name or tracker.name
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._connected = False
        self._failing = False
        self._escalated = False
        self._timeouts = 0
        self._connects = 0
        self._failures = 0
        self._problem = ""

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the supervision thread. Raises RuntimeError if it is already running."""
        if self.running:
            raise RuntimeError(f"{self.name}: supervisor already running")
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the thread and wait for the current poll to end; True when it has stopped.

        The link stays connected: closing the device is the adapter owner's job.
        """
        thread = self._thread
        if thread is None:
            return True
        self._stop.set()
        self._wake.set()
        if thread is not threading.current_thread():
            thread.join(timeout_s)
        if thread.is_alive():
            log.error("%s: supervisor thread did not stop within %.1f s", self.name, timeout_s)
            return False
        self._thread = None
        return True

    def wake(self) -> None:
        """Cut the current wait short (e.g. a hot-plug notice says the device is back)."""
        self._wake.set()

    def health(self) -> SupervisorHealth:
        with self._lock:
            return SupervisorHealth(self.running, self._connected, self._failing, self._escalated,
                                    self._timeouts, self._connects, self._failures, self._problem)

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        retry = self.backoff.initial_s
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            delay = self.interval_s
            try:
                if not self._connected:
                    self.link.connect()
                    with self._lock:
                        self._connected = True
                        self._connects += 1
                self.link.poll()
            except (DeviceNotFound, DeviceDisconnected) as exc:
                self._disconnect()
                self._failed(exc)
                delay, retry = retry, self.backoff.after(retry)
                continue
            except DeviceTimeout as exc:
                self._failed(exc)
                if self._count_timeout(exc):
                    delay, retry = retry, self.backoff.after(retry)
                continue
            except Exception as exc:  # DeviceError and bugs alike: the loop must outlive both
                if not isinstance(exc, DeviceError) and not self._failing:
                    log.exception("%s: unexpected error in the adapter", self.name)
                self._failed(exc)
                continue
            retry = self.backoff.initial_s
            self._succeeded()

    def _disconnect(self) -> None:
        with self._lock:
            self._connected = False
        try:
            self.link.disconnect()
        except Exception:  # a link that breaks its promise must not end supervision
            log.exception("%s: disconnect failed", self.name)

    def _failed(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"
        with self._lock:
            first = not self._failing
            self._failing = True
            self._failures += 1
            self._problem = text
        if first:
            log.warning("%s: failed: %s", self.name, text)

    def _count_timeout(self, exc: DeviceTimeout) -> bool:
        """Count a timeout; escalate after ``timeouts_to_error``. True once escalated."""
        with self._lock:
            self._timeouts += 1
            escalate = self._timeouts >= self.timeouts_to_error and not self._escalated
            if escalate:
                self._escalated = True
            escalated = self._escalated
        if escalate:
            message = (f"{self.name} did not answer {self._timeouts} times in a row: check its power and "
                       "cable; an engineer may need to reset or replace it")
            log.error("%s: hardware_error after %d timeouts in a row", self.name, self._timeouts)
            self.tracker.record_error(_Escalated(message))
            self.tracker.set_state(DeviceState.HARDWARE_ERROR, escalated_after=self._timeouts)
        return escalated

    def _succeeded(self) -> None:
        # Only this thread changes the flags; log and fix the state before health() says "healthy".
        if self._failing:
            log.info("%s: recovered", self.name)
            if self.tracker.snapshot().state is DeviceState.HARDWARE_ERROR:
                self.tracker.set_state(DeviceState.ONLINE)
        with self._lock:
            self._failing = self._escalated = False
            self._timeouts = 0
            self._problem = ""


class _Escalated(DeviceError):
    """Recorded as the last error when timeouts escalate (never raised)."""

    retryable = True
    hint = ActionHint.MAINTENANCE


__all__ = ["Backoff", "DeviceSupervisor", "SupervisedLink", "SupervisorHealth"]
