"""Byte links to a receipt printer: TCP (port 9100), a serial port or pyserial URL, USB, a file.

TCP and serial links are python-escpos's ``Network`` and ``Serial`` connections (connect / open,
send, close, and the TCP read), with our time limits and error words around them; the serial
read, USB (:mod:`devices.printer.usb`) and files stay ours, because python-escpos's versions are
unsound for a kiosk (docs/architecture.md, "Receipt printer", says where and why). Status bytes
are decoded by :mod:`devices.printer.health`, never by python-escpos's ``is_online`` /
``paper_status``.

Every link speaks the same four operations (:class:`Link`) and raises only the device layer's
errors, with the address in the message, so the adapter above never sees ``OSError``,
``serial.SerialException`` or ``usb.core.USBError``. What differs between printers is said by the
link itself (``settle_s``, ``reports_status``), so the adapter never asks which one it has. The
endpoint registry (:mod:`devices.endpoints`) picks the opener for a scheme: the ``open_*_port``
functions here, ``open_usb_port`` in :mod:`devices.printer.usb`, and ``open_simulated_port`` beside
the virtual printer.

TCP printers get one connection per operation, as the CUPS socket backend does: port 9100
serves one client at a time and many printers drop idle connections, so a held connection
would lock out the technician's tools and go stale overnight. Serial and USB links are held
open (``persistent``) and reopened by the adapter after a disconnect.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from devices.base import DeviceDisconnected, DeviceNotFound, DeviceTimeout
from devices.endpoints import opens
from kiosk.endpoints import Endpoint, EndpointError, parse_endpoint

from .escpos_lib import escpos_error, escpos_printers

if TYPE_CHECKING:
    from devices.printer.simulator import VirtualPrinter

#: How long a real printer's status is watched after sending: it works through its buffer.
PRINTER_SETTLE_S = 1.0


class Link(Protocol):
    """An open byte link to a printer.

    ``persistent``: held open between operations (serial, USB) rather than opened for each (TCP,
    files). ``settle_s``: how long the status is watched after sending. ``reports_status``: False
    when nothing answers status queries (a file), so none are sent and the printer counts as ready
    while the link opens.
    """

    where: str
    persistent: bool
    settle_s: float
    reports_status: bool

    def write(self, data: bytes) -> None: ...
    def read_byte(self, timeout: float) -> int | None: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...


class PrinterPort(Protocol):
    """Where one printer endpoint's links come from; the registry opens one per endpoint.

    ``simulator``: the virtual printer standing in for ``sim://`` while started, else None.
    """

    @property
    def simulator(self) -> VirtualPrinter | None: ...
    def start(self) -> None: ...
    def open_link(self) -> Link: ...
    def stop(self) -> None: ...


class DirectPort:
    """Links opened straight from the endpoint (a real printer, or a file): nothing to start or stop."""

    simulator: VirtualPrinter | None = None

    def __init__(self, open_link: Callable[[], Link]) -> None:
        self._open_link = open_link

    def start(self) -> None:
        """Nothing to start: the printer is out there."""

    def open_link(self) -> Link:
        """A newly opened link. Raises the link's DeviceError."""
        return self._open_link()

    def stop(self) -> None:
        """Nothing to stop."""


def write_timeout(timeout: float, data: bytes) -> float:
    """Time allowed to hand over ``data``: the step timeout plus 1 ms per byte, because a
    9600-baud printer takes about a second per kilobyte and the timeout covers the whole write."""
    return timeout + len(data) / 1000


# ---------------------------------------------------------------- endpoints


def printer_endpoint(uri: str) -> Endpoint:
    """The endpoint of a printer URI; EndpointError for one that names another kind of device."""
    endpoint = parse_endpoint(uri)
    if not opens("printer", endpoint):
        raise EndpointError(f"{uri!r} does not name a printer; use tcp://host:9100, usb://VID:PID, "
                            "a serial port or file://")
    return endpoint


# ---------------------------------------------------------------- TCP


class NetworkLink:
    """One TCP connection to a network printer (or the virtual printer, which settles at once),
    through python-escpos's ``Network``: it connects, sends and reads; we bound each step.

    ``Network`` sets one socket timeout at connect (60 s by default) and keeps it: the write gets
    a timeout sized to the data and each status read its own, set on its socket before the step.
    """

    persistent = False
    reports_status = True

    def __init__(self, host: str, port: int, timeout: float, *, settle_s: float = PRINTER_SETTLE_S) -> None:
        self.where = f"{host}:{port}"
        self.settle_s = settle_s
        self._timeout = timeout
        self._pending = b""
        self._printer = escpos_printers().Network(host, port, timeout=timeout)
        try:
            self._printer.open()
        except escpos_error("DeviceNotFoundError") as exc:
            cause = exc.__context__  # Network.open raises its own error from the socket's
            if isinstance(cause, ConnectionRefusedError):
                raise DeviceNotFound(f"打印机拒绝连接 / printer at {self.where} refused the connection: "
                                     "check it is switched on and the address in the settings") from cause
            if isinstance(cause, TimeoutError):
                raise DeviceTimeout(f"printer at {self.where} did not accept a connection within "
                                    f"{timeout:g} s: check the network cable") from cause
            raise DeviceNotFound(f"printer at {self.where} unreachable ({cause or exc}): check the address "
                                 "in the settings and the network") from exc
        self._sock: socket.socket = self._printer.device

    def write(self, data: bytes) -> None:
        self._sock.settimeout(write_timeout(self._timeout, data))
        try:
            self._printer._raw(data)  # python-escpos's raw-bytes call (its docs use it)
        except TimeoutError as exc:
            raise DeviceTimeout(f"printer at {self.where} stopped taking data") from exc
        except OSError as exc:
            raise DeviceDisconnected(f"printer at {self.where} closed the connection: {exc}") from exc

    def read_byte(self, timeout: float) -> int | None:
        if not self._pending:
            self._sock.settimeout(timeout)
            try:
                self._pending = self._printer._read()  # what its query_status() reads with
            except TimeoutError:
                return None
            except OSError as exc:
                raise DeviceDisconnected(f"printer at {self.where} dropped the connection: {exc}") from exc
            if not self._pending:
                # python-escpos's is_online()/paper_status() read this as "offline"/"paper adequate".
                raise DeviceDisconnected(f"printer at {self.where} closed the connection")
        byte, self._pending = self._pending[0], self._pending[1:]
        return byte

    def drain(self) -> None:
        # Late replies to an earlier, timed-out query would be read as answers to the next one.
        self._pending = b""
        self._sock.setblocking(False)
        try:
            while self._sock.recv(256):
                pass
        except OSError:
            pass
        finally:
            self._sock.settimeout(self._timeout)

    def close(self) -> None:
        self._printer.close()


# ---------------------------------------------------------------- serial


class SerialLink:
    """A serial printer through python-escpos's ``Serial`` (a device path; a pyserial URL is
    opened by pyserial's ``serial_for_url`` and handed to it, since ``Serial.open`` takes paths only).

    Reads are ours: ``Serial._read`` asks pyserial for 16 bytes, so a one-byte status reply
    is returned only when the read timeout has run out (docs/architecture.md).
    """

    persistent = True
    reports_status = True
    settle_s = PRINTER_SETTLE_S

    def __init__(self, url: str, baudrate: int, timeout: float) -> None:
        import serial  # lazy: only serial printers need pyserial loaded

        self.where = url
        self._timeout = timeout
        self._serial_error = serial.SerialException
        # dsrdtr=False: DTR is raised at open, as pyserial does by default (python-escpos's True leaves it).
        self._printer = escpos_printers().Serial(url, baudrate=baudrate, timeout=timeout, dsrdtr=False)
        try:
            if "://" in url:
                self._printer.device = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout)
            else:
                self._printer.open()
        except escpos_error("DeviceNotFoundError") as exc:
            raise DeviceNotFound(f"printer port {url} cannot be opened: {exc.__context__ or exc}") from exc
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceNotFound(f"printer port {url} cannot be opened: {exc}") from exc
        self._port: serial.SerialBase = self._printer.device

    def write(self, data: bytes) -> None:
        try:
            # python-escpos sets no write timeout: a printer holding the line off would block forever.
            self._port.write_timeout = write_timeout(self._timeout, data)
            self._printer._raw(data)  # python-escpos's raw-bytes call (its docs use it)
            self._port.flush()
        except (self._serial_error, OSError) as exc:
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
        try:
            self._printer.close()
        except (self._serial_error, OSError):
            pass  # the port is gone already


# ---------------------------------------------------------------- file

def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class FileLink:
    """Raw printer bytes appended durably to a file (``file:///path``), one open per operation.

    Nothing answers status queries on a file, so none are sent (``reports_status``): the printer
    counts as ready while the file can be opened for appending.
    """

    persistent = False
    reports_status = False
    settle_s = 0.0

    def __init__(self, path: str) -> None:
        self.where = path
        try:
            # Owner-only (0600) when created: the default output folder is the gateway's data folder.
            self._file = open(path, "ab", opener=_owner_only)  # noqa: SIM115  closed by close(), as every link is
        except OSError as exc:
            raise DeviceNotFound(f"printer file {path} cannot be written: {exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise DeviceNotFound(f"printer file {self.where} cannot be written: {exc}") from exc

    def read_byte(self, timeout: float) -> int | None:
        return None  # a file never answers

    def drain(self) -> None:
        """Nothing comes back from a file."""

    def close(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # a failed flush was reported by write()


# ---------------------------------------------------------------- openers (see devices.endpoints)


def open_tcp_port(endpoint: Endpoint, *, timeout: float, baudrate: int) -> DirectPort:
    """``tcp://host:9100``: a fresh connection per operation."""
    host, port = endpoint.host, endpoint.port or 9100
    return DirectPort(lambda: NetworkLink(host, port, timeout))


def open_file_port(endpoint: Endpoint, *, timeout: float, baudrate: int) -> DirectPort:
    """``file:///path``: bytes appended to a file."""
    path = endpoint.path
    return DirectPort(lambda: FileLink(path))


def open_serial_port(endpoint: Endpoint, *, timeout: float, baudrate: int) -> DirectPort:
    """A serial device path or pyserial URL."""
    url = endpoint.serial_url
    return DirectPort(lambda: SerialLink(url, baudrate, timeout))


class Links:
    """Hands out links from one port: a fresh link per operation (TCP, files); serial and USB
    held open between operations and reopened after a failure (a replugged cable, a printer
    switched off and on)."""

    def __init__(self, port: PrinterPort) -> None:
        self.port = port
        self._held: Link | None = None

    def get(self) -> Link:
        """The held link, or a newly opened one. Raises the link's DeviceError."""
        if self._held is not None:
            return self._held
        link = self.port.open_link()
        if link.persistent:
            self._held = link
        return link
    def release(self, link: Link) -> None:
        """Done with ``link`` for this operation: per-operation links are closed, held ones kept."""
        if link is not self._held:
            link.close()

    def drop(self, link: Link) -> None:
        """Close a link that failed; the next :meth:`get` opens a new one."""
        if link is self._held:
            self._held = None
        try:
            link.close()
        except Exception:  # noqa: BLE001, S110  closing a dead link must not hide why it died
            pass

    def close(self) -> None:
        """Close the held link, if any."""
        if self._held is not None:
            held, self._held = self._held, None
            held.close()
