"""Giving freed memory back to the system once a resident's session is over (P9, memory after a day).

A session frees most of what it built (rendered texts, list rows, the keyboard's candidates), but
glibc's allocator keeps freed pages in its arenas, so the app's RSS stays at the high-water mark of
the busiest session: ≈ 40 MB over 150 sessions (bench/bench_memory.py). After each session, once the
attract screen has shown for a moment, :class:`MemoryTrimmer` asks glibc (``malloc_trim``) to return
whole free pages. It runs on its own thread; ctypes releases the GIL for the call, so the UI thread is
never held up. Where the C library is not glibc it does nothing.

Blocks of :data:`MAP_ABOVE` and more (a frame's pixels for the operators' mirror, its PNG, a camera
frame) are mapped on their own and go back to the system as soon as they are freed. glibc's default
raises that threshold to the largest block ever freed, after which such blocks come from the heap and
stay resident until the next trim: the heartbeat encodes the mirror every minute, after the session's
trim, which held ≈ 15 MB in its thread's arena and ≈ 20 MB in the heap after a day (P9, measured with
bench/bench_memory.py's driver: RSS 205 → 183 MB at 300 sessions). A fixed threshold keeps the default's
value and stops it from growing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

SETTLE_S = 2.0  # after a session ends: the attract screen is drawn and the effects have run
MAP_ABOVE = 128 * 1024  # glibc's default M_MMAP_THRESHOLD, kept from growing (above)
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, found once (``find_library`` runs ``ldconfig``); None where it cannot be loaded."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def map_large_blocks(threshold: int = MAP_ABOVE) -> bool:
    """Have glibc map blocks of ``threshold`` bytes and more on their own, so they are returned when freed;
    False where the C library is not glibc."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))


def _malloc_trim() -> Callable[[], object] | None:
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return None  # not glibc: nothing to ask
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class MemoryTrimmer:
    """:meth:`request` after a session: free pages go back to the system :data:`SETTLE_S` later."""

    def __init__(self, settle_s: float = SETTLE_S) -> None:
        self.settle_s = settle_s
        self.trims = 0
        self._trim = _malloc_trim()
        self.maps_large = self._trim is not None and map_large_blocks()
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._trim is not None:
            self._thread = threading.Thread(target=self._run, name="memory-trim", daemon=True)
            self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wanted.wait()
            if self._stop.wait(self.settle_s):
                return
            self._wanted.clear()
            if self._trim is not None:
                self._trim()
                self.trims += 1

    def close(self) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
