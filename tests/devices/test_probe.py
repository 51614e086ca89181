"""Probing a port before assigning it: the right device, at the right speed, with late answers drained.

Real stacks: the SAM reader simulator on a pty (set to one line speed, answering late when told), a
serial ESC/POS printer on a pty (below, answering DLE EOT only at its own speed), and the TCP virtual
printer; the probe opens them with pyserial and the kiosk's printer links like any real port.
"""

from __future__ import annotations

import json
import os
import select
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from devices.id_card.simulator import IdReaderSimulator
from devices.printer import VirtualPrinter
from devices.probe import probe_id_reader, probe_printer, probe_serial_printer
from kiosk.cli import main
from kiosk.terminal.device_ops import probe_port


class PtyPrinter:
    """A serial receipt printer on a pty. It hears DLE EOT n only when the port is set to ``line_baud``
    (as a real UART at another speed hears noise) and answers after ``delay_s`` (a busy printer)."""

    def __init__(self, line_baud: int = 9600, *, paper: str = "ok", delay_s: float = 0.0) -> None:
        self.line_baud, self.paper, self.delay_s = line_baud, paper, delay_s
        self.master, self._slave = os.openpty()
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def status(self, n: int) -> int:
        out = self.paper == "out"
        return {1: 0x12 | (0x08 if out else 0), 2: 0x12 | (0x20 if out else 0), 3: 0x12,
                4: 0x12 | (0x6C if out else 0x0C if self.paper == "low" else 0)}.get(n, 0x12)

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
                speed_ok = termios.tcgetattr(self.master)[4] == getattr(termios, f"B{self.line_baud}")
            except OSError:
                return
            if not speed_ok:
                pending = b""
                continue
            pending += chunk
            while (i := pending.find(b"\x10\x04")) >= 0 and len(pending) > i + 2:
                n = pending[i + 2]
                pending = pending[i + 3:]
                if self.delay_s and self._stop.wait(self.delay_s):
                    return
                self.delay_s = 0.0  # only the first answer is late
                try:
                    os.write(self.master, bytes((self.status(n),)))
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def make_printer() -> Iterator[type[PtyPrinter]]:
    made: list[PtyPrinter] = []

    class Made(PtyPrinter):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            made.append(self)

    yield Made
    for printer in made:
        printer.close()


# -- the ID card reader ---------------------------------------------------------------------------

def test_a_reader_is_found_at_its_speed_and_confirmed_with_its_sam_id() -> None:
    with IdReaderSimulator(line_baud=38400) as sim:
        found = probe_id_reader(sim.port, timeout_s=0.3)
    assert found.found and found.baud == 38400 and found.tried == [115200, 57600, 38400]
    assert found.sam_status == "ok" and found.sam_id == "0501000020101010000123456789abcd"
    assert not found.late and found.unconfirmed == []


def test_a_reader_answering_late_at_115200_is_found_at_115200_not_at_the_next_speed() -> None:
    with IdReaderSimulator(line_baud=115200) as sim:
        sim.delay_next(0.6)  # the first answer comes after the 0.4 s timeout, while the probe still listens
        found = probe_id_reader(sim.port, timeout_s=0.4)
    assert found.found and found.baud == 115200 and found.late
    assert found.tried == [115200]


def test_an_answer_too_late_for_its_speed_is_not_taken_for_the_next_one() -> None:
    with IdReaderSimulator(line_baud=115200) as sim:
        sim.delay_next(1.1)  # past the timeout and the late window: it lands while 57600 is being tried
        found = probe_id_reader(sim.port, timeout_s=0.3)
    assert found.baud != 57600 and not found.found
    assert 57600 in found.unconfirmed  # one answer came at 57600, the second exchange did not: not reported


def test_probe_port_names_the_reader_and_its_speed() -> None:
    with IdReaderSimulator(line_baud=57600) as sim:
        found = probe_port(sim.port, timeout_s=0.3)
    assert found["found"] == "id_reader" and found["baud"] == 57600
    assert "ID card reader at 57600 baud" in found["detail"]


# -- the receipt printer ----------------------------------------------------------------------------

def test_a_serial_printer_is_found_at_its_speed_with_its_paper(make_printer: type[PtyPrinter]) -> None:
    printer = make_printer(line_baud=19200, paper="low")
    found = probe_serial_printer(printer.path, timeout_s=0.3)
    assert found.found and found.baud == 19200 and found.tried == [9600, 19200]
    assert found.paper == "low" and found.words().startswith("receipt printer, paper low, at 19200 baud")


def test_a_printer_answering_late_at_9600_is_not_reported_at_19200(make_printer: type[PtyPrinter]) -> None:
    printer = make_printer(line_baud=9600, delay_s=0.5)
    found = probe_serial_printer(printer.path, timeout_s=0.3)
    assert found.found and found.baud == 9600 and found.late and found.paper == "ok"


def test_probe_port_says_receipt_printer_paper_ok(make_printer: type[PtyPrinter]) -> None:
    printer = make_printer(line_baud=9600)
    found = probe_port(printer.path, timeout_s=0.3)
    assert found["found"] == "printer" and found["baud"] == 9600 and found["paper"] == "ok"
    assert "receipt printer, paper OK" in found["detail"]


def test_probe_port_on_a_silent_port_says_nothing_answered() -> None:
    with IdReaderSimulator() as sim:
        sim.silent = True
        started = time.monotonic()
        found = probe_port(sim.port, timeout_s=0.1)
    assert found["found"] is None and "nothing answered" in found["detail"]
    assert time.monotonic() - started < 10  # liveness: every rate is bounded


def test_a_network_printer_probe_reads_its_paper() -> None:
    with VirtualPrinter() as sim:
        assert probe_printer(sim.uri, timeout_s=0.5).words() == "receipt printer, paper OK"
        sim.set_state(paper="out")
        out = probe_printer(sim.uri, timeout_s=0.5)
        assert out.found and out.paper == "out" and out.words().startswith("receipt printer, paper out")
        sim.set_state(silent=True)
        silent = probe_printer(sim.uri, timeout_s=0.3)
    assert not silent.found and silent.words().startswith("nothing answered")


def test_a_printer_probe_of_a_closed_port_or_the_simulator() -> None:
    with VirtualPrinter() as sim:
        uri = sim.uri
    gone = probe_printer(uri, timeout_s=0.3)
    assert not gone.found and "nothing answered" in gone.words() and "refused" in gone.words()
    assert probe_printer("sim://printer", timeout_s=0.5).words() == "receipt printer, paper OK"


# -- kiosk devices probe ----------------------------------------------------------------------------

def test_cli_probe_of_a_network_printer_says_receipt_printer_paper_ok(capsys: pytest.CaptureFixture[str]) -> None:
    with VirtualPrinter() as sim:
        assert main(["devices", "probe", sim.uri]) == 0
        assert f"receipt printer, paper OK on {sim.uri}" in capsys.readouterr().out
        sim.set_state(silent=True)
        assert main(["devices", "probe", sim.uri, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["found"] is False and out["printer"]["words"].startswith("nothing answered")


def test_cli_probe_of_a_serial_printer_names_it_after_no_reader_answered(
        make_printer: type[PtyPrinter], capsys: pytest.CaptureFixture[str]) -> None:
    printer = make_printer(line_baud=9600, paper="out")
    assert main(["devices", "probe", printer.path, "--timeout", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"] == "printer" and out["baud"] == 9600 and out["printer"]["paper"] == "out"
    assert out["printer"]["words"].startswith("receipt printer, paper out, at 9600 baud")
