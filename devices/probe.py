"""What answers on a port: an ID card reader (and at which baud rate), a receipt printer (and its paper), or nothing.

A technician probes before assigning a port, so a probe must not be fooled:

- **late answers are drained, not taken**: the port stays open while the baud rate changes. After a
  silent exchange the probe keeps listening for one more timeout at the same speed; what arrives
  then is a *late* answer at that speed (a slow reader or printer), never an answer at the next one,
  and whatever is still on the line when the speed changes is read and discarded.
- **a found rate is confirmed**: a second exchange at the same speed must answer too (for a reader
  the SAM id, for a printer the whole DLE EOT 1–4 status), or the rate is not reported.

ID card reader frames are :mod:`devices.id_card.protocol`'s; printer status is asked and decoded by
:mod:`devices.printer.health` over the printer's own links (:mod:`devices.printer.connections`, so
``tcp://``, ``usb://``, serial ports and ``sim://printer`` are probed the way they are used).
Nothing here keeps a port open after it returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import serial

from devices.base import DeviceError, DeviceNotFound
from devices.endpoints import open_printer_port
from devices.id_card import protocol as p
from devices.printer.connections import printer_endpoint
from devices.printer.health import STATUS_FIXED_BITS, PaperLevel, PrinterHealth, read_status
from kiosk.endpoints import PYSERIAL_SCHEMES

try:
    import termios
except ImportError:  # not POSIX
    termios = None  # type: ignore[assignment]

#: Baud rates a SAM ID card reader is tried at, most common first.
PROBE_BAUDS = (115200, 57600, 38400, 19200, 9600)
#: Baud rates a serial ESC/POS printer is tried at (9600 is the factory setting of most).
PRINTER_BAUDS = (9600, 19200, 38400, 115200)
DLE_EOT_1 = b"\x10\x04\x01"  # real-time printer status (DEVICES.md §3)

_SLICE_S = 0.02  # pyserial read timeout: how often a wait looks at its deadline
_DISCARD_MAX_S = 0.5  # a babbling line is not read for longer than this when the speed changes
_CONFIRM_FACTOR = 3  # a rate found by a late answer is confirmed with this many timeouts of patience
_PORT_GONE: tuple[type[BaseException], ...] = (serial.SerialException, OSError) + (
    (termios.error,) if termios is not None else ())

PAPER_WORDS = {PaperLevel.OK: "paper OK", PaperLevel.LOW: "paper low", PaperLevel.OUT: "paper out",
               PaperLevel.UNKNOWN: "paper unknown"}


@dataclass
class SamProbe:
    """What answered the SAM status command on a port. ``late``: the rate was found from an answer
    that came after the timeout (a slow reader); ``unconfirmed``: rates where one answer came but the
    second exchange did not (not reported as found)."""

    found: bool = False
    baud: int | None = None
    sam_status: str | None = None
    sam_id: str | None = None
    tried: list[int] = field(default_factory=list)
    late: bool = False
    unconfirmed: list[int] = field(default_factory=list)


@dataclass
class PrinterProbe:
    """What answered DLE EOT on a printer endpoint: ``found`` with its ``health`` (and ``baud`` on a
    serial port), or not."""

    found: bool = False
    baud: int | None = None
    health: PrinterHealth | None = None
    tried: list[int] = field(default_factory=list)
    late: bool = False
    unconfirmed: list[int] = field(default_factory=list)
    problem: str = ""

    @property
    def paper(self) -> str:
        """``ok`` / ``low`` / ``out`` / ``unknown``."""
        return self.health.paper.value if self.health is not None else PaperLevel.UNKNOWN.value

    def words(self) -> str:
        """``receipt printer, paper OK`` (plus what is wrong, if anything), or what answered instead."""
        if not self.found or self.health is None:
            return self.problem or "nothing answered"
        words = f"receipt printer, {PAPER_WORDS[self.health.paper]}"
        if self.baud is not None:
            words += f", at {self.baud} baud"
        if not self.health.ready and self.health.reason:
            words += f"; {self.health.reason}"
        return words

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "baud": self.baud, "paper": self.paper, "tried": list(self.tried),
                "late": self.late, "unconfirmed": list(self.unconfirmed), "words": self.words(),
                "ready": bool(self.health is not None and self.health.ready)}


# -- the serial line ------------------------------------------------------------------------------

def _open(url: str, baud: int) -> serial.SerialBase:
    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=_SLICE_S, write_timeout=1.0)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceNotFound(f"port {url} cannot be opened: {exc}") from exc


def _gone(url: str, exc: BaseException) -> DeviceNotFound:
    return DeviceNotFound(f"port {url} went away during the probe: {exc}")


def _discard(ser: serial.SerialBase) -> None:
    """Read and drop what is on the line (late answers from the last speed), then empty the buffer."""
    end = time.monotonic() + _DISCARD_MAX_S
    while ser.in_waiting and time.monotonic() < end:
        ser.read(ser.in_waiting)
    ser.reset_input_buffer()


class _SerialStatusLink:
    """An open serial port as a printer status link (what :func:`read_status` needs)."""

    def __init__(self, ser: serial.SerialBase) -> None:
        self._ser = ser

    def write(self, data: bytes) -> None:
        self._ser.write(data)
        self._ser.flush()

    def read_byte(self, timeout: float) -> int | None:
        self._ser.timeout = timeout
        try:
            got = self._ser.read(1)
        finally:
            self._ser.timeout = _SLICE_S
        return got[0] if got else None

    def drain(self) -> None:
        _discard(self._ser)


# -- the ID card reader ---------------------------------------------------------------------------

def _sam_answer(ser: serial.SerialBase, assembler: p.FrameAssembler, command: p.Command,
                wait_s: float) -> p.Response | None:
    """The first well-formed answer to ``command`` within ``wait_s``; other frames and noise are dropped."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        chunk = ser.read(max(1, ser.in_waiting))
        for frame in assembler.feed(chunk) if chunk else ():
            try:
                response = p.parse_response(frame)
            except DeviceError:
                continue  # noise at the wrong speed can look like a frame; it is not an answer
            if p.answers(command, response):
                return response
    return None


def _sam_exchange(ser: serial.SerialBase, command: p.Command, timeout_s: float,
                  late_s: float) -> tuple[p.Response | None, bool]:
    """Ask once; (answer, came_late). The answer may come within ``timeout_s`` or, late, within
    ``late_s`` more at the same speed."""
    assembler = p.FrameAssembler()
    _discard(ser)
    ser.write(command.frame())
    ser.flush()
    answer = _sam_answer(ser, assembler, command, timeout_s)
    if answer is not None:
        return answer, False
    answer = _sam_answer(ser, assembler, command, late_s)
    return answer, answer is not None


def probe_id_reader(url: str, *, timeout_s: float = 0.5, bauds: tuple[int, ...] = PROBE_BAUDS) -> SamProbe:
    """Send the SAM status command at each baud rate until a reader answers, and confirm the rate with
    a second exchange (the SAM id). Raises :class:`DeviceNotFound` when the port cannot be opened or
    goes away during the probe."""
    result = SamProbe()
    ser = _open(url, bauds[0])
    try:
        for baud in bauds:
            result.tried.append(baud)
            ser.baudrate = baud
            status, late = _sam_exchange(ser, p.Command.SAM_STATUS, timeout_s, late_s=timeout_s)
            if status is None:
                continue
            patience = _CONFIRM_FACTOR * timeout_s if late else timeout_s
            sam_id, _ = _sam_exchange(ser, p.Command.SAM_ID, patience, late_s=timeout_s)
            if sam_id is None:
                result.unconfirmed.append(baud)
                continue
            result.found, result.baud, result.late = True, baud, late
            result.sam_status = status.meaning
            result.sam_id = sam_id.data.hex() if sam_id.ok and sam_id.data else None
            break
        _discard(ser)
    except _PORT_GONE as exc:
        raise _gone(url, exc) from exc
    finally:
        try:
            ser.close()
        except _PORT_GONE:
            pass
    return result


# -- the receipt printer --------------------------------------------------------------------------

def _status_byte(link: _SerialStatusLink, timeout_s: float, late_s: float) -> tuple[int | None, bool]:
    """DLE EOT 1 once; (a byte with the fixed status bits, came_late)."""
    link.drain()
    link.write(DLE_EOT_1)
    for wait_s, late in ((timeout_s, False), (late_s, True)):
        deadline = time.monotonic() + wait_s
        while (left := deadline - time.monotonic()) > 0:
            byte = link.read_byte(left)
            if byte is None:
                break
            if byte & STATUS_FIXED_BITS == STATUS_FIXED_BITS:
                return byte, late
    return None, False


def probe_serial_printer(url: str, *, timeout_s: float = 0.5,
                         bauds: tuple[int, ...] = PRINTER_BAUDS) -> PrinterProbe:
    """The baud rate at which a serial ESC/POS printer answers DLE EOT, confirmed by reading its whole
    status (DLE EOT 1–4) at that rate. Raises :class:`DeviceNotFound` as :func:`probe_id_reader`."""
    result = PrinterProbe()
    ser = _open(url, bauds[0])
    link = _SerialStatusLink(ser)
    try:
        for baud in bauds:
            result.tried.append(baud)
            ser.baudrate = baud
            byte, late = _status_byte(link, timeout_s, late_s=timeout_s)
            if byte is None:
                continue
            patience = _CONFIRM_FACTOR * timeout_s if late else timeout_s
            health = read_status(link, patience)
            if not health.responding or health.garbled:
                result.unconfirmed.append(baud)
                continue
            result.found, result.baud, result.health, result.late = True, baud, health, late
            break
        _discard(ser)
    except _PORT_GONE as exc:
        raise _gone(url, exc) from exc
    finally:
        try:
            ser.close()
        except _PORT_GONE:
            pass
    if not result.found:
        result.problem = f"nothing answered DLE EOT on {url} at {', '.join(map(str, result.tried))} baud"
    return result


def probe_printer(uri: str, *, timeout_s: float = 1.0) -> PrinterProbe:
    """Ask the printer at ``uri`` (``tcp://``, ``usb://``, ``sim://printer``; a serial port is tried at
    each of :data:`PRINTER_BAUDS`) for its DLE EOT 1–4 status over the link the kiosk would print
    through. Never raises a device error: an endpoint that cannot be reached says so in ``problem``.
    Raises EndpointError for a URI that names no printer."""
    endpoint = printer_endpoint(uri)
    if endpoint.scheme == "serial" or endpoint.scheme in PYSERIAL_SCHEMES:
        try:
            return probe_serial_printer(endpoint.serial_url, timeout_s=timeout_s)
        except DeviceNotFound as exc:
            return PrinterProbe(problem=f"nothing answered at {uri}: {exc}")
    result = PrinterProbe()
    port = open_printer_port(endpoint, timeout=timeout_s, baudrate=9600)
    try:
        port.start()
        link = port.open_link()
        try:
            if not link.reports_status:
                result.problem = f"{uri} is a file: nothing there answers a status query"
                return result
            health = read_status(link, timeout_s)
        finally:
            link.close()
    except DeviceError as exc:
        result.problem = f"nothing answered at {uri}: {exc}"
        return result
    finally:
        port.stop()
    if health.responding and not health.garbled:
        result.found, result.health = True, health
    elif health.garbled:
        result.problem = f"something answered at {uri}, but not as an ESC/POS printer: {health.problem}"
    else:
        result.problem = f"nothing answered DLE EOT at {uri} within {timeout_s:g} s"
    return result
