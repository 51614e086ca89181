"""Opens the terminal's devices from their endpoints, starting built-in simulators for ``sim://``.

The kiosk app owns its devices (card events need low latency); this module is the one place that
knows which adapter and which simulator each setting means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.base import DeviceEvent
from devices.id_card.reader import IdCardReader
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.printer import ReceiptPrinter
from devices.printer.simulator import VirtualPrinter
from kiosk.endpoints import parse_endpoint
from kiosk.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Hardware:
    """The opened devices and the simulators standing in for absent ones."""

    id_reader: IdCardReader
    printer: ReceiptPrinter
    id_simulator: IdReaderSimulator | None = None
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, on_event: Callable[[DeviceEvent], None]) -> Hardware:
        """Open every device; on failure, close what was opened and re-raise."""
        closers: list[Callable[[], Any]] = []
        try:
            dev = settings.devices
            id_endpoint = parse_endpoint(dev.id_reader)
            id_sim = None
            if id_endpoint.is_simulator:
                id_sim = IdReaderSimulator()
                id_sim.start()
                closers.append(id_sim.stop)
                port = id_sim.port
            else:
                port = id_endpoint.serial_url
            reader = IdCardReader(port, read_timeout_s=dev.read_timeout_s, on_event=on_event)
            reader.open()
            closers.append(reader.close)
            reader.start_polling(dev.poll_interval_s)
            closers.append(reader.stop_polling)

            printer_endpoint = parse_endpoint(dev.printer)
            # For sim:// the adapter starts and stops its own VirtualPrinter.
            printer = ReceiptPrinter(dev.printer, on_event=on_event)
            printer.open()
            closers.append(printer.close)
        except BaseException:
            for close in reversed(closers):
                _quietly(close)
            raise
        log.info("devices open", extra={"id_reader": id_endpoint.scheme, "printer": printer_endpoint.scheme})
        return cls(reader, printer, id_sim, closers)

    @property
    def printer_simulator(self) -> VirtualPrinter | None:
        return self.printer.simulator

    def close(self) -> None:
        for close in reversed(self._closers):
            _quietly(close)
        self._closers.clear()


def _quietly(close: Callable[[], Any]) -> None:
    try:
        close()
    except Exception:  # closing must go on for the other devices
        log.exception("error while closing a device")
