"""Which serial ports are plugged in, named by ids that survive a replug.

``/dev/ttyUSB0`` is whatever USB serial adapter the kernel enumerated first: after a replug or a
reboot the ID card reader may come back as ``/dev/ttyUSB1``. Two names do not move:

- the udev link in ``/dev/serial/by-id/`` (built from the adapter's vendor, product and serial
  number), which is what the settings should name;
- the adapter's USB VID:PID and serial number, which :func:`find_serial_port` turns back into
  today's device path.

pyserial's ``serial.tools.list_ports`` does the sysfs work (it is what ``python -m
serial.tools.list_ports`` uses); this module joins its answer with the by-id links and returns
plain dataclasses. Nothing here opens a port.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from serial.tools import list_ports

BY_ID_DIR = Path("/dev/serial/by-id")


@dataclass(frozen=True)
class SerialPortInfo:
    """One serial port. ``stable_path`` is its ``/dev/serial/by-id`` link when udev made one."""

    device: str
    stable_path: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    description: str = ""
    hwid: str = ""
    other_links: tuple[str, ...] = field(default_factory=tuple)

    @property
    def usb_id(self) -> str | None:
        """``"1a86:7523"``-style VID:PID, or None for a non-USB port."""
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def stable_id(self) -> str | None:
        """The best replug-proof name: the by-id link, else ``usb:VID:PID:SERIAL``, else None."""
        if self.stable_path:
            return self.stable_path
        if self.usb_id and self.serial_number:
            return f"usb:{self.usb_id}:{self.serial_number}"
        return None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["other_links"] = list(self.other_links)
        out["usb_id"] = self.usb_id
        out["stable_id"] = self.stable_id
        return out


def by_id_links(by_id_dir: str | os.PathLike[str] = BY_ID_DIR) -> dict[str, list[str]]:
    """Map each real device path to the by-id links pointing at it (sorted; broken links skipped)."""
    root = Path(by_id_dir)
    links: dict[str, list[str]] = {}
    try:
        entries = sorted(root.iterdir())
    except OSError:  # no USB serial adapter ever plugged in: udev has not made the folder
        return links
    for entry in entries:
        if not entry.is_symlink():
            continue
        try:
            target = entry.resolve(strict=True)
        except (OSError, RuntimeError):
            continue  # dangling link: the device is gone
        links.setdefault(str(target), []).append(str(entry))
    return links


def port_info(port: Any, links: dict[str, list[str]] | None = None) -> SerialPortInfo:
    """A :class:`SerialPortInfo` from one of pyserial's ``ListPortInfo`` entries."""
    device = str(port.device)
    try:
        real = str(Path(device).resolve())
    except (OSError, RuntimeError):
        real = device
    mine = (links or {}).get(real, [])
    description = port.description if port.description not in (None, "n/a") else ""
    return SerialPortInfo(
        device=device, stable_path=mine[0] if mine else None, vid=port.vid, pid=port.pid,
        serial_number=port.serial_number, manufacturer=port.manufacturer, product=port.product,
        description=description or "", hwid=port.hwid if port.hwid not in (None, "n/a") else "",
        other_links=tuple(mine[1:]))


def list_serial_ports(by_id_dir: str | os.PathLike[str] = BY_ID_DIR) -> list[SerialPortInfo]:
    """Every serial port pyserial sees, plus any by-id link whose target pyserial did not list.

    Sorted with USB ports first (they are the readers and printers), then by device path.
    """
    links = by_id_links(by_id_dir)
    ports = [port_info(p, links) for p in list_ports.comports()]
    seen = {str(Path(p.device).resolve()) for p in ports}
    for target, names in links.items():
        if target not in seen:  # e.g. a device without a sysfs driver entry
            ports.append(SerialPortInfo(device=target, stable_path=names[0], other_links=tuple(names[1:])))
    return sorted(ports, key=lambda p: (p.vid is None, p.device))


_USB_SPEC = re.compile(r"^(?:usb:)?([0-9a-fA-F]{4}):([0-9a-fA-F]{4})(?::(.+))?$")


def parse_usb_spec(spec: str) -> tuple[int, int, str | None]:
    """``"usb:1a86:7523:SN1"`` or ``"1a86:7523"`` → (vid, pid, serial or None); ValueError otherwise."""
    match = _USB_SPEC.match(spec.strip())
    if match is None:
        raise ValueError(f"{spec!r} is not a USB id; use VID:PID or usb:VID:PID:SERIAL, e.g. usb:1a86:7523")
    vid, pid, serial_number = match.groups()
    return int(vid, 16), int(pid, 16), serial_number


def match_ports(ports: Iterable[SerialPortInfo], vid: int, pid: int,
                serial_number: str | None = None) -> list[SerialPortInfo]:
    """The ports with this VID:PID (and serial number, when given)."""
    return [p for p in ports if p.vid == vid and p.pid == pid
            and (serial_number is None or p.serial_number == serial_number)]


def find_serial_port(spec: str, *, by_id_dir: str | os.PathLike[str] = BY_ID_DIR,
                     ports: Iterable[SerialPortInfo] | None = None) -> SerialPortInfo | None:
    """The one port a stable id names: a by-id link path, or ``usb:VID:PID[:SERIAL]``.

    Returns None when nothing matches. Raises ValueError when a VID:PID without serial number
    matches several adapters (two identical USB-serial cables): then only the by-id link or the
    serial number can tell them apart, and guessing would talk to the wrong device.
    """
    candidates = list(ports) if ports is not None else list_serial_ports(by_id_dir)
    if spec.startswith("/"):
        try:
            target = str(Path(spec).resolve(strict=True))
        except (OSError, RuntimeError):
            return None
        for port in candidates:
            if spec in (port.stable_path, port.device, *port.other_links) or port.device == target:
                return port
        return SerialPortInfo(device=target, stable_path=spec if Path(spec).is_symlink() else None)
    vid, pid, serial_number = parse_usb_spec(spec)
    found = match_ports(candidates, vid, pid, serial_number)
    if len(found) > 1:
        raise ValueError(f"{len(found)} ports have USB id {vid:04x}:{pid:04x}; name one by its "
                         "/dev/serial/by-id link or add its serial number (usb:VID:PID:SERIAL)")
    return found[0] if found else None
