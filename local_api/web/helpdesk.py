"""The remote help desk (issue 21): staff with the ``helper`` role guide a resident from afar.

Two doors, one state (:class:`local_api.ops.helpdesk.HelpDesk`, memory only):

- the kiosk app's (loopback, the door secret; :func:`local_api.web.door.kiosk_door_refusal`):
  ``POST /api/v1/helpdesk/kiosk/requests`` opens a request (its number is the queued help request's
  receipt number), ``GET /api/v1/helpdesk/kiosk/events`` long-polls what the desk did,
  ``POST /api/v1/helpdesk/kiosk/replies`` carries the resident's consent, refusal or end, and
  ``POST /api/v1/helpdesk/kiosk/frame`` the masked mirror of the screen (refused until the resident
  consented);
- the desk's (``helper`` role or above, a bearer token or the console log-in with its CSRF token):
  the page ``/helpdesk``, ``GET /api/v1/helpdesk/stream`` (server-sent events: the queue and every new
  frame, pushed), ``GET …/requests/<no>/frame.png``, and ``POST …/requests/<no>/accept|point|message|end``.
  Each desk action is audited (:data:`local_api.web.audit.ACTIONS`); the resident's answers are
  audited here with the kiosk as actor.

Why server-sent events on waitress rather than a WebSocket: the desk only *receives* a stream (the
few things it sends are ordinary POSTs with the CSRF token, audited like every other console
action), the browser's ``EventSource`` reconnects by itself, SSE is plain HTTP that passes the fleet
VPN and any proxy, waitress flushes each event at once (``send_bytes`` = 1), and it needs no new
dependency. Each stream holds one of waitress's threads, so a stream ends after :data:`STREAM_S`
(the browser reconnects at once) and at most :data:`MAX_STREAMS` run at a time. The kiosk app's side
is a long poll with its ordinary gateway client.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from flask import Blueprint, Flask, Response, current_app, g, jsonify, render_template, request
from pydantic import BaseModel, ConfigDict, Field

from local_api.ops.audit import AuditError
from local_api.ops.helpdesk import DeskRefused, HelpDesk
from local_api.ops.screen_frame import png_size
from local_api.web.auth import require
from local_api.web.bodies import parse
from local_api.web.console import PAGE_POLICY
from local_api.web.door import kiosk_door_refusal
from local_api.web.errors import error
from local_api.web.screen import MAX_SCREEN_BYTES
from local_api.web.services import services

EXTENSION = "helpdesk"
STREAM_S = 25.0  # a desk's event stream ends after this (EventSource reconnects at once)
MAX_STREAMS = 3  # desk streams at once (each holds a waitress thread)
KIOSK_WAIT_S = 20.0  # the kiosk's long poll
DESK_MESSAGES = ("desk_msg_tap_here", "desk_msg_next", "desk_msg_card", "desk_msg_wait", "desk_msg_scroll")
STAFF_NUMBER = re.compile(r"^[A-Za-z0-9-]{2,16}$")
SCREEN_NAME = re.compile(r"^[a-z_]{1,40}$")

bp = Blueprint("helpdesk", __name__)
_streams = threading.BoundedSemaphore(MAX_STREAMS)


class OpenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_no: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    item_code: str = Field(default="-", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    screen: str = Field(default="home", pattern=SCREEN_NAME.pattern)
    language: Literal["zh_CN", "zh_TW", "en"] = "zh_CN"


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_no: str = Field(min_length=1, max_length=40)
    answer: Literal["consent", "decline", "end"]


class PointBody(BaseModel):
    """Where the staff member tapped on the mirror, as fractions of its width and height."""

    model_config = ConfigDict(extra="forbid")
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class MessageBody(BaseModel):
    """A prepared message (shown in the resident's language) or a short text of the staff member's."""

    model_config = ConfigDict(extra="forbid")
    key: Literal["", "desk_msg_tap_here", "desk_msg_next", "desk_msg_card", "desk_msg_wait", "desk_msg_scroll"] = ""
    text: str = Field(default="", max_length=60)


def install(app: Flask) -> HelpDesk:
    """Register the desk's blueprint with its state (returned)."""
    app.extensions[EXTENSION] = found = HelpDesk()
    app.register_blueprint(bp)
    return found


def desk() -> HelpDesk:
    found: HelpDesk = current_app.extensions[EXTENSION]
    return found


def _refused(exc: DeskRefused) -> Any:
    return error(exc.status, exc.code, str(exc))


def _audit_kiosk(action: str, request_no: str, detail: str = "") -> None:
    try:
        services().audit.record(action, actor={"kind": "kiosk"}, target=request_no, detail=detail)
    except AuditError:
        current_app.logger.exception("audit: the resident's answer to the help desk was not recorded")


# -- the kiosk app's door ------------------------------------------------------------------------

@bp.post("/api/v1/helpdesk/kiosk/requests")
def kiosk_open() -> Any:
    """Open a remote help request (its number is the queued help request's receipt number)."""
    refused = kiosk_door_refusal()
    if refused is not None:
        return refused
    body = parse(OpenBody)
    try:
        req = desk().open(body.request_no, body.item_code, body.screen, body.language)
    except DeskRefused as exc:
        return _refused(exc)
    return jsonify(req.public()), 201


@bp.get("/api/v1/helpdesk/kiosk/events")
def kiosk_events() -> Any:
    """What the desk did after event ``after`` (waits up to ``wait`` s, at most 20, for something)."""
    refused = kiosk_door_refusal()
    if refused is not None:
        return refused
    try:
        after = int(request.args.get("after", "0"))
        wait = min(KIOSK_WAIT_S, max(0.0, float(request.args.get("wait", "0"))))
        events, state = desk().kiosk_events(request.args.get("request_no", ""), after, wait)
    except ValueError:
        return error(400, "invalid_request", "after: an integer; wait: seconds")
    except DeskRefused as exc:
        return _refused(exc)
    return jsonify({"events": events, "state": state})


@bp.post("/api/v1/helpdesk/kiosk/replies")
def kiosk_reply() -> Any:
    """The resident consented to being helped, declined, or ended the help."""
    refused = kiosk_door_refusal()
    if refused is not None:
        return refused
    body = parse(ReplyBody)
    try:
        req = desk().kiosk_reply(body.request_no, body.answer)
    except DeskRefused as exc:
        return _refused(exc)
    _audit_kiosk(f"helpdesk_resident_{body.answer}", body.request_no, f"staff={req.staff}")
    return jsonify(req.public())


@bp.post("/api/v1/helpdesk/kiosk/frame")
def kiosk_frame() -> Any:
    """The masked mirror of the resident's screen (image/png) for the desk; 409 unless the resident consented."""
    refused = kiosk_door_refusal(("image/png", "application/octet-stream"))
    if refused is not None:
        return refused
    data = request.stream.read(MAX_SCREEN_BYTES + 1)
    if len(data) > MAX_SCREEN_BYTES:
        return error(413, "payload_too_large", "a frame may be at most 2 MB; scale it down", field="body")
    size = png_size(data)
    if size is None:
        return error(400, "invalid_request", "body: not a PNG image", field="body")
    screen = request.args.get("screen", "")
    try:
        point = int(request.args.get("point", "0"))
        kept = desk().kiosk_frame(request.args.get("request_no", ""), data, *size,
                                  screen if SCREEN_NAME.match(screen) else "", point)
    except ValueError:
        return error(400, "invalid_request", "point: an integer")
    except DeskRefused as exc:
        return _refused(exc)
    if not kept:
        return error(409, "not_live", "the resident has not consented (or the help ended): no frame is kept")
    return jsonify({"kept": True}), 201


# -- the desk's door -----------------------------------------------------------------------------

def _staff_number() -> str:
    """The helping staff member as the resident sees them: the token's label when it is a staff number
    (``POST /api/v1/tokens {"role": "helper", "label": "0427"}``), else the token id; never a name."""
    label = g.principal.label
    return label if STAFF_NUMBER.match(label or "") else g.principal.token_id


@bp.get("/helpdesk")
def desk_page() -> Any:
    """The desk (logs in with a helper token; everything else comes from the API)."""
    svc = services()
    kiosk = svc.settings.kiosk
    answer = Response(render_template("helpdesk.html", kiosk_id=kiosk.id, place=kiosk.place, version=svc.version,
                                      messages=DESK_MESSAGES), content_type="text/html; charset=utf-8")
    answer.headers["Content-Security-Policy"] = PAGE_POLICY
    answer.headers["X-Frame-Options"] = "DENY"
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


def _named(requests: list[dict[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The queue with each item's name (简体) beside its code: staff read names, not codes."""
    return [{**r, "item_name": names.get(r["item_code"], "")} for r in requests]


@bp.get("/api/v1/helpdesk/requests")
@require("helper")
def desk_queue() -> Any:
    return jsonify({"requests": _named(desk().snapshot(), services().item_names())})


@bp.get("/api/v1/helpdesk/requests/<request_no>")
@require("helper")
def desk_request(request_no: str) -> Any:
    try:
        return jsonify(desk().request(request_no))
    except DeskRefused as exc:
        return _refused(exc)


@bp.get("/api/v1/helpdesk/stream")
@require("helper")
def desk_stream() -> Any:
    """Server-sent events: ``queue`` with every request's state (and its newest frame's number)
    whenever anything changed; a comment every few seconds keeps proxies from closing it."""
    if "text/event-stream" not in request.headers.get("Accept", ""):
        return error(406, "not_acceptable", "this is an event stream (Accept: text/event-stream, as EventSource "
                     "sends); the queue as JSON is GET /api/v1/helpdesk/requests")
    if not _streams.acquire(blocking=False):
        return error(429, "too_many_streams", f"at most {MAX_STREAMS} desk pages may follow the queue at once")
    state, names = desk(), services().item_names()

    def events() -> Iterator[str]:
        try:
            yield "retry: 1000\n\n"
            version, ends = -1, time.monotonic() + STREAM_S
            while time.monotonic() < ends:
                now = state.wait_change(version, 5.0)
                if now == version:
                    yield ": still here\n\n"
                    continue
                version = now
                yield f"event: queue\ndata: {json.dumps({'requests': _named(state.snapshot(), names)}, ensure_ascii=False)}\n\n"
        finally:
            _streams.release()

    answer = Response(events(), content_type="text/event-stream; charset=utf-8")
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Accel-Buffering"] = "no"
    return answer


@bp.get("/api/v1/helpdesk/requests/<request_no>/frame.png")
@require("helper")
def desk_frame(request_no: str) -> Any:
    """The newest masked frame (only to the staff member helping, only while the resident consents)."""
    try:
        png, meta = desk().frame(request_no, g.principal.token_id)
    except DeskRefused as exc:
        return _refused(exc)
    if png is None:
        return error(404, "not_found", "no frame yet")
    answer = Response(png, content_type="image/png")
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Frame-Seq"] = str(meta["frame_seq"])
    answer.headers["X-Drawn-Point"] = str(meta["drawn_point"])
    return answer


@bp.post("/api/v1/helpdesk/requests/<request_no>/accept")
@require("helper")
def desk_accept(request_no: str) -> Any:
    staff = _staff_number()
    try:
        req = desk().accept(request_no, staff, g.principal.token_id)
    except DeskRefused as exc:
        return _refused(exc)
    g.audit_detail = f"staff={staff} item={req.item_code} screen={req.screen}"
    return jsonify(req.public())


@bp.post("/api/v1/helpdesk/requests/<request_no>/point")
@require("helper")
def desk_point(request_no: str) -> Any:
    body = parse(PointBody)
    width, height = services().settings.kiosk.screen_width, services().settings.kiosk.screen_height
    # Design px of the kiosk's pages (1080 wide), as the flow draws them.
    x, y = round(body.x * 1080), round(body.y * 1080 * height / width)
    try:
        seq = desk().point(request_no, g.principal.token_id, x, y)
    except DeskRefused as exc:
        return _refused(exc)
    g.audit_detail = f"point={seq} x={x} y={y}"
    return jsonify({"point": seq, "x": x, "y": y})


@bp.post("/api/v1/helpdesk/requests/<request_no>/message")
@require("helper")
def desk_message(request_no: str) -> Any:
    body = parse(MessageBody)
    if not body.key and not body.text.strip():
        return error(400, "invalid_request", "send a prepared message (key) or a short text", field="text")
    try:
        desk().message(request_no, g.principal.token_id, body.key, "" if body.key else body.text.strip())
    except DeskRefused as exc:
        return _refused(exc)
    g.audit_detail = f"key={body.key}" if body.key else f"text={len(body.text.strip())} chars"
    return jsonify({"sent": True})


@bp.post("/api/v1/helpdesk/requests/<request_no>/end")
@require("helper")
def desk_end(request_no: str) -> Any:
    try:
        desk().end(request_no, g.principal.token_id)
    except DeskRefused as exc:
        return _refused(exc)
    return jsonify({"ended": True})
