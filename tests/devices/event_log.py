"""The device events a test collects from an adapter's own thread (the one ``on_event`` callback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from devices.base import DeviceEvent, DeviceState


class Events:
    """Thread-safe record of events; ``timeout`` is how long waits last by default in this test file."""

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self.items: list[DeviceEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def kinds(self) -> list[str]:
        """Event kinds in order, state changes left out."""
        with self._cond:
            return [e.kind for e in self.items if e.kind != "state_changed"]

    def of(self, kind: str) -> list[DeviceEvent]:
        with self._cond:
            return [e for e in self.items if e.kind == kind]

    def states(self) -> list[DeviceState]:
        with self._cond:
            return [e.payload for e in self.items if e.kind == "state_changed"]

    def count(self, kind: str) -> int:
        return len(self.of(kind))

    def wait_for(self, pred: Callable[[], bool], timeout: float | None = None) -> None:
        """Wait until ``pred()``; re-checked on every event and every 10 ms (for conditions no event
        announces)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while not pred():
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"events so far: {[e.kind for e in self.items]}"
                self._cond.wait(min(remaining, 0.01))

    def wait_count(self, kind: str, n: int) -> None:
        self.wait_for(lambda: sum(1 for e in self.items if e.kind == kind) >= n)

    def wait_state(self, state: DeviceState) -> None:
        self.wait_for(lambda: any(e.kind == "state_changed" and e.payload == state for e in self.items))
