"""What a device endpoint opens: for each device role, one table from URI scheme to opener.

pyserial's URL handlers are the model: the scheme of an endpoint (parsed by :mod:`kiosk.endpoints`)
picks a handler, and the handler hands back something the driver uses like any other port, so a
driver never asks which scheme it has. Each ``sim://`` handler lives beside its simulator and hands
back the port of a simulator it started (``simulator`` on what it returns); file output is a printer
link like TCP, serial and USB. This module is the only place that decides what a URI opens.

Roles, and what their openers hand back:

- ``id_reader``: a :class:`SerialPort`: the pyserial URL for :class:`~devices.id_card.reader.IdCardReader`;
- ``printer``: a :class:`~devices.printer.connections.PrinterPort`: links for
  :class:`~devices.printer.printer.ReceiptPrinter`;
- ``ssc_reader``: a :class:`PcscPort`: the PC/SC reader name for :class:`~devices.smartcard.reader.SscReader`;
- ``camera``: a :class:`~devices.camera.camera.FrameSource`: frames read one by one.

Handlers are named here as ``module:function`` and loaded when an endpoint with their scheme is
first opened, as pyserial loads ``protocol_<scheme>``: the registry sits below every driver (the
printer adapter asks it without an import cycle), and a terminal with no USB printer, card reader or
camera never loads pyusb, pyscard or OpenCV.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from devices.base import DeviceNotFound, EventCallback
from kiosk.endpoints import PYSERIAL_SCHEMES, Endpoint, EndpointError, parse_endpoint

if TYPE_CHECKING:
    from devices.camera.camera import FrameSource
    from devices.camera.simulate import CodeSource
    from devices.id_card.simulator import IdReaderSimulator
    from devices.printer.connections import PrinterPort
    from devices.smartcard.simulator import SscReaderSimulator

Role = Literal["id_reader", "printer", "ssc_reader", "camera"]

_SERIAL_SCHEMES = ("serial", *sorted(PYSERIAL_SCHEMES))

#: Role → URI scheme → the handler that opens it (``module:function``).
HANDLERS: dict[Role, dict[str, str]] = {
    "id_reader": {
        "sim": "devices.id_card.simulator:open_simulated_port",
        **{scheme: "devices.endpoints:open_serial" for scheme in _SERIAL_SCHEMES},
    },
    "printer": {
        "sim": "devices.printer.simulator:open_simulated_port",
        "tcp": "devices.printer.connections:open_tcp_port",
        "usb": "devices.printer.usb:open_usb_port",
        "file": "devices.printer.connections:open_file_port",
        **{scheme: "devices.printer.connections:open_serial_port" for scheme in _SERIAL_SCHEMES},
    },
    "ssc_reader": {
        "sim": "devices.smartcard.simulator:open_simulated_port",
        "pcsc": "devices.endpoints:open_pcsc",
    },
    "camera": {
        "sim": "devices.camera.simulate:open_simulated_camera",
        "camera": "devices.camera.camera:open_live_camera",
        "file": "devices.camera.camera:open_live_camera",
    },
}

#: What each role is, in the words of an error message.
ROLE_WORDS: dict[Role, str] = {"id_reader": "an ID card reader", "printer": "a receipt printer",
              "ssc_reader": "a social security card reader", "camera": "a camera"}


class SimulatorUnavailable(DeviceNotFound):
    """A ``sim://`` endpoint whose simulator cannot run on this machine (e.g. no pcscd): the
    terminal goes on without that device instead of refusing to start."""


@dataclass
class SerialPort:
    """A serial port to open: ``url`` for pyserial, and the simulator behind it for ``sim://``
    (owned: :meth:`close` stops it)."""

    url: str
    simulator: IdReaderSimulator | None = None
    handler: str = ""  # the registry's handler that opened it: a reopen through the same one keeps it

    def close(self) -> None:
        """Stop the simulator standing in for the reader, if there is one (idempotent)."""
        if self.simulator is not None:
            self.simulator.stop()


@dataclass
class PcscPort:
    """A PC/SC reader to watch: its name (None: the first reader there is), and the simulator behind
    it for ``sim://`` (owned: :meth:`close` stops it)."""

    reader_name: str | None
    simulator: SscReaderSimulator | None = None

    def close(self) -> None:
        """Stop the simulator standing in for the reader, if there is one (idempotent)."""
        if self.simulator is not None:
            self.simulator.stop()


def opens(role: Role, endpoint: Endpoint) -> bool:
    """Whether ``endpoint`` names a device of ``role`` (its scheme has a handler there)."""
    return endpoint.scheme in HANDLERS[role]


def handler(role: Role, endpoint: Endpoint) -> tuple[str, Callable[..., Any]]:
    """The name and the opener of ``endpoint`` in ``role``'s table. Raises EndpointError naming the
    forms the role accepts."""
    table = HANDLERS[role]
    name = table.get(endpoint.scheme)
    if name is None:
        known = ", ".join(f"{scheme}://" for scheme in sorted(table))
        raise EndpointError(f"{endpoint.uri!r} does not name {ROLE_WORDS[role]}; use one of {known}")
    module, _, function = name.partition(":")
    # lazy: handlers load on first use, as pyserial's do (see the module docstring)
    opener: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return name, opener


# -- the roles ------------------------------------------------------------------------------------

def open_serial_port(uri: str, *, reuse: SerialPort | None = None) -> SerialPort:
    """The ID card reader's serial port for ``uri``. ``reuse``: a port opened before, kept (with its
    running simulator) when ``uri`` opens the same kind of port. Raises EndpointError."""
    endpoint = parse_endpoint(uri)
    name, opener = handler("id_reader", endpoint)
    if reuse is not None and reuse.simulator is not None and reuse.handler == name:
        return reuse
    port: SerialPort = opener(endpoint)
    port.handler = name
    return port


@contextmanager
def serial_port(uri: str) -> Iterator[SerialPort]:
    """:func:`open_serial_port` for one ``with`` block: a simulator it starts is stopped after."""
    port = open_serial_port(uri)
    try:
        yield port
    finally:
        port.close()


def open_printer_port(endpoint: Endpoint, *, timeout: float, baudrate: int) -> PrinterPort:
    """The links to the printer at ``endpoint`` (parsed by ``printer_endpoint``). Raises EndpointError."""
    _, opener = handler("printer", endpoint)
    port: PrinterPort = opener(endpoint, timeout=timeout, baudrate=baudrate)
    return port


def open_pcsc_port(uri: str) -> PcscPort:
    """The social security card reader for ``uri``. Raises EndpointError, and SimulatorUnavailable
    for a ``sim://`` reader this machine cannot run."""
    endpoint = parse_endpoint(uri)
    _, opener = handler("ssc_reader", endpoint)
    port: PcscPort = opener(endpoint)
    return port


def open_camera(uri: str, name: str, on_event: EventCallback | None = None, *,
                app: CodeSource | None = None) -> FrameSource:
    """The camera ``name`` (``camera``, ``document_camera``, ``qr_camera``) at ``uri``, capturing.
    ``app`` holds codes up to a simulated QR camera (the resident's phone). Raises EndpointError,
    and DeviceError when a real camera cannot be opened."""
    endpoint = parse_endpoint(uri)
    _, opener = handler("camera", endpoint)
    camera: FrameSource = opener(endpoint, name=name, on_event=on_event, app=app)
    return camera


# -- handlers with no simulator or driver module of their own --------------------------------------

def open_serial(endpoint: Endpoint) -> SerialPort:
    """A device path or pyserial URL, as it is."""
    return SerialPort(endpoint.serial_url)


def open_pcsc(endpoint: Endpoint) -> PcscPort:
    """``pcsc://<reader name>``; ``pcsc://`` for the first reader there is."""
    return PcscPort((endpoint.host + endpoint.path).strip("/") or None)
