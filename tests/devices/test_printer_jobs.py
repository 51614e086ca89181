"""Print jobs against the virtual printer over TCP: paper out mid-receipt, a link cut mid-receipt,
kept jobs finished, cancelled or expired, and never a second copy nobody asked for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from devices.base import ActionHint, DeviceEvent
from devices.printer import (
    REPRINT_MARK,
    PrintState,
    ReceiptLayout,
    ReceiptPrinter,
    VirtualPrinter,
    qr_payloads,
    render_escpos,
    stream_to_text,
)

TIMEOUT = 0.3
TRACKING = "HC-DEMO-001-20250601-000123"


def receipt(tracking_no: str = TRACKING) -> bytes:
    return render_escpos(ReceiptLayout(
        title="社保参保缴费证明", rows=[("姓名", "张**"), ("公民身份号码", "3502**********1234"),
                                        ("金额", "¥120（元）")],
        tracking_no=tracking_no, qr_url=f"https://zwfw.example.gov.cn/progress?no={tracking_no}",
        kiosk_id="HC-SQ-017", place="海虹社区服务站", printed_at=datetime(2025, 6, 1, 21, 30)), 58)


class Clock:
    """A hand-wound monotonic clock for expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sim() -> Iterator[VirtualPrinter]:
    with VirtualPrinter(paper_mm=58) as printer:
        yield printer


@pytest.fixture
def events() -> list[DeviceEvent]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def printer(sim: VirtualPrinter, events: list[DeviceEvent], clock: Clock) -> Iterator[ReceiptPrinter]:
    with ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, on_event=events.append, settle_s=0, keep_s=120,
                        clock=clock) as p:
        yield p


def flat(data: bytes) -> str:
    return "".join(line.strip() for line in stream_to_text(data, 58).splitlines())


def outcomes(events: list[DeviceEvent]) -> list[tuple[str, PrintState]]:
    return [(e.payload.job_id, e.payload.state) for e in events if e.kind == "job_outcome"]


def test_paper_out_mid_receipt_is_kept_and_finished_whole_once_the_roll_is_replaced(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: list[DeviceEvent]) -> None:
    data = receipt()
    sim.set_state(run_out_after=200)
    outcome = printer.print_job("job-1", data)
    assert outcome.state is PrintState.INTERRUPTED and outcome.kept and not outcome.printed
    assert "paper out" in outcome.reason and outcome.hint is ActionHint.CLEAR
    assert printer.pending() == ["job-1"]
    partial = sim.wait_for_job()
    assert partial == data[:200] and TRACKING not in flat(partial)  # the resident holds half a receipt

    assert printer.poll().paper.value == "out"  # still out: nothing is sent
    assert len(sim.jobs()) == 1

    sim.set_state(paper="ok")  # staff replaced the roll
    printer.poll()
    second = sim.wait_for_job(count=2)
    assert second == REPRINT_MARK + data
    assert "补打" in flat(second) and TRACKING in flat(second) and "张**" in flat(second)
    assert qr_payloads(second) == [f"https://zwfw.example.gov.cn/progress?no={TRACKING}"]
    assert outcomes(events) == [("job-1", PrintState.PRINTED)]
    assert printer.pending() == []

    # The flow retrying the same job id afterwards gets the outcome, not a third receipt.
    again = printer.print_job("job-1", data)
    assert again.state is PrintState.PRINTED
    printer.poll()
    assert len(sim.jobs()) == 2


def test_a_kept_job_is_finished_by_print_job_or_resume_pending_when_not_automatic(
        sim: VirtualPrinter, clock: Clock) -> None:
    data = receipt()
    with ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, settle_s=0, auto_resume=False, clock=clock) as p:
        sim.set_state(run_out_after=100)
        assert p.print_job("job-a", data).kept
        sim.set_state(paper="ok")
        p.poll()
        assert len(sim.jobs()) == 1 and p.pending() == ["job-a"]  # auto_resume off: the caller decides
        finished = p.print_job("job-a", b"ignored: the kept copy is printed")
        assert finished.state is PrintState.PRINTED
        assert sim.wait_for_job(count=2) == REPRINT_MARK + data
        sim.set_state(run_out_after=100)
        assert p.print_job("job-b", data).kept
        sim.set_state(paper="ok")
        assert [o.state for o in p.resume_pending()] == [PrintState.PRINTED]
        assert sim.wait_for_job(count=4) == REPRINT_MARK + data


def test_a_job_refused_for_paper_is_kept_and_prints_unmarked_when_paper_is_back(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: list[DeviceEvent]) -> None:
    data = receipt()
    sim.set_state(paper="out")
    refused = printer.print_job("job-r", data)
    assert refused.state is PrintState.REFUSED and refused.kept
    assert "replace the paper roll" in refused.reason
    assert sim.jobs() == []  # nothing was sent to a printer that could not print it
    sim.set_state(paper="low")
    printer.poll()
    assert sim.wait_for_job() == data  # nothing was on paper before: no reprint mark
    assert outcomes(events) == [("job-r", PrintState.PRINTED)]


def test_a_job_refused_by_a_silent_printer_is_not_kept(sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(silent=True)
    outcome = printer.print_job("job-s", receipt())
    assert outcome.state is PrintState.REFUSED and not outcome.kept
    assert printer.pending() == []


def test_cancelled_job_never_prints_and_its_bytes_are_gone(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(run_out_after=150)
    assert printer.print_job("job-c", receipt()).kept
    kept = printer._kept.get("job-c")  # white-box: the wipe is what the privacy promise rests on
    assert kept is not None
    buffer = kept.data
    assert printer.cancel("job-c") and not printer.cancel("job-c")
    assert buffer == bytearray() and printer.pending() == []
    sim.set_state(paper="ok")
    printer.poll()
    assert len(sim.jobs()) == 1  # only the half receipt from before


def test_a_kept_job_expires_so_the_next_resident_never_gets_it(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: list[DeviceEvent], clock: Clock) -> None:
    sim.set_state(run_out_after=150)
    assert printer.print_job("job-e", receipt()).kept
    clock.now += 119
    assert printer.pending() == ["job-e"]
    clock.now += 2  # the resident has long gone; a stranger stands at the kiosk when staff come
    sim.set_state(paper="ok")
    printer.poll()
    assert [e.payload for e in events if e.kind == "job_expired"] == ["job-e"]
    assert len(sim.jobs()) == 1 and printer.pending() == []


def test_at_most_keep_jobs_are_kept_oldest_dropped_first(
        sim: VirtualPrinter, events: list[DeviceEvent]) -> None:
    with ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, settle_s=0, keep_jobs=2, on_event=events.append) as p:
        sim.set_state(paper="out")
        for n in range(3):
            assert p.print_job(f"job-{n}", receipt(f"HC-{n}")).kept
        assert p.pending() == ["job-1", "job-2"]
        assert [e.payload for e in events if e.kind == "job_expired"] == ["job-0"]


def test_a_link_cut_mid_receipt_is_unknown_and_a_retry_sends_nothing(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    data = receipt()
    sim.set_state(drop_after=300)
    outcome = printer.print_job("job-d", data)
    assert outcome.state is PrintState.UNKNOWN and not outcome.printed and not outcome.kept
    assert "whether the receipt came out is unknown" in outcome.reason
    first = sim.wait_for_job()
    assert first == data[:300]
    connections = sim.connections

    retry = printer.print_job("job-d", data)  # e.g. the effect runner retrying after the error
    assert retry == outcome
    assert sim.connections == connections and sim.jobs() == [first]  # not even a status check

    printer.poll()  # the link is back; an unknown job is never resumed by itself
    assert sim.jobs() == [first]

    again = printer.reprint("job-d", data)  # a person confirmed no receipt came out
    assert again.state is PrintState.PRINTED
    assert sim.wait_for_job(count=2) == REPRINT_MARK + data


def test_a_cutter_fault_refuses_without_keeping_since_new_paper_would_not_help(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(raw_status={3: 0x12 | 0x08})
    outcome = printer.print_job("job-cut", receipt())
    assert outcome.state is PrintState.REFUSED and not outcome.kept
    assert "cutter error" in outcome.reason and outcome.hint is ActionHint.MAINTENANCE


def test_settle_keeps_watching_after_sending(sim: VirtualPrinter) -> None:
    with ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, settle_s=0.4) as p:
        before = len(sim.status_queries())
        assert p.print_job("job-settle", receipt()).printed
        assert len(sim.status_queries()) - before >= 12  # before, right after, and again while settling


def test_a_link_that_breaks_while_the_bytes_are_still_going_out_is_unknown(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    # Large enough that the kernel cannot buffer it all: the write itself fails when the link drops.
    data = receipt() + b"\n" * 4_000_000
    sim.set_state(drop_after=100)
    outcome = printer.print_job("job-big", data)
    assert outcome.state is PrintState.UNKNOWN and "the link broke while sending" in outcome.reason
    assert printer.print_job("job-big", data) == outcome
    assert sim.wait_for_job() == data[:100] and len(sim.jobs()) == 1
