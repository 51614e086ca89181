"""DeviceControl on real devices: the SAM reader simulator on a pty, virtual printers on TCP, the
settings file on disk. Changes are validated by the gateway's own rules and reopen one device."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from devices.id_card.identity import sample_cards
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.simulator import VirtualPrinter
from kiosk.privacy import mask_id_number, mask_name
from kiosk.settings import load_settings
from kiosk.terminal.device_control import DeviceControl
from kiosk.terminal.device_ops import probe_port
from kiosk.terminal.hardware import Hardware
from kiosk.terminal.maintenance import hash_pin

OWN_PIN_HASH = hash_pin("975310")  # this terminal's own PIN: the packaged sample one forbids real hardware


@pytest.fixture
def control(tmp_path: Path):
    settings = load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(tmp_path),
                                      "KIOSK_DEVICES__ID_READER": "sim://id-reader",
                                      "KIOSK_DEVICES__PRINTER": "sim://printer", "KIOSK_DEVICES__SSC_READER": "none",
                                      "KIOSK_MAINTENANCE__PIN_HASH": OWN_PIN_HASH})
    events: list = []
    hardware = Hardware.open(settings, events.append)
    try:
        yield DeviceControl(settings, hardware, events.append)
    finally:
        hardware.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_file(dc: DeviceControl) -> bytes | None:
    return dc.local_path.read_bytes() if dc.local_path.exists() else None


# -- refusals leave the file as it was ------------------------------------------------------------

@pytest.mark.parametrize("changes, words", [
    ({"id_reader": "none"}, "without an ID card reader"),
    ({"id_reader": ""}, "without an ID card reader"),
    ({"paper_width_mm": 70}, "58 or 80"),
    ({"read_timeout_s": 0}, "read_timeout_s"),
    ({"printer": "/dev/serial/by-id/usb-no-such-printer"}, "does not exist"),
    ({"printers": "sim://printer"}, "printers"),
    ({}, "no setting to change"),
])
def test_change_refuses_with_plain_words_and_leaves_the_file_unchanged(control, changes, words):
    control.change({"paper_width_mm": 58})  # a file exists: a refusal must not touch it
    before = local_file(control)
    reader, printer = control.hardware.id_reader, control.hardware.printer
    outcome = control.change(changes)
    assert not outcome.applied
    assert words in outcome.message and "nothing was changed" in outcome.message
    assert local_file(control) == before
    assert control.hardware.id_reader is reader and control.hardware.printer is printer


def test_change_of_printer_reopens_only_the_printer_and_prints_there(control):
    hw = control.hardware
    reader, sim = hw.id_reader, hw.id_simulator
    with VirtualPrinter() as new:
        outcome = control.change({"printer": new.uri})
        assert outcome.applied, outcome.message
        assert outcome.changes == {"printer": ("sim://printer", new.uri)}
        assert control.hardware is hw and hw.printer.endpoint.uri == new.uri
        assert hw.id_reader is reader and hw.id_simulator is sim  # the reader was not touched
        assert new.uri in local_file(control).decode()
        test = control.test("printer", "test_print")
        assert test.ok, test.detail
        assert "打印测试".encode("gb18030") in new.wait_for_job(timeout=10)
        assert control.apply_view({"revision": control.applied_revision}) is None  # already in use


def test_a_printer_that_cannot_be_opened_keeps_the_last_good_settings(control):
    old = control.hardware.printer
    before = local_file(control)
    outcome = control.change({"printer": f"tcp://127.0.0.1:{closed_port()}"})
    assert not outcome.applied
    assert "kept the last good settings" in outcome.message and "printer" in outcome.message
    assert local_file(control) == before  # no file before, none after
    assert control.hardware.printer is old and control.settings.devices.printer == "sim://printer"
    test = control.test("printer", "test_print")
    assert test.ok, test.detail  # still prints on the printer it had
    assert old.simulator is not None and old.simulator.wait_for_job(timeout=10)


def test_a_changed_read_timeout_reopens_the_reader_on_the_same_simulator(control):
    hw = control.hardware
    sim, reader = hw.id_simulator, hw.id_reader
    outcome = control.change({"read_timeout_s": 2.0})
    assert outcome.applied, outcome.message
    assert hw.id_simulator is sim and hw.id_reader is not reader and hw.id_reader.read_timeout_s == 2.0
    assert control.test("id_reader", "self_test").ok


# -- tests ------------------------------------------------------------------------------------------

def test_test_read_shows_only_masked_values(control):
    card = sample_cards()[0]
    none = control.test("id_reader", "test_read")
    assert not none.ok and "no card" in none.detail
    control.hardware.id_simulator.insert(card)
    read = control.test("id_reader", "test_read")
    assert read.ok, read.detail
    assert mask_name(card.name) in read.detail and mask_id_number(card.id_number) in read.detail
    assert card.name not in read.detail and card.id_number not in read.detail


def test_unknown_tests_and_absent_devices_are_reported_not_raised(control):
    assert not control.test("fax", "self_test").ok
    assert "not configured" in control.test("ssc_reader", "self_test").detail
    assert not control.test("id_reader", "test_print").ok
    assert control.test("camera", "self_test").ok  # the simulated face camera gives frames


def test_rows_and_paper_replaced(control):
    rows = {r.name: r for r in control.rows()}
    assert rows["id_reader"].state == "online" and rows["printer"].state == "online"
    assert rows["printer"].endpoint == "sim://printer" and "jobs_printed" in rows["printer"].counters
    sim = control.hardware.printer.simulator
    sim.set_state(paper="out")
    assert "not ready" in control.paper_replaced()
    sim.set_state(paper="ok")
    assert control.paper_replaced().startswith("纸已装好，打印机就绪")
    control.test("printer", "test_print")
    assert {r.name: r for r in control.rows()}["printer"].counters["jobs_printed"] == 1


# -- ports and probes -------------------------------------------------------------------------------

def test_probe_finds_a_sam_reader_at_its_line_speed():
    with IdReaderSimulator(line_baud=57600) as sim:
        found = probe_port(sim.port, timeout_s=0.3)
    assert found["found"] == "id_reader" and found["baud"] == 57600, found


def test_probe_through_control_pauses_the_reader_on_its_own_port(control):
    port = control.hardware.id_reader.url
    found = control.probe(port)
    assert found["found"] == "id_reader" and found["baud"] == 115200, found
    assert control.hardware.id_reader.polling  # polling resumed


def test_a_port_that_vanishes_mid_probe_gives_found_none(control):
    sim = IdReaderSimulator().start()
    try:
        sim.silent = True  # each baud rate waits for its timeout: time for the cable to be pulled
        threading.Timer(0.4, sim.unplug).start()
        found = control.probe(sim.port)
    finally:
        sim.stop()
    assert found["found"] is None and found["baud"] is None
    assert "cannot be used" in found["detail"] or "nothing answered" in found["detail"], found


def test_a_port_that_is_gone_gives_found_none(control, tmp_path):
    found = control.probe(str(tmp_path / "ttyUSB9"))
    assert found == {"port": str(tmp_path / "ttyUSB9"), "found": None, "baud": None,
                     "detail": found["detail"]} and "cannot be used" in found["detail"]


def test_ports_lists_serial_ports_with_names(control):
    for port in control.ports():
        assert {"name", "vendor", "model", "assigned_to", "device"} <= set(port)


# -- devices absent at start-up: down with the reason, picked up when they appear --------------------

def test_devices_absent_at_start_show_down_with_the_reason_and_are_picked_up(tmp_path):
    port = closed_port()
    link = tmp_path / "usb-SIM_IdReader_0001-if00-port0"  # not there yet
    settings = load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(tmp_path), "KIOSK_DEVICES__ID_READER": str(link),
                                      "KIOSK_DEVICES__PRINTER": f"tcp://127.0.0.1:{port}",
                                      "KIOSK_DEVICES__SSC_READER": "none", "KIOSK_MAINTENANCE__PIN_HASH": OWN_PIN_HASH})
    reads = threading.Event()
    hardware = Hardware.open(settings, lambda e: reads.set() if e.kind == "card_read" else None)  # does not raise
    try:
        dc = DeviceControl(settings, hardware, lambda e: None)
        deadline = time.monotonic() + 10
        while not all(r.last_error for r in dc.rows() if r.name in ("id_reader", "printer")):
            assert time.monotonic() < deadline, dc.rows()
            time.sleep(0.05)
        rows = {r.name: r for r in dc.rows()}
        assert rows["printer"].state != "online" and "refused" in rows["printer"].last_error
        assert rows["id_reader"].state == "no_device" and "does not exist" in rows["id_reader"].last_error
        assert hardware.available()["printer"] is False and hardware.available()["id_reader"] is False

        with VirtualPrinter(port=port), IdReaderSimulator(stable_path=link) as reader:
            reader.insert(sample_cards()[0])
            deadline = time.monotonic() + 10
            while not (hardware.available()["printer"] and reads.is_set()):
                assert time.monotonic() < deadline, dc.rows()
                time.sleep(0.05)
            rows = {r.name: r for r in dc.rows()}
            assert rows["printer"].state == "online" and rows["id_reader"].state == "online"
            assert hardware.available()["id_reader"] is True
            assert dc.print_job("after-pickup", b"\x1b@hello\n").printed
    finally:
        hardware.close()
