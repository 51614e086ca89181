"""The kiosk's current screen, as the latest picture the kiosk app sent (memory only).

Only the latest frame is kept, in memory only (never written to disk, gone on restart), and a
newer frame replaces it: the picture is treated as sensitive even though the app draws it from a
masked view (``screens/mirror.py``; see :mod:`local_api.web.screen` for who may post and fetch it).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ScreenFrame:
    """The latest frame the kiosk app posted (bytes, size, when). Thread-safe; memory only."""

    def __init__(self, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._now = wall_clock
        self._lock = threading.Lock()
        self._png: bytes | None = None
        self._meta: dict[str, Any] = {}

    def put(self, png: bytes, width: int, height: int) -> dict[str, Any]:
        """Keep ``png`` as the current frame (the previous one is dropped)."""
        with self._lock:
            self._png = png
            self._meta = {"width": width, "height": height, "bytes": len(png), "at": self._now()}
            return dict(self._meta)

    def get(self) -> tuple[bytes | None, dict[str, Any]]:
        """The current frame and its metadata (None before the first post)."""
        with self._lock:
            return self._png, dict(self._meta)


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, or None when ``data`` is not a PNG.

    Hand-written (16 bytes of header) rather than decoding the image: the gateway only needs to
    know it was given a picture, not to draw it, and must not pull an imaging library for that.
    """
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= 10000 and 0 < height <= 10000):
        return None
    return width, height
