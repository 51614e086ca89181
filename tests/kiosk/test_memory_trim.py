"""After a session the app gives freed memory back to the system, off the UI thread (P9)."""

from __future__ import annotations

import threading
import time

from kiosk.terminal.memory import MemoryTrimmer


def test_a_request_trims_once_after_settling_and_close_ends_the_thread():
    before = {t.name for t in threading.enumerate()}
    trimmer = MemoryTrimmer(settle_s=0.05)
    try:
        assert trimmer.trims == 0
        for _ in range(5):  # sessions in quick succession: one trim once they settle
            trimmer.request()
        deadline = time.monotonic() + 10
        while trimmer.trims < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trimmer.trims == 1
        time.sleep(0.2)
        assert trimmer.trims == 1  # nothing asked since: nothing done
        trimmer.request()
        deadline = time.monotonic() + 10
        while trimmer.trims < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trimmer.trims == 2
    finally:
        trimmer.close()
    assert {t.name for t in threading.enumerate()} <= before
