"""The kiosk's current screen as a picture, for the operator console.

The kiosk app posts a PNG of its current frame to ``POST /api/v1/screen`` (loopback only,
``Content-Type: image/png``, at most 2 MB); operators fetch it at ``GET /api/v1/screen.png``.

Why this is safe to show: the screens draw from ``KioskFlow.view()``, which holds masked values
only (``kiosk/privacy.py``: ``3502**********1234``, ``张**``), so a frame carries no more than a
passer-by behind the resident could read. Still, the picture is treated as sensitive: only the
latest frame is kept, in memory only (never written to disk, gone on restart), it is served only
to an authenticated operator with ``Cache-Control: no-store``, and a newer frame replaces it.
The post must say ``image/png`` (or ``application/octet-stream``): a browser page elsewhere cannot
send either content type to loopback without a CORS preflight, which this gateway never grants.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from local_api.web.app import error, is_loopback
from local_api.web.api_ops import require

MAX_SCREEN_BYTES = 2 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXTENSION_KEY = "kiosk_screen"

bp = Blueprint("screen", __name__)


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


def frame_store() -> ScreenFrame:
    """The current app's screen frame store."""
    found: ScreenFrame = current_app.extensions[EXTENSION_KEY]
    return found


@bp.post("/api/v1/screen")
def screen_post() -> Any:
    """The kiosk app's current frame (loopback only, a PNG body, ≤ 2 MB); replaces the previous one."""
    if not is_loopback():
        return error(403, "forbidden", "this endpoint is the kiosk app's own and answers on loopback only")
    # Neither type is one a page elsewhere may send to loopback without a CORS preflight.
    if request.mimetype not in ("image/png", "application/octet-stream"):
        return error(415, "unsupported_media_type", "send the frame as Content-Type: image/png", field="body")
    if (request.content_length or 0) > MAX_SCREEN_BYTES:
        return error(413, "payload_too_large", "a frame may be at most 2 MB; scale it down", field="body")
    data = request.stream.read(MAX_SCREEN_BYTES + 1)
    if len(data) > MAX_SCREEN_BYTES:
        return error(413, "payload_too_large", "a frame may be at most 2 MB; scale it down", field="body")
    size = png_size(data)
    if size is None:
        return error(400, "invalid_request", "body: not a PNG image", field="body")
    from local_api.outbox.forwarder import iso

    meta = frame_store().put(data, *size)
    return jsonify(dict(meta, at=iso(meta["at"]))), 201


@bp.get("/api/v1/screen.png")
@require("operator")
def screen_get() -> Any:
    """The latest frame as image/png (404 until the kiosk app has posted one)."""
    png, meta = frame_store().get()
    if png is None:
        return error(404, "not_found", "the kiosk app has not sent a picture of its screen yet")
    answer = Response(png, content_type="image/png")
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Screen-Taken-At"] = f"{meta['at']:.3f}"
    return answer
