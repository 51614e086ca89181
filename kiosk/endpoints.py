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
looks the scheme up per device role. Whether a configured endpoint is an acceptable *target* is
(:func:`target_problem`, issue 17): the settings check and the gateway's device settings change refuse a
printer pointed at ``/etc/shadow``, ``file:///etc/passwd`` or ``tcp://169.254.169.254:80``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
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


# -- which targets a device setting may name (issue 17) ----------------------------------------

# Serial ports by stable name, tty devices with a number (ttyUSB0, ttyACM0, ttyS0, ttyAMA0; not the
# consoles /dev/tty and /dev/tty1), pseudo-terminals (socat bridges, the simulators), Windows COM ports.
_SERIAL_PATH = re.compile(r"^(?:/dev/serial/by-(?:id|path)/[^/.][^/]*|/dev/tty[A-Za-z]+[0-9]+|/dev/pts/[0-9]+"
                          r"|COM[0-9]+)$")
_TTY_DEVICE = re.compile(r"^/dev/(?:tty[A-Za-z]+[0-9]+|pts/[0-9]+)$")
# pyserial URL handlers that are no device: spy:// logs to a file of its choosing, alt:// picks a serial
# class, hwgrid:// enumerates ports. Debugging tools, never a terminal's setting.
_DEBUG_SCHEMES = {"spy", "alt", "hwgrid"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SERIAL_FORMS = "/dev/serial/by-id/…, /dev/ttyUSB0-style devices or a pseudo-terminal /dev/pts/N"


def _serial_path_problem(path: str) -> str | None:
    try:
        mode: int | None = os.stat(path).st_mode
    except OSError:
        mode = None  # not there (yet): the settings check says so separately
    if _SERIAL_PATH.match(path):
        if mode is not None and not stat.S_ISCHR(mode):
            return f"{path} is not a serial port (not a character device)"
        return None
    if mode is not None and stat.S_ISCHR(mode) and _TTY_DEVICE.match(os.path.realpath(path)):
        return None  # a link of one's own (a udev rule, socat) to a tty device
    return f"{path} is not a serial port: use {SERIAL_FORMS}"


def _address_problem(host: str, port: int | None) -> str | None:
    """Why a TCP target is refused: link-local (cloud metadata at 169.254.169.254), multicast, unspecified or
    broadcast. A host name is checked by what it resolves to now; one that does not resolve is left to the
    device's own connection attempt (the printer may not be on the network yet)."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, port or 9100, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]
    for address in addresses:
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        address = mapped or address
        shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
        if address.is_link_local:
            return (f"{shown} is a link-local address (169.254.0.0/16, fe80::/10: cloud metadata and "
                    "auto-configuration, never a device); use the device's own address")
        if address.is_multicast:
            return f"{shown} is a multicast address; a device has an address of its own"
        if address.is_unspecified:
            return f"{shown} is the unspecified address (0.0.0.0 or ::), not a device"
        if address == ipaddress.IPv4Address("255.255.255.255"):
            return f"{shown} is the broadcast address, not a device"
    return None


def _inside(path: str, folder: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real != base and real.startswith(base.rstrip(os.sep) + os.sep)


def target_problem(uri: str, *, file_dir: Path) -> str | None:
    """Why ``uri`` is not an acceptable device target, in plain words; None when it is.

    Allowed: ``sim://``; serial ports (:data:`SERIAL_FORMS`, or a link to a tty device) and ``serial://``
    of those; ``tcp://``, ``socket://`` and ``rfc2217://`` to an address that is not link-local,
    multicast, unspecified or broadcast; ``loop://``; ``usb://VID:PID``; ``pcsc://``; ``camera://``;
    ``file://`` only for a file inside ``file_dir`` (links resolved, so ``..`` or a link cannot lead out).
    """
    bad = _CONTROL.search(uri)
    if bad:
        return f"contains a control or bidi character (U+{ord(bad.group()):04X})"
    try:
        endpoint = parse_endpoint(uri)
    except EndpointError as exc:
        return str(exc)
    scheme = endpoint.scheme
    if scheme == "serial":
        return _serial_path_problem(endpoint.path)
    if scheme in _DEBUG_SCHEMES:
        return f"{scheme}:// is a pyserial debugging URL and not allowed as a device setting; use {SERIAL_FORMS}"
    if scheme in ("tcp", "socket", "rfc2217"):
        parts = urlsplit(endpoint.uri.strip())
        try:
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            return f"bad port in {uri!r}: {exc}"
        if not host:
            return f"{uri!r} names no host; use {scheme}://host:port"
        return _address_problem(host, port)
    if scheme == "file":
        if urlsplit(uri.strip()).netloc not in ("", "localhost"):
            return f"{uri!r} names a host; a file:// output is a local file, file:///path"
        if not _inside(endpoint.path, file_dir):
            return (f"{endpoint.path} is outside the device output folder: only files under {file_dir} are "
                    "allowed (setting devices.file_output_dir)")
        return None
    return None  # sim, loop, usb (parsed above), pcsc, camera
