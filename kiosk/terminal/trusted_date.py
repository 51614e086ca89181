"""The date the terminal can trust, for checking whether an identity document has expired.

The terminal's wall clock is the system clock, set at boot from the RTC and kept by an NTP client
(systemd-timesyncd, chrony) when one runs and reaches a server. A terminal that never synchronised —
a flat RTC battery, no network at boot — can be years off, and then every card would look valid or
every card expired. So a date is trusted only from:

1. the platform: the gateway reads the ``Date`` header of every platform answer
   (``local_api/link/client.py``) and hands the offset from the local clock to the app with each
   heartbeat answer (``platform.clock_offset_s``); kept here against the monotonic clock, so a wall
   clock stepped afterwards does not move it, and trusted for :data:`PLATFORM_FRESH_S`;
2. else the system clock, when the kernel says it is synchronised: ``adjtimex(2)`` with no
   ``STA_UNSYNC`` in its status (what ``timedatectl``'s ``NTPSynchronized`` reads; NTP clients clear
   the flag while they discipline the clock);
3. else nothing: :meth:`TrustedDate.today` answers None and the flow refuses no document as
   expired (the platform still checks what it is sent).

The date is the local calendar date (the terminal's time zone) at that instant.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as _dt
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PLATFORM_FRESH_S = 6 * 3600.0  # a platform date heard longer ago than this is not used
STA_UNSYNC = 0x0040  # <linux/timex.h>: the clock is not synchronised
TIME_ERROR = 5  # adjtimex's answer while STA_UNSYNC is set


class _Timex(ctypes.Structure):
    """``struct timex`` of <sys/timex.h> (Linux, 64-bit and 32-bit alike: longs are the C long)."""

    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


@functools.cache
def _adjtimex() -> Callable[[Any], int] | None:
    try:
        function: Callable[[Any], int] = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).adjtimex
    except (OSError, AttributeError):  # not Linux / no glibc: the kernel cannot be asked
        return None
    return function


def kernel_clock_synced() -> bool:
    """Whether the kernel says the system clock is synchronised (read-only ``adjtimex``: modes 0)."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return False
    status = _Timex()
    answer = adjtimex(ctypes.pointer(status))
    return answer not in (-1, TIME_ERROR) and not status.status & STA_UNSYNC


class TrustedDate:
    """The platform's date when it was heard lately, else a synchronised system clock's, else None.

    :meth:`platform_said` is called on the heartbeat thread, :meth:`today` on the UI thread."""

    def __init__(self, *, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 synced: Callable[[], bool] = kernel_clock_synced, fresh_s: float = PLATFORM_FRESH_S) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._synced = synced
        self._fresh_s = fresh_s
        self._lock = threading.Lock()
        self._platform: tuple[float, float] | None = None  # (platform epoch minus monotonic, monotonic heard)
        self._source = ""

    def platform_said(self, offset_s: float) -> None:
        """The platform's clock is ``offset_s`` seconds ahead of this machine's wall clock, just now."""
        now = self._monotonic()
        with self._lock:
            first = self._platform is None
            self._platform = (self._wall() + offset_s - now, now)
        if first:
            log.info("the platform's date is known (its clock is %+.0f s from this terminal's)", offset_s)

    def source(self) -> str:
        """Where :meth:`today` takes its date from now: ``platform``, ``clock`` or ``none``."""
        now = self._monotonic()
        with self._lock:
            platform = self._platform
        if platform is not None and now - platform[1] <= self._fresh_s:
            return "platform"
        return "clock" if self._synced() else "none"

    def today(self) -> _dt.date | None:
        """The local date to check documents against; None when no date can be trusted."""
        source = self.source()
        if source != self._source:  # one line when it changes, for whoever wonders why a card passed
            self._source = source
            (log.warning if source == "none" else log.info)(
                "identity documents are checked against %s", {
                    "platform": "the platform's date", "clock": "the synchronised system clock",
                    "none": "no date: the clock is not synchronised and the platform's date is not known, "
                            "so no document is refused as expired"}[source])
        if source == "platform":
            with self._lock:
                assert self._platform is not None
                epoch = self._monotonic() + self._platform[0]
            return _dt.datetime.fromtimestamp(epoch).date()
        if source == "clock":
            return _dt.datetime.fromtimestamp(self._wall()).date()
        return None
