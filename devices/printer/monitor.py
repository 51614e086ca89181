"""The printer's status monitor: one owned thread that runs a poll step every interval, between jobs.

Between jobs means: the step runs under the adapter's lock, so it waits while a job holds
the printer and never interleaves its DLE EOT queries with a receipt's bytes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class StatusMonitor:
    """Runs ``step`` every ``interval_s`` under ``lock`` on a thread it owns; :meth:`stop` joins it."""

    def __init__(self, step: Callable[[], object], lock: threading.RLock, name: str, *,
                 join_s: float) -> None:
        self._step = step
        self._lock = lock
        self._name = name
        self._join_s = join_s
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, interval_s: float) -> None:
        """Start polling (idempotent). Raises ValueError for a non-positive interval."""
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread (idempotent)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        if thread is not threading.current_thread():
            thread.join(timeout=self._join_s)
        self._thread = None

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            # Wait for a running job to finish, but keep hearing stop().
            while not self._lock.acquire(timeout=0.2):
                if self._stop.is_set():
                    return
            try:
                if not self._stop.is_set():
                    self._step()
            except Exception:  # the monitor must outlive any one failure; nothing personal is logged here
                log.exception("printer monitor step failed")
            finally:
                self._lock.release()
