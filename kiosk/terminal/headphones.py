"""The headphone jack: plugging headphones in starts audio mode where the platform reports it.

Linux reports a jack's switch as an input device (``/dev/input/by-path/…-event``; ``evtest`` shows which):
``EV_SW`` events with ``SW_HEADPHONE_INSERT`` (or ``SW_JACK_PHYSICAL_INSERT``), value 1 when plugged
and 0 when pulled. ``[speech] audio_jack`` names that device; empty (the default) means the platform
gives none, and the keypad's help key starts audio mode instead. :class:`HeadphoneJack` reads it without
blocking and without a thread: the app's loop polls it each turn.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

EVENT = struct.Struct("llHHi")  # struct input_event: timeval, type, code, value
EV_SW = 0x05
JACK_SWITCHES = frozenset({0x02, 0x07})  # SW_HEADPHONE_INSERT, SW_JACK_PHYSICAL_INSERT
RETRY_S = 5.0


class HeadphoneJack:
    """Polls the jack's input device: :meth:`poll` says whether headphones went in (True), came out
    (False) or nothing changed (None). A device that cannot be opened is retried every few seconds,
    its reason logged once."""

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self.reason = ""
        self._fd: int | None = None
        self._buffer = b""
        self._next_try = 0.0

    def poll(self) -> bool | None:
        if self._fd is None and not self._open():
            return None
        assert self._fd is not None
        try:
            chunk = os.read(self._fd, EVENT.size * 64)
        except BlockingIOError:
            return None
        except OSError as exc:  # the device went away (a USB sound card unplugged)
            self._fail(f"reading {self.path} failed: {exc.strerror or exc}")
            return None
        if not chunk:
            return None
        self._buffer += chunk
        plugged: bool | None = None
        while len(self._buffer) >= EVENT.size:
            _, _, kind, code, value = EVENT.unpack_from(self._buffer)
            self._buffer = self._buffer[EVENT.size:]
            if kind == EV_SW and code in JACK_SWITCHES:
                plugged = bool(value)
        return plugged

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> bool:
        now = self.clock()
        if now < self._next_try:
            return False
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            self._fail(f"cannot open the headphone jack's device {self.path}: {exc.strerror or exc}; "
                       "check [speech] audio_jack (evtest lists the input devices)")
            return False
        if self.reason:
            log.info("headphone jack: %s answers again", self.path)
        self.reason = ""
        return True

    def _fail(self, reason: str) -> None:
        self.close()
        self._next_try = self.clock() + RETRY_S
        if reason != self.reason:
            log.warning("headphone jack: %s", reason)
        self.reason = reason
