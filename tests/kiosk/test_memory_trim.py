"""After a session the app gives freed memory back to the system, off the UI thread (P9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

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



# A fresh interpreter: RSS is the whole process's, and other tests' threads would move it.
LARGE_BLOCKS = """
import json
from kiosk.terminal.memory import MemoryTrimmer

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * __import__("os").sysconf("SC_PAGE_SIZE") / 2**20

trimmer = MemoryTrimmer(settle_s=60)  # no trim here: what is freed must go back by itself
warm = bytes(4 * 2**20)  # one large block freed: glibc's default would raise its threshold past it
del warm
before = rss_mb()
# Large buffers (a frame's pixels, a PNG) between small blocks that stay: without the fixed threshold
# glibc serves the later ones from the heap, where the small blocks pin them.
kept, large = [], []
for i in range(40):
    large.append(bytes([i % 251]) * (3 * 2**20))
    kept.append(bytes([i % 251]) * 4000)
held = rss_mb()
del large
print(json.dumps({"maps_large": trimmer.maps_large, "held": held - before, "after": rss_mb() - before}))
trimmer.close()
"""


def test_large_blocks_go_back_to_the_system_as_soon_as_they_are_freed():
    out = subprocess.run([sys.executable, "-c", LARGE_BLOCKS], capture_output=True, text=True, timeout=60,
                         check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    grown = json.loads(out.stdout)
    if not grown["maps_large"]:
        pytest.skip("not glibc: the C library's own allocator decides")
    assert grown["held"] > 100  # 40 blocks of 3 MB were resident
    assert grown["after"] < 10  # and went back when freed, with no trim
