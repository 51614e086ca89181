"""Device endpoints as URIs.

Accepted forms:

- ``sim://<name>``: a built-in simulator (``sim://id-reader``, ``sim://printer``);
- a serial device path (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``) or a pyserial URL
  (``socket://host:port``, ``rfc2217://host:port``, ``loop://``, ``spy://...``);
- ``tcp://host:9100`` for network printers, ``usb://VID:PID`` for USB ones;
- ``file:///path`` to append raw printer bytes to a file;
- ``pcsc://<reader name>`` for PC/SC smart-card readers;
- ``camera://<index>`` or a video file path for cameras.
"""

from __future__ import annotations

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
    if scheme == "file":
        if not parts.path:
            raise EndpointError(f"{text!r} names no file; use file:///var/lib/kiosk/printer.bin")
        return Endpoint(text, scheme, path=unquote(parts.path))
    return Endpoint(text, scheme, host=unquote(parts.netloc), path=unquote(parts.path))
