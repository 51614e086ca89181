"""One owned worker thread with its queue: the effect runner and the heartbeat each have one.

Work is carried out in the order it was queued; a failure of one item is logged and the thread goes
on (an unattended terminal must outlive any one failure). :meth:`Worker.stop` waits for the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")


class _Stop:
    """The sentinel that ends a worker's loop."""


class Worker(Generic[Item]):
    """Runs ``carry_out(item)`` for each queued item on a thread called ``name``."""

    def __init__(self, name: str, carry_out: Callable[[Item], None]) -> None:
        self.name = name
        self._carry_out = carry_out
        self._queue: queue.Queue[Item | _Stop] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def put(self, item: Item) -> None:
        self._queue.put(item)

    def pending(self) -> int:
        """Items queued and not yet carried out (the one running counts)."""
        return self._queue.unfinished_tasks

    def waiting(self) -> int:
        """Items queued and not yet started."""
        return self._queue.qsize()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(_Stop())
            self._thread.join(timeout=timeout_s)
        self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if isinstance(item, _Stop):
                    return
                self._carry_out(item)
            except Exception:  # the worker must outlive any one failure
                log.exception("%s: %s failed", self.name, type(item).__name__)
            finally:
                self._queue.task_done()
