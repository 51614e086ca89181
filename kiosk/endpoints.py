"""Device endpoints as URIs.

Accepted forms:

- ``sim://<name>``: a built-in simulator (``sim://id-reader``, ``sim://printer``);
- a serial device path (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``) or a pyserial URL
  (``socket://host:port``, ``rfc2217://host:port``, ``loop://``, ``spy://...``);
- ``tcp://host:9100`` for network printers, ``usb://VID:PID`` (hex ids, optionally ``?interface=N``)
  for USB ones;
- ``file:///path`` to append raw printer bytes to a file;
- ``pcsc://<reader name>`` for PC/SC smart-card readers;
- ``camera://<index>`` or a video file path for cameras.

What an endpoint opens is not decided here: ``devices.endpoints`` (the device layer's registry)
looks the scheme up per device role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

PYSERIAL_SCHEMES = {"socket", "rfc2217", "loop", "spy", "alt", "hwgrid"}
KNOWN_SCHEMES = {"sim", "tcp", "file", "pcsc", "camera", "serial", "usb"} | PYSERIAL_SCHEMES


class EndpointError(ValueError):
    """An endpoint string that cannot name a device."""


@dataclass(frozen=True)
class Endpoint:
    """A parsed device endpoint."""

    uri: str
    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""

    @property
    def is_simulator(self) -> bool:
        return self.scheme == "sim"

    @property
    def local_path(self) -> str | None:
        """The device file this endpoint needs to exist, if it names one."""
        return self.path if self.scheme == "serial" else None

    @property
    def serial_url(self) -> str:
        """What to hand to ``serial.serial_for_url``."""
        if self.scheme == "serial":
            return self.path
        if self.scheme in PYSERIAL_SCHEMES:
            return self.uri
        raise EndpointError(f"{self.uri!r} is not a serial port")


@dataclass(frozen=True)
class UsbAddress:
    """A USB device by vendor and product id, and the interface that carries its function."""

    vid: int
    pid: int
    interface: int = 0

    def __str__(self) -> str:
        return f"usb://{self.vid:04x}:{self.pid:04x}"


_USB_RE = re.compile(r"^usb://([0-9a-f]{1,4}):([0-9a-f]{1,4})/?(?:\?interface=(\d{1,2}))?$", re.IGNORECASE)


def parse_usb_uri(uri: str) -> UsbAddress:
    """Parse ``usb://VID:PID`` (hex, e.g. ``usb://0416:5011``), optionally ``?interface=N``."""
    m = _USB_RE.match(uri.strip())
    if m is None:
        raise EndpointError(f"{uri!r} is not a USB printer address; write usb://VID:PID in hex, "
                            "e.g. usb://0416:5011 (lsusb shows the ids)")
    return UsbAddress(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3) or 0))


def parse_endpoint(uri: str) -> Endpoint:
    """Parse ``uri`` or raise :class:`EndpointError` saying what forms are accepted."""
    text = uri.strip()
    if not text:
        raise EndpointError("empty device endpoint")
    if text.startswith("/") or text.upper().startswith("COM"):
        return Endpoint(text, "serial", path=text)
    if "://" not in text:
        raise EndpointError(
            f"{text!r} is neither a device path nor a URI; use e.g. /dev/ttyUSB0, tcp://192.0.2.5:9100, "
            "sim://printer")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in KNOWN_SCHEMES:
        raise EndpointError(
            f"unknown device URI scheme {scheme!r} in {text!r}; known: {', '.join(sorted(KNOWN_SCHEMES))}")
    if scheme == "serial":
        return Endpoint(text, "serial", path=unquote(parts.path))
    if scheme == "tcp":
        try:
            port = parts.port or 9100
        except ValueError as exc:
            raise EndpointError(f"bad port in {text!r}: {exc}") from None
        if not parts.hostname:
            raise EndpointError(f"{text!r} names no host; use tcp://host:9100")
        return Endpoint(text, scheme, host=parts.hostname, port=port)
    if scheme == "sim":
        name = (parts.netloc + parts.path).strip("/")
        if not name:
            raise EndpointError(f"{text!r} names no simulator; use e.g. sim://printer")
        return Endpoint(text, scheme, host=name, path=parts.path)
    if scheme == "usb":
        address = parse_usb_uri(text)
        return Endpoint(text, scheme, host=f"{address.vid:04x}:{address.pid:04x}")
    if scheme == "file":
        if not parts.path:
            raise EndpointError(f"{text!r} names no file; use file:///var/lib/kiosk/printer.bin")
        return Endpoint(text, scheme, path=unquote(parts.path))
    return Endpoint(text, scheme, host=unquote(parts.netloc), path=unquote(parts.path))
