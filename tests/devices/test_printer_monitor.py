"""The printer's monitor thread against the virtual printer over TCP: paper threshold events,
silence, power cycles, garbage, and kept jobs finished when staff replace the roll."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from devices.base import DeviceEvent, DeviceState
from devices.printer import (
    REPRINT_MARK,
    PaperLevel,
    PrintState,
    ReceiptLayout,
    ReceiptPrinter,
    VirtualPrinter,
    render_escpos,
)

TIMEOUT = 0.3
INTERVAL = 0.05
WAIT = 15.0  # generous: the machine is shared


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Events:
    """Thread-safe list of device events (the monitor thread appends)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[DeviceEvent] = []

    def __call__(self, event: DeviceEvent) -> None:
        with self._lock:
            self._items.append(event)

    def kinds(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [e.kind for e in self._items if e.kind.startswith(prefix)]

    def of(self, kind: str) -> list[DeviceEvent]:
        with self._lock:
            return [e for e in self._items if e.kind == kind]


@pytest.fixture
def sim() -> Iterator[VirtualPrinter]:
    with VirtualPrinter(paper_mm=58) as printer:
        yield printer


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def printer(sim: VirtualPrinter, events: Events) -> Iterator[ReceiptPrinter]:
    p = ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, on_event=events, settle_s=0)
    p.open()
    p.start_monitoring(INTERVAL)
    yield p
    p.close()


def receipt() -> bytes:
    return render_escpos(ReceiptLayout(
        title="不动产登记信息查询结果", rows=[("权利人", "王**"), ("证件号码", "3502**********5678")],
        tracking_no="HC-DEMO-001-20250601-000777", qr_url="https://zwfw.example.gov.cn/progress?no=X",
        kiosk_id="HC-SQ-017", place="海虹社区服务站", printed_at=datetime(2025, 6, 1, 22, 5)), 58)


def test_paper_threshold_events_come_once_per_change(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: Events) -> None:
    assert events.kinds("paper_") == ["paper_full"]  # from open()
    for paper, expected in (("low", ["paper_full", "paper_low"]),
                            ("out", ["paper_full", "paper_low", "paper_out"]),
                            ("ok", ["paper_full", "paper_low", "paper_out", "paper_full"])):
        sim.set_state(paper=paper)
        wait_for(lambda expected=expected: events.kinds("paper_") == expected, f"paper {paper}")
        polls = len(sim.status_queries())
        wait_for(lambda polls=polls: len(sim.status_queries()) >= polls + 8, "two more polls")
        assert events.kinds("paper_") == expected  # polled again, nothing repeated
    assert printer.status().detail["paper"] == "ok" and printer.can_print()


def test_a_silent_printer_reads_offline_never_paper_adequate(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: Events) -> None:
    sim.set_state(silent=True)
    wait_for(lambda: printer.status().state is DeviceState.OFFLINE, "offline")
    status = printer.status()
    assert status.detail["paper"] == "unknown" and status.detail["ready"] is False
    assert "not answering" in status.detail["reason"]
    assert not printer.can_print()
    assert events.kinds("paper_") == ["paper_full"]  # silence says nothing about the paper


def test_a_power_cycled_printer_is_offline_then_recovered(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: Events) -> None:
    sim.set_state(powered=False)
    wait_for(lambda: printer.status().state is DeviceState.OFFLINE, "offline while switched off")
    assert "printer not reachable" in printer.status().detail["reason"]
    assert not printer.can_print()
    assert events.of("recovered") == []
    sim.set_state(paper="low")  # switched on again, with a roll that is nearly used up
    wait_for(lambda: len(events.of("recovered")) == 1, "recovered")
    health = events.of("recovered")[0].payload
    assert health.ready and health.paper is PaperLevel.LOW
    assert printer.status().state is DeviceState.ONLINE and printer.can_print()
    assert events.kinds("paper_")[-1] == "paper_low"


@pytest.mark.parametrize("raw", [{1: 0x00}, {2: b"\x00garbage\xff"}, {3: None, 4: None}, {4: b""}])
def test_garbage_and_truncated_replies_are_a_status_and_the_monitor_carries_on(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: Events, raw: dict) -> None:
    sim.set_state(raw_status=raw)
    wait_for(lambda: printer.status().state in (DeviceState.HARDWARE_ERROR, DeviceState.OFFLINE),
             "a status for the bad reply")
    assert not printer.can_print()
    assert printer.monitoring
    sim.set_state(paper="ok")
    wait_for(lambda: printer.can_print(), "ready again")
    assert len(events.of("recovered")) == 1


def test_the_monitor_finishes_a_kept_job_when_the_roll_is_replaced(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: Events) -> None:
    data = receipt()
    sim.set_state(run_out_after=250)
    outcome = printer.print_job("job-m", data)
    assert outcome.state is PrintState.INTERRUPTED and outcome.kept
    polls = len(sim.status_queries())
    wait_for(lambda: len(sim.status_queries()) >= polls + 8, "polls while the paper is out")
    assert len(sim.jobs()) == 1
    sim.set_state(paper="ok")
    wait_for(lambda: len(events.of("job_outcome")) == 1, "the kept job finished")
    finished = events.of("job_outcome")[0].payload
    assert finished.job_id == "job-m" and finished.state is PrintState.PRINTED
    assert sim.wait_for_job(count=2, timeout=WAIT) == REPRINT_MARK + data
    polls = len(sim.status_queries())
    wait_for(lambda: len(sim.status_queries()) >= polls + 8, "more polls")
    assert len(sim.jobs()) == 2 and printer.pending() == []


def test_stop_monitoring_joins_its_thread_and_close_stops_it(sim: VirtualPrinter) -> None:
    p = ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, settle_s=0)
    p.open()
    p.start_monitoring(INTERVAL)
    p.start_monitoring(INTERVAL)  # idempotent: still one thread
    names = [t.name for t in threading.enumerate() if t.name.startswith("printer-monitor")]
    assert names == ["printer-monitor:printer"]
    p.stop_monitoring()
    assert not [t for t in threading.enumerate() if t.name.startswith("printer-monitor")]
    p.start_monitoring(INTERVAL)
    p.close()
    assert not p.monitoring
    assert not [t for t in threading.enumerate() if t.name.startswith("printer-monitor")]
    with pytest.raises(ValueError):
        p.start_monitoring(0)
