"""A USB printer-class device as a printer link (``usb://VID:PID``), through pyusb (libusb).

Kept apart from the other links (:mod:`devices.printer.connections`) because pyusb is optional:
it is imported only when a USB printer is opened.
"""

from __future__ import annotations

import errno
from typing import Any

from devices.base import DeviceDisconnected, DeviceNotFound, DeviceTimeout
from kiosk.endpoints import Endpoint, UsbAddress, parse_usb_uri

from .connections import PRINTER_SETTLE_S, DirectPort


class UsbLink:
    """A USB printer-class device through pyusb (libusb): bulk OUT for data, bulk IN for status.

    Thin on purpose: it cannot be tested without the hardware, so it only finds the device,
    claims the interface and translates pyusb's errors. Linux's ``usblp`` driver claims
    printers first, so it is detached; the kiosk user needs a udev rule granting the device.
    """

    persistent = True
    reports_status = True
    settle_s = PRINTER_SETTLE_S

    def __init__(self, address: UsbAddress, timeout: float) -> None:
        self.where = str(address)
        self._timeout_ms = max(1, int(timeout * 1000))
        self._pending = bytearray()
        try:
            import usb.core  # lazy: pyusb is optional; only USB printers need it
            import usb.util  # lazy: as above
        except ImportError as exc:
            raise DeviceNotFound(f"USB printing needs pyusb, which is not installed ({exc}): "
                                 "pip install pyusb, or use the printer's serial or network port") from exc
        self._usb = usb
        try:
            dev: Any = usb.core.find(idVendor=address.vid, idProduct=address.pid)
        except usb.core.NoBackendError as exc:
            raise DeviceNotFound("USB printing needs libusb-1.0, which was not found: install the "
                                 "libusb-1.0-0 package") from exc
        except usb.core.USBError as exc:
            raise self._error(exc, "cannot list USB devices") from exc
        if dev is None:
            raise DeviceNotFound(f"no USB printer {self.where} is plugged in: check the cable and the "
                                 "vendor:product id in the settings (lsusb lists them)")
        self._dev = dev
        try:
            try:
                if dev.is_kernel_driver_active(address.interface):
                    dev.detach_kernel_driver(address.interface)
            except NotImplementedError:
                pass  # not every platform has kernel drivers to detach
            try:
                dev.set_configuration()
            except usb.core.USBError as exc:
                if exc.errno != errno.EBUSY:  # busy: already configured, which is what we wanted
                    raise
            intf = dev.get_active_configuration()[(address.interface, 0)]
            direction = usb.util.endpoint_direction
            self._out = usb.util.find_descriptor(
                intf, custom_match=lambda e: direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT)
            self._in = usb.util.find_descriptor(
                intf, custom_match=lambda e: direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN)
        except usb.core.USBError as exc:
            usb.util.dispose_resources(dev)
            raise self._error(exc, "cannot be opened") from exc
        except (KeyError, IndexError) as exc:
            usb.util.dispose_resources(dev)
            raise DeviceNotFound(f"USB device {self.where} has no interface {address.interface}: "
                                 "is it really a printer?") from exc
        if self._out is None:
            usb.util.dispose_resources(dev)
            raise DeviceNotFound(f"USB device {self.where} has no bulk OUT endpoint: is it really a printer?")

    def _error(self, exc: Exception, what: str) -> Exception:
        code = getattr(exc, "errno", None)
        if code in (errno.EACCES, errno.EPERM):
            return DeviceNotFound(f"USB printer {self.where} {what}: permission denied; add a udev rule "
                                  "giving the kiosk user access to it")
        if code in (errno.ENODEV, errno.EPIPE, errno.EIO, errno.ENOENT):
            return DeviceDisconnected(f"USB printer {self.where} went away ({exc}): "
                                      "check the cable and power")
        if isinstance(exc, self._usb.core.USBTimeoutError):
            return DeviceTimeout(f"USB printer {self.where} stopped taking data")
        return DeviceDisconnected(f"USB printer {self.where} {what}: {exc}")

    def write(self, data: bytes) -> None:
        try:
            self._out.write(data, timeout=self._timeout_ms + len(data))
        except self._usb.core.USBError as exc:
            raise self._error(exc, "stopped taking data") from exc

    def read_byte(self, timeout: float) -> int | None:
        if self._pending:
            return self._pending.pop(0)
        if self._in is None:
            return None  # a printer without an IN endpoint cannot report status: it reads as silent
        try:
            got = self._in.read(self._in.wMaxPacketSize, timeout=max(1, int(timeout * 1000)))
        except self._usb.core.USBTimeoutError:
            return None
        except self._usb.core.USBError as exc:
            raise self._error(exc, "stopped answering") from exc
        self._pending += bytes(got)
        return self._pending.pop(0) if self._pending else None

    def drain(self) -> None:
        self._pending.clear()
        if self._in is None:
            return
        for _ in range(16):  # bounded: a babbling device must not hold us here
            try:
                if not self._in.read(self._in.wMaxPacketSize, timeout=1):
                    return
            except self._usb.core.USBTimeoutError:
                return
            except self._usb.core.USBError as exc:
                raise self._error(exc, "stopped answering") from exc

    def close(self) -> None:
        try:
            self._usb.util.dispose_resources(self._dev)
        except self._usb.core.USBError:
            pass  # unplugged already


def open_usb_port(endpoint: Endpoint, *, timeout: float, baudrate: int) -> DirectPort:
    """``usb://VID:PID``: a USB printer-class device."""
    address = parse_usb_uri(endpoint.uri)
    return DirectPort(lambda: UsbLink(address, timeout))
