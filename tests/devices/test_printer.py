"""ReceiptPrinter over real TCP to the VirtualPrinter: health, refusals, no double prints, clear errors."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from PIL import Image

from devices.base import ActionHint, DeviceEvent, DeviceNotFound, DeviceProtocolError, DeviceState
from devices.printer import (
    PaperLevel,
    PrintState,
    ReceiptLayout,
    ReceiptPrinter,
    VirtualPrinter,
    render_escpos,
    stream_to_text,
)

TIMEOUT = 0.3


def receipt(tracking_no: str = "HC20250601-00123") -> bytes:
    return render_escpos(ReceiptLayout(
        title="社保参保缴费证明", rows=[("公民身份号码", "3502**********1234"), ("金额", "¥120（元）")],
        tracking_no=tracking_no, qr_url=f"https://zwfw.xm.gov.cn/p?no={tracking_no}",
        kiosk_id="HC-SQ-017", place="海虹社区服务站", printed_at=datetime(2025, 6, 1, 21, 30)), 58)


@pytest.fixture
def sim() -> Iterator[VirtualPrinter]:
    with VirtualPrinter(paper_mm=58) as printer:
        yield printer


@pytest.fixture
def events() -> list[DeviceEvent]:
    return []


@pytest.fixture
def printer(sim: VirtualPrinter, events: list[DeviceEvent]) -> Iterator[ReceiptPrinter]:
    with ReceiptPrinter(sim.uri, timeout_s=TIMEOUT, on_event=events.append, settle_s=0) as p:
        yield p


def paper_events(events: list[DeviceEvent]) -> list[str]:
    return [e.kind for e in events if e.kind.startswith("paper_")]


def test_a_receipt_arrives_byte_for_byte_and_reads_back_as_chinese(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    data = receipt()
    outcome = printer.print_job("job-1", data)
    assert outcome.printed and outcome.hint is ActionHint.NONE
    assert sim.wait_for_job() == data  # the status queries are not part of the print
    assert "社保参保缴费证明" in stream_to_text(sim.received(), 58).replace("\n", "").replace(" ", "")
    assert sim.status_queries()[-8:] == [1, 2, 3, 4, 1, 2, 3, 4]  # checked before and after
    assert printer.status().state is DeviceState.ONLINE and printer.status().operations == 1
    image = Image.open(io.BytesIO(sim.render_png()))
    assert image.width == 384 and image.height > 300


@pytest.mark.parametrize("script, paper, state, hint, words", [
    ({"paper": "ok"}, PaperLevel.OK, DeviceState.ONLINE, ActionHint.NONE, ""),
    ({"paper": "low"}, PaperLevel.LOW, DeviceState.ONLINE, ActionHint.CLEAR, "paper near end"),
    ({"paper": "out"}, PaperLevel.OUT, DeviceState.USER_ERROR, ActionHint.CLEAR, "paper out"),
    ({"cover_open": True}, PaperLevel.OK, DeviceState.USER_ERROR, ActionHint.CLEAR, "cover open"),
    ({"silent": True}, PaperLevel.UNKNOWN, DeviceState.OFFLINE, ActionHint.MAINTENANCE, "not answering"),
])
def test_scripted_states_give_the_right_health(sim: VirtualPrinter, printer: ReceiptPrinter,
                                               script: dict, paper: PaperLevel, state: DeviceState,
                                               hint: ActionHint, words: str) -> None:
    sim.set_state(**script)
    health = printer.query_status()
    assert health.paper is paper
    assert health.state is state and health.hint is hint
    assert words in health.reason
    assert health.ready is (state is DeviceState.ONLINE)
    assert printer.status().state is state


def test_a_silent_printer_is_offline_not_paper_adequate_and_answers_within_the_timeout(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(silent=True)
    started = time.monotonic()
    health = printer.query_status()
    assert time.monotonic() - started < 3 * TIMEOUT
    assert not health.responding and not health.online and health.paper is PaperLevel.UNKNOWN
    outcome = printer.print_job("job-silent", receipt())
    assert not outcome.printed and "not answering" in outcome.reason


@pytest.mark.parametrize("raw, words", [
    ({1: 0x00}, "0x00"),                 # lacks the fixed bits 0x12
    ({2: b"OK\r\n"}, "0x4F"),            # text from something that is not an ESC/POS printer
    ({4: 0x01}, "0x01"),
])
def test_a_garbled_status_is_a_status_not_an_exception(
        sim: VirtualPrinter, printer: ReceiptPrinter, raw: dict, words: str) -> None:
    sim.set_state(raw_status=raw)
    health = printer.query_status()
    assert health.garbled and not health.ready and health.paper is PaperLevel.UNKNOWN
    assert words in health.reason and "ESC/POS" in health.reason
    assert printer.status().state is DeviceState.HARDWARE_ERROR
    outcome = printer.print_job("job-garbled", receipt())
    assert not outcome.printed and outcome.state is PrintState.REFUSED and not outcome.kept
    assert sim.jobs() == []
    sim.set_state(paper="ok")
    assert printer.query_status().ready  # one good answer and the printer is back


def test_a_truncated_status_answer_is_offline_not_paper_adequate(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(raw_status={3: None, 4: None})  # answers 1 and 2, then nothing
    health = printer.query_status()
    assert not health.responding and health.paper is PaperLevel.UNKNOWN and not health.ready
    assert printer.status().state is DeviceState.OFFLINE


def test_a_stray_byte_before_the_answer_does_not_turn_the_status(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(paper="low", raw_status={1: b"\x12\x12"})  # one reply too many for n=1
    health = printer.query_status()
    assert health.responding and health.paper is PaperLevel.LOW


def test_paper_events_fire_only_when_the_level_changes(
        sim: VirtualPrinter, printer: ReceiptPrinter, events: list[DeviceEvent]) -> None:
    # open() already read "ok" once
    for paper in ("ok", "low", "low", "out", "out", "ok", "ok"):
        sim.set_state(paper=paper)
        printer.query_status()
    sim.set_state(silent=True)
    printer.query_status()  # silence says nothing about paper
    assert paper_events(events) == ["paper_full", "paper_low", "paper_out", "paper_full"]
    assert all(e.device == "printer" for e in events)


def test_job_refused_when_paper_out_then_printed_after_the_roll_is_replaced(
        sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    data = receipt()
    sim.set_state(paper="out")
    refused = printer.print_job("job-7", data)
    assert not refused.printed
    assert "paper out" in refused.reason and "replace the paper roll" in refused.reason
    assert refused.hint is ActionHint.CLEAR
    status = printer.status()
    assert status.state is DeviceState.USER_ERROR
    assert status.last_error is not None and status.last_error.hint is ActionHint.CLEAR
    sim.set_state(paper="ok")
    printed = printer.print_job("job-7", data)
    assert printed.printed
    assert sim.wait_for_job() == data
    assert sim.jobs() == [data]  # nothing of the refused attempt was printed


def test_cover_open_refuses_the_job(sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(cover_open=True)
    outcome = printer.print_job("job-c", receipt())
    assert not outcome.printed and "cover open" in outcome.reason


def test_the_same_job_id_prints_once(sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    first, second = receipt("HC-1"), receipt("HC-2")
    outcome = printer.print_job("job-A", first)
    assert printer.print_job("job-A", first) == outcome  # a retry after e.g. a UI double tap
    printer.print_job("job-B", second)
    sim.wait_for_job(count=2)
    assert sim.jobs() == [first, second]  # connections are served in order: a repeat would sit between
    assert printer.status().operations == 2


def test_paper_low_still_prints_and_says_so(sim: VirtualPrinter, printer: ReceiptPrinter) -> None:
    sim.set_state(paper="low")
    outcome = printer.print_job("job-low", receipt())
    assert outcome.printed and "paper near end" in outcome.reason


def test_connection_refused_names_the_address_and_later_jobs_are_refused_not_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p = ReceiptPrinter(f"tcp://127.0.0.1:{port}", timeout_s=TIMEOUT)
    with pytest.raises(DeviceNotFound, match=f"127.0.0.1:{port}"):
        p.open()
    assert p.status().state is DeviceState.NO_DEVICE
    health = p.query_status()
    assert not health.responding and f"127.0.0.1:{port}" in health.reason
    outcome = p.print_job("job-x", b"x")
    assert outcome.state is PrintState.REFUSED and "refused the connection" in outcome.reason
    assert outcome.hint is ActionHint.CONFIGURATION
    p.close()


def test_serial_url_transport_reaches_the_same_printer(sim: VirtualPrinter) -> None:
    host, port = sim.address
    with ReceiptPrinter(f"socket://{host}:{port}", timeout_s=TIMEOUT, settle_s=0) as p:
        assert p.query_status().paper is PaperLevel.OK
        assert p.print_job("job-s", receipt()).printed
    assert sim.wait_for_job() == receipt()


def test_loopback_serial_port_is_not_mistaken_for_a_printer() -> None:
    # loop:// echoes our own DLE EOT back: 0x10 lacks the fixed bits.
    with pytest.raises(DeviceProtocolError):
        ReceiptPrinter("loop://", timeout_s=TIMEOUT).open()


def test_file_transport_appends_the_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "printer.bin"
    with ReceiptPrinter(f"file://{target}") as p:
        assert p.print_job("f-1", b"one").printed
        assert p.print_job("f-2", b"two").printed
        assert p.query_status().ready
        assert p.status().state is DeviceState.ONLINE
    assert target.read_bytes() == b"onetwo"
    with pytest.raises(DeviceNotFound, match="cannot be written"):
        ReceiptPrinter(f"file://{tmp_path}/missing/dir/p.bin").open()


def test_sim_endpoint_owns_its_simulator() -> None:
    p = ReceiptPrinter("sim://printer", timeout_s=TIMEOUT)
    p.open()
    sim = p.simulator
    assert sim is not None
    try:
        assert p.print_job("sim-1", receipt()).printed
        assert sim.wait_for_job() == receipt()
    finally:
        p.close()
    assert p.simulator is None
    with pytest.raises(RuntimeError):
        _ = sim.address  # stopped: its socket is closed
