"""DeviceSupervisor against a scripted adapter: what any future adapter (printer, smart card, camera)
gets from it. The adapter here is a plain object implementing the documented SupervisedLink
protocol, scripted per call; the supervisor, StatusTracker and errors are the real ones."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from devices.base import (
    ActionHint,
    DeviceDisconnected,
    DeviceNotFound,
    DeviceProtocolError,
    DeviceState,
    DeviceTimeout,
    StatusTracker,
)
from devices.supervisor import Backoff, DeviceSupervisor

WAIT = 10.0


class ScriptedLink:
    """Each connect()/poll() takes the next scripted outcome (an exception to raise, or None)."""

    def __init__(self, tracker: StatusTracker, connects: list[BaseException | None] | None = None,
                 polls: list[BaseException | None] | None = None) -> None:
        self.tracker = tracker
        self.connect_script = list(connects or [])
        self.poll_script = list(polls or [])
        self.calls: list[str] = []
        self._cond = threading.Condition()

    def _next(self, script: list[BaseException | None], name: str) -> None:
        with self._cond:
            self.calls.append(name)
            self._cond.notify_all()
            outcome = script.pop(0) if script else None
        if outcome is not None:
            raise outcome

    def connect(self) -> None:
        self._next(self.connect_script, "connect")
        self.tracker.set_state(DeviceState.ONLINE)

    def disconnect(self) -> None:
        self._next([], "disconnect")

    def poll(self) -> None:
        self._next(self.poll_script, "poll")
        self.tracker.operation_ok()

    def count(self, name: str) -> int:
        with self._cond:
            return self.calls.count(name)

    def wait_for(self, pred: Callable[[], bool], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred():
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"calls so far: {self.calls}"
                self._cond.wait(min(remaining, 0.01))


FAST = Backoff(initial_s=0.001, max_s=0.004)


@pytest.fixture
def tracker() -> StatusTracker:
    return StatusTracker("printer")


def run(link: ScriptedLink, tracker: StatusTracker, **kwargs: object) -> Iterator[DeviceSupervisor]:
    supervisor = DeviceSupervisor(link, tracker, interval_s=0.001, backoff=FAST, **kwargs)  # type: ignore[arg-type]
    supervisor.start()
    try:
        yield supervisor
    finally:
        assert supervisor.stop()


def test_backoff_doubles_up_to_its_cap() -> None:
    b = Backoff(initial_s=0.2, max_s=1.0)
    delays = [b.initial_s]
    for _ in range(5):
        delays.append(b.after(delays[-1]))
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_absent_device_is_retried_until_it_appears(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker, connects=[DeviceNotFound("no port")] * 5)
    for sup in run(link, tracker):
        link.wait_for(lambda: link.count("poll") >= 3)
        assert link.count("connect") == 6 and sup.health().connects == 1
        assert tracker.snapshot().state is DeviceState.ONLINE and not sup.health().failing


def test_disconnect_drops_the_handle_and_reconnects(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker, polls=[None, DeviceDisconnected("cable pulled"), None])
    for sup in run(link, tracker):
        link.wait_for(lambda: link.count("poll") >= 4)
        assert link.calls[:5] == ["connect", "poll", "poll", "disconnect", "connect"]
        assert sup.health().connects >= 2


def test_consecutive_timeouts_escalate_to_hardware_error_and_success_clears_it(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker, polls=[DeviceTimeout("silent")] * 4)
    for sup in run(link, tracker, timeouts_to_error=3):
        link.wait_for(lambda: link.count("poll") >= 6)
        assert tracker.snapshot().state is DeviceState.ONLINE and not sup.health().escalated
    snap = tracker.snapshot()
    assert snap.last_error is not None and snap.last_error.hint is ActionHint.MAINTENANCE
    assert "did not answer 3 times in a row" in snap.last_error.message


def test_escalation_holds_while_timeouts_continue(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker, polls=[DeviceTimeout("silent")] * 1000)
    for sup in run(link, tracker, timeouts_to_error=2):
        link.wait_for(lambda sup=sup: sup.health().consecutive_timeouts >= 6)
        assert tracker.snapshot().state is DeviceState.HARDWARE_ERROR and sup.health().escalated


def test_timeouts_with_a_success_between_never_escalate(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker, polls=[DeviceTimeout("t"), DeviceTimeout("t"), None] * 3)
    for sup in run(link, tracker, timeouts_to_error=3):
        link.wait_for(lambda: link.count("poll") >= 10)
    assert tracker.snapshot().state is DeviceState.ONLINE


def test_never_dies_on_bugs_or_broken_disconnects(tracker: StatusTracker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    link = ScriptedLink(tracker, polls=[ZeroDivisionError("bug"), KeyError("bug"), DeviceProtocolError("bad frame"),
                                        DeviceDisconnected("gone"), None])
    link.disconnect = lambda: (_ for _ in ()).throw(RuntimeError("disconnect broke"))  # type: ignore[method-assign]
    for sup in run(link, tracker):
        link.wait_for(lambda: link.count("poll") >= 7)
        assert sup.running and not sup.health().failing
    assert "unexpected error in the adapter" in caplog.text and "disconnect failed" in caplog.text


def test_transitions_are_logged_once(tracker: StatusTracker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="devices.supervisor")
    link = ScriptedLink(tracker, connects=[DeviceNotFound("no port")] * 20)
    for sup in run(link, tracker):
        link.wait_for(lambda: link.count("poll") >= 2)
        link.wait_for(lambda sup=sup: not sup.health().failing)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["printer: failed: DeviceNotFound: no port", "printer: recovered"]
    assert sup.health().failures == 20


def test_wake_cuts_a_long_backoff_short(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker, connects=[DeviceNotFound("no port")])
    sup = DeviceSupervisor(link, tracker, interval_s=0.01, backoff=Backoff(initial_s=60, max_s=60))
    sup.start()
    try:
        link.wait_for(lambda: link.count("connect") == 1)
        sup.wake()  # e.g. a hot-plug notice: without it the next attempt is a minute away
        link.wait_for(lambda: link.count("poll") >= 1)
    finally:
        assert sup.stop()


def test_stop_joins_and_start_twice_is_refused(tracker: StatusTracker) -> None:
    link = ScriptedLink(tracker)
    sup = DeviceSupervisor(link, tracker, interval_s=0.01)
    sup.start()
    with pytest.raises(RuntimeError, match="already running"):
        sup.start()
    assert sup.stop() and not sup.running
    polls = link.count("poll")
    time.sleep(0.05)  # nothing runs after stop()
    assert link.count("poll") == polls
    with pytest.raises(ValueError):
        DeviceSupervisor(link, tracker, interval_s=0)
