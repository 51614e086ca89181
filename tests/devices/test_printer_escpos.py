"""python-escpos under the printer links: what is used works, and what is not used is shown unsound.

Each "unsound" test drives python-escpos itself against a real stack (the TCP virtual printer, a pty
serial printer, a file) and shows the behaviour docs/architecture.md ("Receipt printer") cites as the
reason our own code does that part; next to it, what our link does with the same printer.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.base import DeviceDisconnected
from devices.printer import ReceiptPrinter, VirtualPrinter
from devices.printer.connections import FileLink, NetworkLink, SerialLink
from devices.printer.escpos_lib import escpos_printers, feed_and_cut, qr_command, status_query
from devices.printer.health import PaperLevel, read_status

ROOT = Path(__file__).resolve().parents[2]


class PtyPrinter:
    """A serial ESC/POS printer on a pty: answers each DLE EOT n with one status byte at once."""

    def __init__(self, reply: int = 0x12) -> None:
        self.reply = reply
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self.received += chunk
            pending += chunk
            while (i := pending.find(b"\x10\x04")) >= 0 and len(pending) > i + 2:
                os.write(self.master, bytes((self.reply,)))
                pending = pending[i + 3:]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter()
    try:
        yield printer
    finally:
        printer.close()


# -- what is used ----------------------------------------------------------------------------------

def test_a_network_printer_is_reached_through_python_escpos_network(tmp_path: Path) -> None:
    with VirtualPrinter() as sim:
        host, port = sim.address
        link = NetworkLink(host, port, 1.0)
        try:
            assert type(link._printer).__name__ == "Network"
            health = read_status(link, 1.0)
            link.write(b"\x1b@hello\n")
        finally:
            link.close()
        assert health.ready and health.paper is PaperLevel.OK
        assert sim.wait_for_job() == b"\x1b@hello\n"


def test_a_serial_printer_is_opened_through_python_escpos_serial(pty_printer: PtyPrinter) -> None:
    link = SerialLink(pty_printer.path, 9600, 1.0)
    try:
        assert type(link._printer).__name__ == "Serial"
        started = time.monotonic()
        health = read_status(link, 1.0)
        elapsed = time.monotonic() - started
        link.write(b"\x1b@hi\n")
    finally:
        link.close()
    assert health.ready, health.summary()
    assert elapsed < 1.0  # four one-byte answers, each read as soon as it is there (liveness bound)
    deadline = time.monotonic() + 2
    while b"hi" not in pty_printer.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert b"\x1b@hi\n" in pty_printer.received


def test_qr_and_cut_bytes_are_python_escpos_native_commands() -> None:
    qr = qr_command("https://example.org/t/1", 6, "M")
    assert qr.startswith(b"\x1d(k\x04\x001A2\x00")  # model 2
    assert b"\x1d(k\x03\x001C\x06" in qr and b"\x1d(k\x03\x001E1" in qr  # module 6, level M
    assert qr.endswith(b"\x1d(k\x03\x001Q0")  # print
    assert feed_and_cut() == b"\x1dVB\x00"  # feed to the cutter, partial cut
    assert status_query(4) == b"\x10\x04\x04"
    with pytest.raises(ValueError, match="QR payload"):
        qr_command("", 6)


# -- what is not used, and why ---------------------------------------------------------------------

def test_unsound_escpos_serial_read_waits_out_its_timeout_for_a_one_byte_status(pty_printer: PtyPrinter) -> None:
    escpos_serial = escpos_printers().Serial(pty_printer.path, timeout=0.8, dsrdtr=False)
    try:
        started = time.monotonic()
        reply = escpos_serial.query_status(status_query(1))  # _read() is device.read(16)
        elapsed = time.monotonic() - started
    finally:
        escpos_serial.close()
    assert reply == b"\x12"
    assert elapsed >= 0.7  # the answer was there at once; read(16) waited for 15 more bytes


def _closes_without_answering() -> tuple[socket.socket, threading.Thread]:
    """A TCP port 9100 stand-in that takes each request and ends the connection unanswered (a print
    server whose printer is switched off)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.recv(16)
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(2)
                try:
                    conn.recv(16)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_unsound_escpos_paper_status_calls_an_empty_answer_adequate() -> None:
    server, thread = _closes_without_answering()
    host, port = server.getsockname()[:2]
    try:
        escpos_network = escpos_printers().Network(host, port, timeout=1.0)
        try:
            assert escpos_network.paper_status() == 2  # "paper adequate" from an empty read
        finally:
            escpos_network.close()
        link = NetworkLink(host, port, 1.0)
        try:
            with pytest.raises(DeviceDisconnected):
                read_status(link, 1.0)  # ours: the link closed, nothing vouches for the paper
        finally:
            link.close()
    finally:
        thread.join(3)
        server.close()


def test_unsound_escpos_is_online_raises_on_a_silent_printer() -> None:
    with VirtualPrinter() as sim:
        sim.set_state(silent=True)
        host, port = sim.address
        escpos_network = escpos_printers().Network(host, port, timeout=0.3)
        try:
            with pytest.raises(TimeoutError):
                escpos_network.is_online()
        finally:
            escpos_network.close()
        with ReceiptPrinter(sim.uri, timeout_s=0.3) as ours:
            health = ours.query_status()
        assert not health.responding and not health.ready


def test_unsound_escpos_paper_status_reads_a_garbled_byte_as_no_paper() -> None:
    with VirtualPrinter() as sim:
        sim.set_state(raw_status={1: 0x00, 2: 0x00, 3: 0x00, 4: 0x00})  # lacks the fixed bits 0x12
        host, port = sim.address
        escpos_network = escpos_printers().Network(host, port, timeout=0.5)
        try:
            assert escpos_network.paper_status() == 0  # "no paper", from a byte that is not a status
        finally:
            escpos_network.close()
        ours = ReceiptPrinter(sim.uri, timeout_s=0.3)
        ours._port.start()
        ours._opened = True
        try:
            health = ours.query_status()
        finally:
            ours.close()
        assert health.garbled and health.paper is PaperLevel.UNKNOWN


def test_unsound_escpos_file_truncates_earlier_receipts(tmp_path: Path) -> None:
    target = tmp_path / "escpos.bin"
    for job in (b"one", b"two"):
        escpos_file = escpos_printers().File(str(target))
        escpos_file._raw(job)
        escpos_file.close()
    assert target.read_bytes() == b"two"  # opened "wb": the first receipt is gone
    ours = tmp_path / "ours.bin"
    for job in (b"one", b"two"):
        link = FileLink(str(ours))
        link.write(job)
        link.close()
    assert ours.read_bytes() == b"onetwo"
    assert ours.stat().st_mode & 0o777 == 0o600


def test_importing_escpos_writes_its_profile_pickle_to_a_new_temp_dir_unless_given_a_cache(tmp_path: Path) -> None:
    scratch, home = tmp_path / "tmp", tmp_path / "home"
    scratch.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ESCPOS_CAPABILITIES_PICKLE_DIR", "XDG_CACHE_HOME")}
    env.update(TMPDIR=str(scratch), HOME=str(home), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", "import escpos.printer"], env=env, check=True, timeout=60)
    assert list(scratch.glob("*/*.capabilities.pickle"))  # a new mkdtemp() folder, parsed and pickled afresh
    for pickled in scratch.glob("*/*"):
        pickled.unlink()
    code = "from devices.printer.escpos_lib import escpos_printers; escpos_printers()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert not list(scratch.glob("*/*"))  # mkdtemp() still runs (capabilities.py line 19), but stays empty
    cache = home / ".cache" / "kiosk" / "escpos"
    assert list(cache.glob("*.capabilities.pickle")) and cache.stat().st_mode & 0o777 == 0o700


def test_escpos_connect_and_close_lines_stay_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with VirtualPrinter() as sim:
        for _ in range(3):  # a TCP printer is connected once per status check
            link = NetworkLink(*sim.address, 0.5)
            read_status(link, 0.5)
            link.close()
    assert not [r for r in caplog.records if "Network" in r.getMessage()], caplog.text
