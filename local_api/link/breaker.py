"""Circuit breaker in front of the platform, and what the gateway last saw of it.

After ``failures`` consecutive requests without an answer the breaker *opens*: online-only
calls made for the kiosk (query, print, identity check, appointments) are answered at once
with "platform unreachable" instead of each waiting out a timeout while a resident stands at
the screen. After ``reset_s`` one call is let through (*half-open*); its outcome closes or
re-opens the breaker. The forwarder and the idle probe are not stopped by an open breaker —
they keep their own backoff — and their outcomes count like any other, so the breaker closes
as soon as the platform answers the forwarder again.

Hand-written (about 60 lines) rather than a library: the state must be shared with the
forwarder's own backoff and with the status report, and the common Python breakers wrap
calls as decorators with their own exception handling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Thread-safe breaker; ``clock`` is monotonic, ``wall_clock`` dates the changes for reports."""

    def __init__(self, failures: int = 3, reset_s: float = 30.0, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 on_change: Callable[[str, str | None], None] | None = None) -> None:
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._wall = wall_clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = CLOSED
        self._streak = 0
        self._opened_at = 0.0
        self._trial_out = False
        self.reachable: bool | None = None  # None: not tried yet
        self.last_error: str | None = None
        self.since: float | None = None  # wall clock of the last reachability change
        self.last_ok_at: float | None = None

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (open whose reset time has passed)."""
        with self._lock:
            return self._current()

    def _current(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_s:
            return HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May an online call go to the platform now? In half-open, only one trial at a time."""
        with self._lock:
            state = self._current()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._trial_out:
                self._trial_out = True
                return True
            return False

    def retry_in_s(self) -> float:
        """Seconds until an open breaker lets a trial through (0 when closed)."""
        with self._lock:
            if self._state != OPEN:
                return 0.0
            return max(0.0, self.reset_s - (self._clock() - self._opened_at))

    def ok(self) -> None:
        """The platform answered (even a refusal): close the breaker."""
        changed = None
        with self._lock:
            self._streak = 0
            self._trial_out = False
            self.last_ok_at = self._wall()
            if self.reachable is not True:
                self.since = self._wall()
                changed = "platform reachable" + (" again" if self.reachable is False else "")
            self.reachable = True
            self._state = CLOSED
        if changed:
            log.info(changed)
            self._notify("platform_reachable", None)

    def failed(self, reason: str) -> None:
        """A request got no usable answer; ``reason`` is plain text without personal data."""
        opened = became_unreachable = False
        with self._lock:
            self._streak += 1
            self._trial_out = False
            self.last_error = reason
            if self.reachable is not False:
                self.since = self._wall()
                became_unreachable = True
            self.reachable = False
            if self._streak >= self.failures and (self._state != OPEN or self._current() == HALF_OPEN):
                opened = self._state != OPEN
                self._state = OPEN
                self._opened_at = self._clock()
        if became_unreachable:
            log.warning("platform unreachable: %s", reason)
            self._notify("platform_unreachable", reason)
        if opened:
            log.warning("circuit breaker open: online items answer 'unavailable' for %.0f s", self.reset_s)
            self._notify("breaker_open", reason)

    def _notify(self, kind: str, reason: str | None) -> None:
        if self._on_change is not None:
            self._on_change(kind, reason)

    def snapshot(self) -> dict[str, Any]:
        """``{reachable, last_error, since, breaker, last_ok_at}`` for the status reports."""
        with self._lock:
            return {"reachable": self.reachable, "last_error": self.last_error, "since": self.since,
                    "breaker": self._current(), "last_ok_at": self.last_ok_at}
