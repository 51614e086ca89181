"""The kiosk's current screen as a picture, for the operator console.

The kiosk app posts a PNG of its current screen to ``POST /api/v1/screen`` (the kiosk door:
loopback, the door secret, ``Content-Type: image/png``, at most 2 MB; :mod:`local_api.web.door`);
operators fetch it at ``GET /api/v1/screen.png``.

Why this is safe to show: the app draws that picture off-screen from the masked mirror of the view
(``kiosk.flow.views.mirror_view``, ``screens/mirror.py``): every field that can hold personal data is
masked, document pages and query answers are placeholders, the keyboard shows nothing typed. It is
never the resident's own frame. Still, the picture is treated as sensitive: only the
latest frame is kept, in memory only (never written to disk, gone on restart), it is served only
to an authenticated operator with ``Cache-Control: no-store``, and a newer frame replaces it.
The post must say ``image/png`` (or ``application/octet-stream``): a browser page elsewhere cannot
send either content type to loopback without a CORS preflight, which this gateway never grants.
The frame itself is kept by :class:`local_api.ops.screen_frame.ScreenFrame`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from local_api.ops.screen_frame import png_size
from local_api.timestamps import iso
from local_api.web.auth import require
from local_api.web.door import kiosk_door_refusal
from local_api.web.errors import error
from local_api.web.services import services

MAX_SCREEN_BYTES = 2 * 1024 * 1024

bp = Blueprint("screen", __name__)


@bp.post("/api/v1/screen")
def screen_post() -> Any:
    """The kiosk app's current frame (loopback only, a PNG body, ≤ 2 MB); replaces the previous one."""
    # Neither type is one a page elsewhere may send to loopback without a CORS preflight.
    refused = kiosk_door_refusal(("image/png", "application/octet-stream"))
    if refused is not None:
        return refused
    if (request.content_length or 0) > MAX_SCREEN_BYTES:
        return error(413, "payload_too_large", "a frame may be at most 2 MB; scale it down", field="body")
    data = request.stream.read(MAX_SCREEN_BYTES + 1)
    if len(data) > MAX_SCREEN_BYTES:
        return error(413, "payload_too_large", "a frame may be at most 2 MB; scale it down", field="body")
    size = png_size(data)
    if size is None:
        return error(400, "invalid_request", "body: not a PNG image", field="body")
    meta = services().screen.put(data, *size)
    return jsonify(dict(meta, at=iso(meta["at"]))), 201


@bp.get("/api/v1/screen.png")
@require("operator")
def screen_get() -> Any:
    """The latest frame as image/png (404 until the kiosk app has posted one)."""
    png, meta = services().screen.get()
    if png is None:
        return error(404, "not_found", "the kiosk app has not sent a picture of its screen yet")
    answer = Response(png, content_type="image/png")
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Screen-Taken-At"] = f"{meta['at']:.3f}"
    return answer
