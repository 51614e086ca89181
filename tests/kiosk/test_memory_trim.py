"""After a session the app gives freed memory back to the system, off the UI thread (P9)."""

from __future__ import annotations

import os
import threading
import time

import pytest

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


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_large_blocks_go_back_to_the_system_as_soon_as_they_are_freed():
    trimmer = MemoryTrimmer(settle_s=60)  # no trim in this test: what is freed must go back by itself
    try:
        if not trimmer.maps_large:
            pytest.skip("not glibc: the C library's own allocator decides")
        warm = bytes(4 * 2**20)  # one large block freed: glibc's default would raise its threshold past it
        del warm
        before = _rss_mb()
        # Large buffers (a frame's pixels, a PNG) between small blocks that stay: without the fixed
        # threshold glibc serves the later ones from the heap, where the small blocks pin them.
        kept, large = [], []
        for i in range(40):
            large.append(bytes([i % 251]) * (3 * 2**20))
            kept.append(bytes([i % 251]) * 4000)
        assert _rss_mb() > before + 100
        del large
        assert _rss_mb() < before + 10
    finally:
        trimmer.close()
