"""Which cameras this machine has: ``/dev/video*`` probed without grabbing them.

Each node is asked ``VIDIOC_QUERYCAP`` (a read-only ioctl that does not start streaming, so a
camera the kiosk app is using can still be listed). Many UVC cameras expose two nodes, one for
video and one for metadata; ``capture`` tells them apart. The ioctl is written out by hand because
no maintained V4L2 binding is among the kiosk's dependencies and this one call is all that is needed.

:func:`list_cameras` never raises: a node it cannot query is listed with the reason.
"""

from __future__ import annotations

import fcntl
import glob
import os
import re
import struct
from typing import Any

# struct v4l2_capability: driver[16] card[32] bus_info[32] version capabilities device_caps reserved[3]
_CAP_STRUCT = struct.Struct("16s32s32sIII3I")
_VIDIOC_QUERYCAP = (2 << 30) | (_CAP_STRUCT.size << 16) | (ord("V") << 8) | 0  # _IOR('V', 0, v4l2_capability)
_V4L2_CAP_VIDEO_CAPTURE = 0x00000001
_V4L2_CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
_V4L2_CAP_DEVICE_CAPS = 0x80000000


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _query(path: str) -> dict[str, Any]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        buf = bytearray(_CAP_STRUCT.size)
        fcntl.ioctl(fd, _VIDIOC_QUERYCAP, buf, True)
    finally:
        os.close(fd)
    driver, card, bus, _version, caps, device_caps, *_ = _CAP_STRUCT.unpack(bytes(buf))
    effective = device_caps if caps & _V4L2_CAP_DEVICE_CAPS else caps
    return {"name": _text(card), "driver": _text(driver), "bus": _text(bus),
            "capture": bool(effective & (_V4L2_CAP_VIDEO_CAPTURE | _V4L2_CAP_VIDEO_CAPTURE_MPLANE))}


def _index(path: str) -> int:
    m = re.search(r"(\d+)$", path)
    return int(m.group(1)) if m else -1


def list_cameras(pattern: str = "/dev/video*") -> list[dict[str, Any]]:
    """One dict per video node: kind, uri (``camera://N``), path, name, driver, bus, capture, ok, problem."""
    out: list[dict[str, Any]] = []
    try:
        paths = sorted(glob.glob(pattern), key=_index)
    except Exception as exc:  # noqa: BLE001  a listing must never crash the technician's tool
        return [{"kind": "camera", "uri": "", "path": pattern, "ok": False, "problem": f"cannot list: {exc}"}]
    for path in paths:
        idx = _index(path)
        entry: dict[str, Any] = {"kind": "camera", "uri": f"camera://{idx}" if idx >= 0 else f"camera://{path}",
                                 "path": path, "name": "", "driver": "", "bus": "", "capture": None,
                                 "ok": False, "problem": ""}
        try:
            entry.update(_query(path))
            entry["ok"] = bool(entry["capture"])
            if not entry["capture"]:
                entry["problem"] = "not a capture node (metadata or output only)"
        except PermissionError:
            entry["problem"] = "permission denied: add the kiosk user to the 'video' group"
        except OSError as exc:
            entry["problem"] = f"cannot query: {exc.strerror or exc}"
        except Exception as exc:  # noqa: BLE001  drivers raise their own types; the listing goes on
            entry["problem"] = f"cannot query: {exc}"
        out.append(entry)
    return out
