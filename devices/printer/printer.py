"""The receipt printer adapter: ESC/POS over TCP (port 9100), a serial port, or a file.

Health comes from the real-time status command DLE EOT n (``10 04 n``, DEVICES.md §3),
read with our own timeout: python-escpos waits 60 s on a silent printer and calls an empty
answer "paper adequate", and a kiosk must never believe a printer it cannot hear.

TCP printers get one connection per operation, as the CUPS socket backend does: port
9100 serves one client at a time and many printers drop idle connections, so a held
connection would lock out the technician's tools and go stale overnight.
"""

from __future__ import annotations

import enum
import os
import socket
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from devices.base import (
    ActionHint,
    DeviceDisconnected,
    DeviceError,
    DeviceNotFound,
    DeviceProtocolError,
    DeviceState,
    DeviceStatus,
    DeviceTimeout,
    EventCallback,
    StatusTracker,
)
from kiosk.endpoints import parse_endpoint

STATUS_FIXED_BITS = 0x12  # bits 1 and 4 of every DLE EOT reply are always 1


class PaperLevel(str, enum.Enum):
    """Paper on the roll as the near-end and end sensors see it; UNKNOWN when the printer is silent."""

    OK = "ok"
    LOW = "low"
    OUT = "out"
    UNKNOWN = "unknown"


PAPER_EVENTS = {PaperLevel.OK: "paper_full", PaperLevel.LOW: "paper_low", PaperLevel.OUT: "paper_out"}


@dataclass(frozen=True)
class PrinterHealth:
    """What DLE EOT 1–4 said. ``responding`` False means silence: offline, paper unknown."""

    responding: bool
    online: bool
    paper: PaperLevel
    cover_open: bool = False
    stopped_by_paper_end: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    replies: dict[int, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """True when a receipt can be printed now (paper low still prints)."""
        return (self.responding and self.online and self.paper in (PaperLevel.OK, PaperLevel.LOW)
                and not (self.cover_open or self.stopped_by_paper_end or self.error or self.cutter_error
                         or self.unrecoverable_error or self.auto_recoverable_error))

    def _problem(self) -> tuple[str, ActionHint, DeviceState]:
        if not self.responding:
            return ("打印机无响应 / printer not answering: check its power, cable and network",
                    ActionHint.MAINTENANCE, DeviceState.OFFLINE)
        if self.cover_open:
            return "打印机盖未关 / cover open: close the printer cover", ActionHint.CLEAR, DeviceState.USER_ERROR
        if self.paper is PaperLevel.OUT or self.stopped_by_paper_end:
            return "打印机缺纸 / paper out: replace the paper roll", ActionHint.CLEAR, DeviceState.USER_ERROR
        if self.cutter_error:
            return ("切刀故障 / cutter error: clear the paper jam at the cutter, then switch the printer "
                    "off and on", ActionHint.MAINTENANCE, DeviceState.HARDWARE_ERROR)
        if self.unrecoverable_error:
            return ("打印机故障 / unrecoverable printer error: switch it off and on; call an engineer "
                    "if it returns", ActionHint.MAINTENANCE, DeviceState.HARDWARE_ERROR)
        if self.auto_recoverable_error:
            return ("打印头过热 / auto-recoverable error (e.g. print head too hot): wait a minute",
                    ActionHint.RESET, DeviceState.OFFLINE)
        if self.error or not self.online:
            return ("打印机离线 / printer offline: check its panel lights and the feed button",
                    ActionHint.MAINTENANCE, DeviceState.OFFLINE)
        if self.paper is PaperLevel.LOW:
            return "纸将用尽 / paper near end: replace the roll soon", ActionHint.CLEAR, DeviceState.ONLINE
        return "", ActionHint.NONE, DeviceState.ONLINE

    @property
    def reason(self) -> str:
        """Plain words for a technician: what is wrong and what to do; empty when all is well."""
        return self._problem()[0]

    @property
    def hint(self) -> ActionHint:
        """XFS action hint for :attr:`reason`."""
        return self._problem()[1]

    @property
    def state(self) -> DeviceState:
        """The device state this health maps to."""
        return self._problem()[2]


def decode_status(replies: dict[int, int | None]) -> PrinterHealth:
    """Decode DLE EOT replies {n: byte or None}. Raises DeviceProtocolError on a malformed byte."""
    for n, byte in replies.items():
        if byte is not None and byte & STATUS_FIXED_BITS != STATUS_FIXED_BITS:
            raise DeviceProtocolError(
                f"printer answered DLE EOT {n} with 0x{byte:02X}, which lacks the fixed bits 0x12: "
                "is this endpoint really an ESC/POS printer?")
    if any(replies.get(n) is None for n in (1, 2, 3, 4)):
        got = {n: b for n, b in replies.items() if b is not None}
        return PrinterHealth(responding=False, online=False, paper=PaperLevel.UNKNOWN, replies=got)
    s1, s2, s3, s4 = (int(replies[n]) for n in (1, 2, 3, 4))  # type: ignore[arg-type]
    stopped = bool(s2 & 0x20)
    if s4 & 0x60 or stopped:
        paper = PaperLevel.OUT
    elif s4 & 0x0C:
        paper = PaperLevel.LOW
    else:
        paper = PaperLevel.OK
    return PrinterHealth(
        responding=True, online=not s1 & 0x08, paper=paper, cover_open=bool(s2 & 0x04),
        stopped_by_paper_end=stopped, error=bool(s2 & 0x40), cutter_error=bool(s3 & 0x08),
        unrecoverable_error=bool(s3 & 0x20), auto_recoverable_error=bool(s3 & 0x40),
        replies={1: s1, 2: s2, 3: s3, 4: s4})


@dataclass(frozen=True)
class PrintOutcome:
    """The result of :meth:`ReceiptPrinter.print_job`; ``reason`` is for a technician."""

    job_id: str
    printed: bool
    reason: str
    hint: ActionHint = ActionHint.NONE
    health: PrinterHealth | None = None


class PrinterAttention(DeviceError):
    """A printer condition staff must fix (paper, cover, cutter); recorded as the last error."""

    def __init__(self, message: str, hint: ActionHint) -> None:
        super().__init__(message, retryable=True)
        self.hint = hint


# ---------------------------------------------------------------- transports


class _Link(Protocol):
    def write(self, data: bytes) -> None: ...
    def read_byte(self, timeout: float) -> int | None: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...


def _write_timeout(timeout: float, data: bytes) -> float:
    """Time allowed to hand over ``data``: the step timeout plus 1 ms per byte, because a
    9600-baud printer takes about a second per kilobyte and the timeout covers the whole write."""
    return timeout + len(data) / 1000


class _TcpLink:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.where = f"{host}:{port}"
        self._timeout = timeout
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError as exc:
            raise DeviceNotFound(f"打印机拒绝连接 / printer at {self.where} refused the connection: check it "
                                 "is switched on and the address in the settings") from exc
        except socket.timeout as exc:
            raise DeviceTimeout(f"printer at {self.where} did not accept a connection within "
                                f"{timeout:g} s: check the network cable") from exc
        except OSError as exc:
            raise DeviceNotFound(f"printer at {self.where} unreachable ({exc}): check the address "
                                 "in the settings and the network") from exc

    def write(self, data: bytes) -> None:
        self._sock.settimeout(_write_timeout(self._timeout, data))
        try:
            self._sock.sendall(data)
        except socket.timeout as exc:
            raise DeviceTimeout(f"printer at {self.where} stopped taking data") from exc
        except OSError as exc:
            raise DeviceDisconnected(f"printer at {self.where} closed the connection: {exc}") from exc

    def read_byte(self, timeout: float) -> int | None:
        self._sock.settimeout(timeout)
        try:
            got = self._sock.recv(1)
        except socket.timeout:
            return None
        except OSError as exc:
            raise DeviceDisconnected(f"printer at {self.where} dropped the connection: {exc}") from exc
        if not got:
            raise DeviceDisconnected(f"printer at {self.where} closed the connection")
        return got[0]

    def drain(self) -> None:
        # Late replies to an earlier, timed-out query would be read as answers to the next one.
        self._sock.setblocking(False)
        try:
            while self._sock.recv(256):
                pass
        except OSError:
            pass
        finally:
            self._sock.settimeout(self._timeout)

    def close(self) -> None:
        self._sock.close()


class _SerialLink:
    def __init__(self, url: str, baudrate: int, timeout: float) -> None:
        import serial  # imported on use: only serial printers need pyserial loaded

        self.where = url
        self._timeout = timeout
        self._serial_error = serial.SerialException
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceNotFound(f"printer port {url} cannot be opened: {exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._port.write_timeout = _write_timeout(self._timeout, data)
            self._port.write(data)
            self._port.flush()
        except self._serial_error as exc:
            if "timeout" in str(exc).lower():
                raise DeviceTimeout(f"printer on {self.where} stopped taking data") from exc
            raise DeviceDisconnected(f"printer on {self.where} went away: {exc}") from exc

    def read_byte(self, timeout: float) -> int | None:
        try:
            self._port.timeout = timeout
            got = self._port.read(1)
        except (self._serial_error, OSError) as exc:
            raise DeviceDisconnected(f"printer on {self.where} went away: {exc}") from exc
        return got[0] if got else None

    def drain(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (self._serial_error, OSError) as exc:
            raise DeviceDisconnected(f"printer on {self.where} went away: {exc}") from exc

    def close(self) -> None:
        self._port.close()


# ---------------------------------------------------------------- the adapter


class ReceiptPrinter:
    """An ESC/POS receipt printer at ``uri`` (``tcp://host:9100``, ``/dev/ttyUSB0`` or a pyserial
    URL, ``file:///path``, ``sim://printer``) on the shared device layer.

    Operations take ``timeout_s`` per step; events (``state_changed``, ``paper_full``,
    ``paper_low``, ``paper_out``) go to ``on_event``. ``sim://printer`` starts an owned
    :class:`~devices.printer.simulator.VirtualPrinter` in :meth:`open` and stops it in :meth:`close`.
    """

    def __init__(self, uri: str, *, timeout_s: float = 3.0, on_event: EventCallback | None = None,
                 name: str = "printer", baudrate: int = 9600, remember_jobs: int = 1000) -> None:
        self.endpoint = parse_endpoint(uri)
        if self.endpoint.scheme in ("pcsc", "camera"):
            raise ValueError(f"{uri!r} does not name a printer; use tcp://host:9100, a serial port or file://")
        self.timeout_s = timeout_s
        self.baudrate = baudrate
        self.simulator = None  # the owned VirtualPrinter for sim:// endpoints
        self._tracker = StatusTracker(name, on_event)
        self._lock = threading.RLock()
        self._serial: _SerialLink | None = None
        self._paper: PaperLevel | None = None
        self._last_problem = ""
        self._done: OrderedDict[str, PrintOutcome] = OrderedDict()
        self._remember = remember_jobs
        self._opened = False

    # -- lifecycle

    def open(self) -> None:
        """Check the printer is there (and read its health, except for files). Raises DeviceNotFound."""
        with self._lock:
            scheme = self.endpoint.scheme
            if scheme == "sim" and self.simulator is None:
                from .simulator import VirtualPrinter

                self.simulator = VirtualPrinter()
                self.simulator.start()
            if scheme == "file":
                self._append(b"")
                self._opened = True
                self._tracker.set_state(DeviceState.ONLINE)
                return
            if scheme not in ("tcp", "sim") and self._serial is None:
                self._serial = self._guard(_SerialLink, self.endpoint.serial_url, self.baudrate, self.timeout_s)
            self._opened = True
            self.query_status()

    def close(self) -> None:
        """Release the port and stop an owned simulator. Safe to call twice."""
        with self._lock:
            if self._serial is not None:
                self._serial.close()
                self._serial = None
            if self.simulator is not None:
                self.simulator.stop()
                self.simulator = None
            self._opened = False
            self._tracker.set_state(DeviceState.OFFLINE)

    def __enter__(self) -> ReceiptPrinter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> DeviceStatus:
        """The last known status (no I/O)."""
        return self._tracker.snapshot()

    # -- operations

    def query_status(self) -> PrinterHealth:
        """Ask DLE EOT 1–4 now. A silent printer is reported offline with paper UNKNOWN."""
        with self._lock:
            if self.endpoint.scheme == "file":
                health = PrinterHealth(responding=True, online=True, paper=PaperLevel.OK)
                self._apply(health)
                return health
            link = self._link()
            try:
                return self._checked(link)
            finally:
                self._release(link)

    def print_job(self, job_id: str, data: bytes) -> PrintOutcome:
        """Print ``data`` once under ``job_id``.

        Checks health first and refuses (``printed=False``) with a plain reason when the
        printer cannot print; the job id is then not marked, so the caller can send it
        again once staff fixed the printer. The printer keeps no copy: a receipt printed
        after the resident has left would hand their data to a stranger. A job id that
        already printed returns its earlier outcome without printing again.
        """
        with self._lock:
            if job_id in self._done:
                return self._done[job_id]
            if self.endpoint.scheme == "file":
                self._append(data)
                outcome = PrintOutcome(job_id, True, "printed to file")
            else:
                link = self._link()
                try:
                    outcome = self._print_on(link, job_id, data)
                finally:
                    self._release(link)
            if outcome.printed:
                self._tracker.operation_ok()
                self._done[job_id] = outcome
                while len(self._done) > self._remember:
                    self._done.popitem(last=False)
            return outcome

    # -- internals

    def _print_on(self, link: _Link, job_id: str, data: bytes) -> PrintOutcome:
        before = self._checked(link)
        if not before.ready:
            return PrintOutcome(job_id, False, f"未打印 / not printed: {before.reason}", before.hint, before)
        self._guard(link.write, data)
        after = self._checked(link)
        if not after.ready:
            return PrintOutcome(job_id, False, f"已发送但可能不完整 / sent, but the receipt may be incomplete: "
                                f"{after.reason}", after.hint, after)
        return PrintOutcome(job_id, True, after.reason or "printed", after.hint, after)

    def _checked(self, link: _Link) -> PrinterHealth:
        health = self._guard(lambda: decode_status(self._ask(link)))
        self._apply(health)
        return health

    def _ask(self, link: _Link) -> dict[int, int | None]:
        link.drain()
        replies: dict[int, int | None] = {}
        for n in (1, 2, 3, 4):
            link.write(bytes((0x10, 0x04, n)))
            replies[n] = link.read_byte(self.timeout_s)
            if replies[n] is None:
                break  # silent: waiting for 3 more timeouts would tell nothing new
        for n in (1, 2, 3, 4):
            replies.setdefault(n, None)
        return replies

    def _guard(self, fn, *args):  # type: ignore[no-untyped-def]
        """Run one I/O step; record device errors on the status before re-raising them."""
        try:
            return fn(*args)
        except DeviceError as exc:
            state = {DeviceNotFound: DeviceState.NO_DEVICE,
                     DeviceProtocolError: DeviceState.HARDWARE_ERROR}.get(type(exc), DeviceState.OFFLINE)
            self._tracker.record_error(exc, state)
            raise

    def _apply(self, health: PrinterHealth) -> None:
        """Update the status; threshold events only when the paper level changes."""
        reason = health.reason
        self._tracker.set_state(health.state, paper=health.paper.value, cover_open=health.cover_open,
                                reason=reason)
        if reason and reason != self._last_problem:
            self._tracker.record_error(PrinterAttention(reason, health.hint))
        self._last_problem = reason
        if health.paper is not PaperLevel.UNKNOWN and health.paper != self._paper:
            self._paper = health.paper
            self._tracker.emit(PAPER_EVENTS[health.paper], health.paper)

    def _link(self) -> _Link:
        if self._serial is not None:
            return self._serial
        scheme = self.endpoint.scheme
        if scheme == "tcp":
            return self._guard(_TcpLink, self.endpoint.host, self.endpoint.port or 9100, self.timeout_s)
        if scheme == "sim":
            if self.simulator is None:
                raise DeviceNotFound(f"{self.endpoint.uri} is not running: call open() first")
            host, port = self.simulator.address
            return self._guard(_TcpLink, host, port, self.timeout_s)
        if not self._opened:
            raise DeviceNotFound(f"printer port {self.endpoint.uri} is not open: call open() first")
        raise DeviceDisconnected(f"printer port {self.endpoint.uri} was closed")

    def _release(self, link: _Link) -> None:
        if link is not self._serial:
            link.close()

    def _append(self, data: bytes) -> None:
        path = self.endpoint.path
        try:
            with open(path, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            err = DeviceNotFound(f"printer file {path} cannot be written: {exc}")
            self._tracker.record_error(err, DeviceState.NO_DEVICE)
            raise err from exc
