"""R6 / P9: scripted sessions leave no growth in memory, threads or file descriptors.

The kiosk app runs in this process (headless, simulated ID card reader and printer) against a real
gateway and platform simulator on 127.0.0.1. Sessions alternate between the cheap loop a passer-by
makes (attract → 开始 → home → 退出) and, every ``FULL_EVERY``-th session, the whole P10 journey
(ID card, 社保参保缴费证明打印, confirm, print, rate) so the reader, the effect runner, the gateway
client and the printer all turn over too.

Samples: RSS from ``/proc/self/statm``, ``threading.active_count()``, entries of ``/proc/self/fd``,
taken after a warm-up (caches, fonts, connection pools fill on first use) and at the end.

Tolerances (why):
- threads: none more — every thread has an owner that stops it, so any extra is a leak.
- fds: at most 16 more — HTTP keep-alive connections (the app's gateway client, the forwarder's and
  the proxies' platform clients, the servers' channels) fill up over the first ~20 journeys and then
  stay put (measured +10 … +16 over 80 journeys, after gc), each counted twice since both ends live
  in this process; a leak of two sockets per journey passes 16 within this run's 10 journeys.
- RSS: the short run allows 8 MB (allocator arenas and the gateway's SQLite page cache settle
  unevenly over a few hundred sessions); the 10,000-session soak holds TARGETS P9's 5 MB.
Samples follow a ``gc.collect()``: a few HTTP sockets of finished journeys sit in reference
cycles until the cyclic collector runs (measured: without it fds rise by ~2 per journey, then
fall back on collection), which is reclamation, not a leak.
Threads, fds and RSS are compared after waiting (up to 15 s) for in-flight work to settle: a
condition, not a sleep. The sessions run in a fresh interpreter (``spawn``), so the heap that earlier
tests of the same pytest run left behind (measured: RSS 780 MB at the start of this test in a full run,
against 250 MB alone) does not blur the few megabytes this test looks for.
"""

from __future__ import annotations

import gc
import mmap
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from kiosk.settings import load_settings
from local_api.server import start_gateway, start_platform_sim
from screens.app import KioskApp
from screens.demo import CardWatch, ScriptedResident, demo_settings
from screens.demo_journeys import home_after_card

DEMO_ITEM = "rs-sbjfzm"
FULL_EVERY = 20
WARM_UP = 40
FD_SLACK = 16
WAIT_S = 60.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


class Sessions:
    """The stack and a resident who comes back again and again."""

    def __init__(self, tmp: Path) -> None:
        base = load_settings(None, {})
        self.platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
        s = demo_settings(base, str(tmp / "gateway-data"), self.platform.url)
        self.gateway = start_gateway(s)
        self.shift = 0.0
        self.app = KioskApp(s, gateway_url=self.gateway.url, headless=True,
                            clock=lambda: time.monotonic() + self.shift)
        self.resident = ScriptedResident(self.app)
        self.cards = CardWatch()
        self.done = 0
        self.rss_slack_mb = 0.0

    def close(self) -> None:
        self.cards.close()
        try:
            self.app.close()
        finally:
            try:
                self.gateway.close()
            finally:
                self.platform.close()

    def tap(self, target: str) -> None:
        """Touch like a resident who read the screen first: the app's clock moves on 0.4 s, so
        the app's double-tap guard is past without a real wait (thousands of sessions add up)."""
        self.shift += 0.4  # past the app's double-tap guard (DOUBLE_TAP_S), short of the card's 2 s
        self.resident.touch(target)

    def step_until(self, ok, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + WAIT_S
        while not ok():
            assert time.monotonic() < deadline, f"session {self.done}: {what}; on {self.app.flow.screen.value!r}"
            self.app.step()
            time.sleep(0.005)

    def to_attract(self) -> None:
        def later() -> bool:
            if self.app.flow.screen.value == "attract":
                return True
            self.shift += 1.0  # thanks and notices run out on the app's clock
            return False
        self.step_until(later, "back to attract")
        self.app.step()

    def cheap(self) -> None:
        self.to_attract()
        self.tap("start")
        self.resident.wait_for("home", WAIT_S)
        self.tap("exit")
        self.resident.wait_for("attract", WAIT_S)

    def full(self) -> None:
        r = self.resident
        self.to_attract()
        before = self.cards.removed
        self.app.insert_sample_card(self.done % 3)
        home_after_card(r, WAIT_S)  # the third card's holder is told what she was granted without applying
        self.tap(f"item:{DEMO_ITEM}")
        self.step_until(lambda: self.app.flow.screen.value in ("confirm", "consent"), "confirm or consent")
        self.tap(self.app.flow.screen.value)  # 确认, or 同意并打印 with the face check: its target is the screen's name
        r.wait_for("done", WAIT_S)
        assert self.app.flow.view().receipt_no, "the journey ended without a receipt number"
        self.tap("rate:1")
        r.wait_for("thanks", WAIT_S)
        sim = self.app.terminal.hardware.id_simulator
        assert sim is not None
        sim.remove()  # the resident takes the card
        self.step_until(lambda: self.cards.removed > before, "the reader noticing the card left")

    def run(self, n: int) -> None:
        for _ in range(n):
            (self.full if self.done % FULL_EVERY == 0 else self.cheap)()
            self.done += 1

    def settle(self, threads: int, fds: int, rss: float) -> tuple[int, int, float]:
        """Step until threads, fds and RSS are back within tolerance (or 15 s passed); return them.
        Work still in flight at the last session (a face check's frames, a delivery) holds memory
        and sockets for a moment: measured, RSS can stand 8 MB high for a sample and drop back."""
        deadline = time.monotonic() + 15
        while True:
            self.app.step()
            gc.collect()
            now = threading.active_count(), fd_count(), rss_mb()
            if (now[0] <= threads and now[1] <= fds + FD_SLACK and now[2] <= rss + self.rss_slack_mb) \
                    or time.monotonic() > deadline:
                return now
            time.sleep(0.1)


def soak(tmp_path: Path, sessions: int, rss_slack_mb: float) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=measure, args=(tmp_path, sessions, rss_slack_mb, results), name="sessions")
    child.start()
    try:
        outcome = results.get(timeout=4 * 3600)
    finally:
        child.join(timeout=60)
    if isinstance(outcome, BaseException):
        raise outcome
    threads0, fds0, rss0, threads1, fds1, rss1 = outcome
    report = (f"{sessions} sessions after {WARM_UP} warm-up: RSS {rss0:.1f} → {rss1:.1f} MB, "
              f"threads {threads0} → {threads1}, fds {fds0} → {fds1}")
    print(report)
    assert threads1 <= threads0, report
    assert fds1 <= fds0 + FD_SLACK, report
    assert rss1 - rss0 <= rss_slack_mb, report


def measure(tmp_path: Path, sessions: int, rss_slack_mb: float, results: multiprocessing.Queue) -> None:
    """In the child: run the sessions and put (threads, fds, RSS before; the same after) on ``results``,
    or the exception that stopped the run."""
    try:
        results.put(_measure(tmp_path, sessions, rss_slack_mb))
    except BaseException as exc:
        results.put(exc)
        raise


def _measure(tmp_path: Path, sessions: int, rss_slack_mb: float) -> tuple[int, int, float, int, int, float]:
    rig = Sessions(tmp_path)
    try:
        rig.run(WARM_UP)
        gc.collect()
        rss0, threads0, fds0 = rss_mb(), threading.active_count(), fd_count()
        rig.run(sessions)
        rig.rss_slack_mb = rss_slack_mb
        threads1, fds1, rss1 = rig.settle(threads0, fds0, rss0)
    finally:
        rig.close()
    return threads0, fds0, rss0, threads1, fds1, rss1


def test_sessions_do_not_grow_memory_threads_or_fds(tmp_path: Path):
    soak(tmp_path, 200, rss_slack_mb=8.0)


def test_resource_samplers_see_growth():
    """The samplers can fail a run: 20 MB held and an open file are seen."""
    rss0, fds0 = rss_mb(), fd_count()
    # A fresh anonymous mapping, not a bytearray: in a long test process the allocator may hand back
    # pages that are already resident, and the ballast would not show.
    ballast = mmap.mmap(-1, 20 * 2**20)
    try:
        for offset in range(0, len(ballast), PAGE):  # touch every page so it is resident
            ballast[offset] = 1
        with open(os.devnull) as extra:
            assert rss_mb() - rss0 >= 19 and fd_count() == fds0 + 1, extra
    finally:
        ballast.close()


@pytest.mark.soak
@pytest.mark.timeout(4 * 3600)
def test_ten_thousand_sessions_do_not_grow(tmp_path: Path):
    soak(tmp_path, 10_000, rss_slack_mb=5.0)
