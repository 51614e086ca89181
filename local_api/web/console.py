"""The operator console and technician pages, and the small API behind them (issue 10).

Pages (plain HTML, CSS and JavaScript from ``local_api/web/templates`` and ``local_api/web/static``; no
CDN, no build step, Chinese and English labels, working without a network):

- ``/console``: health, devices, outbox, recent events and the audit, the kiosk's current screen,
  the out-of-service switch (operator);
- ``/console/technician``: serial ports by stable id, assigning them to the reader and printer,
  device tests (technician).

The pages log in with a token (``POST /console/session``), then call the JSON API with the session
cookie and the CSRF token (:mod:`local_api.web.auth`). The API added here:

- ``GET /api/v1/console/state?page=N&state=S``: everything the console page shows, in one call every 5 s
  (operator): the status report, one page of the outbox (newest first, item names, 20 rows), the
  newest events and audit records;
- ``GET|POST /api/v1/service``: the out-of-service switch (operator) — :mod:`local_api.ops.service_mode`;
- ``GET /api/v1/devices/ports`` and ``POST /api/v1/devices/ports/probe`` (technician: the kiosk app probes the
  port after its next heartbeat), ``PUT|DELETE /api/v1/devices/settings`` (technician) —
  :mod:`local_api.ops.device_settings`;
- ``POST /api/v1/audit``: the kiosk app's maintenance-mode records (the kiosk door,
  :mod:`local_api.web.door`; a body of at most 4 KB; the file rotates at ``gateway.audit_max_mb``) —
  :mod:`local_api.ops.audit`;
- ``POST /api/v1/kiosk/service``: the out-of-service switch from the kiosk's maintenance mode
  (the kiosk door, audited with actor kind ``kiosk``);
- the heartbeat answer gains ``service`` and ``device_settings`` (see :func:`_heartbeat_extras`).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, send_file
from pydantic import BaseModel, ConfigDict, Field

from devices.discovery import BY_ID_DIR, list_serial_ports
from kiosk.fonts import cjk_font_path
from local_api.ops.audit import AuditError
from local_api.ops.device_settings import DeviceSettingsBody, SettingsRefused
from local_api.ops.service_mode import ServiceBody
from local_api.outbox.store import STATES, OutboxError
from local_api.timestamps import iso
from local_api.web.api_ops import record_row, status_report
from local_api.web.auth import require
from local_api.web.bodies import PortProbeBody, clean_json, parse
from local_api.web.door import kiosk_door_refusal
from local_api.web.errors import BadRequest, error, store_failed
from local_api.web.limits import kiosk_audit_rate, rate_limited
from local_api.web.services import services

log = logging.getLogger(__name__)

MAX_KIOSK_AUDIT_BYTES = 4096  # a record's fields are capped (KioskAuditBody); its body cannot be larger
BY_ID_DIR_KEY = "KIOSK_SERIAL_BY_ID_DIR"  # app.config: tests point it at a folder of their own links
# The pages load only their own scripts, styles, font and the screen picture.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

bp = Blueprint("console", __name__)


class KioskAuditBody(BaseModel):
    """A record from the kiosk app's maintenance mode (never personal data)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["maintenance_login", "maintenance_login_failed", "maintenance_locked", "maintenance_exit",
                    "settings_changed", "paper_replaced", "service_switch", "device_test"]
    outcome: str = Field(default="ok", min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    target: str | None = Field(default=None, max_length=80)
    detail: str = Field(default="", max_length=300)


OUTBOX_PAGE_ROWS = 20
LOG_ROWS = 30

# -- pages -------------------------------------------------------------------------------------

def _page(template: str) -> Response:
    svc = services()
    kiosk = svc.settings.kiosk
    answer = Response(render_template(template, kiosk_id=kiosk.id, place=kiosk.place, version=svc.version),
                      content_type="text/html; charset=utf-8")
    answer.headers["Content-Security-Policy"] = PAGE_POLICY
    answer.headers["X-Frame-Options"] = "DENY"
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


@bp.get("/console")
def console_page() -> Any:
    """The operator console (logs in with a token; the data comes from the JSON API)."""
    return _page("console.html")


@bp.get("/console/technician")
def technician_page() -> Any:
    """The technician page: ports, assignment, device tests."""
    return _page("technician.html")


@bp.get("/console/font.otf")
def console_font() -> Any:
    """Noto Sans SC (bundled with pygame_gui), so Chinese labels render on a terminal without CJK fonts."""
    try:
        path = cjk_font_path()
    except FileNotFoundError as exc:
        return error(404, "not_found", str(exc))
    answer = send_file(path, mimetype="font/otf", max_age=86400)
    answer.headers["Cache-Control"] = "public, max-age=86400"  # 8 MB: fetch it once a day, not per page
    return answer


# -- out of service ----------------------------------------------------------------------------

@bp.get("/favicon.ico")
def favicon() -> Any:
    """The console's icon (browsers ask for it at this address too)."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/api/v1/console/state")
@require("operator")
def console_state() -> Any:
    """The console page's one poll: status, a page of the outbox, recent events and audit."""
    raw_page, state = request.args.get("page", "1"), request.args.get("state") or None
    if not raw_page.isdigit() or int(raw_page) < 1:
        raise BadRequest("page", "must be a positive integer")
    if state is not None and state not in STATES:
        raise BadRequest("state", f"must be one of {', '.join(STATES)}")
    svc = services()
    try:
        report = status_report()
        counts = report["outbox"]["counts"]
        total = counts.get(state, 0) if state else sum(counts.values())
        pages = max(1, -(-total // OUTBOX_PAGE_ROWS))
        page = min(int(raw_page), pages)
        rows = svc.outbox.page(state, limit=OUTBOX_PAGE_ROWS, offset=(page - 1) * OUTBOX_PAGE_ROWS)
    except OutboxError as exc:
        return store_failed(exc)
    events = svc.events.since(0, 1000)[-LOG_ROWS:]
    for event in events:
        event["at"] = iso(event["at"])
    audit = svc.audit.recent(0, LOG_ROWS)
    for entry in audit:
        entry["at"] = iso(entry["at"])
    return jsonify({"status": report, "service": report["service"],
                    "outbox": {"rows": [record_row(r) for r in rows], "page": page, "pages": pages, "total": total,
                               "state": state, "per_page": OUTBOX_PAGE_ROWS},
                    "events": events, "audit": audit})


@bp.get("/api/v1/service")
@require("operator")
def service_get() -> Any:
    """Whether the kiosk is in service, and the message residents see when it is not."""
    return jsonify(services().service_switch.view())


@bp.post("/api/v1/service")
@require("operator")
def service_set() -> Any:
    """Take the kiosk out of service (with a message for residents) or put it back."""
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = request.form.get("in_service", "")
        if raw not in ("true", "false"):
            raise BadRequest("in_service", "must be true or false")
        body = ServiceBody(in_service=raw == "true",
                           message=clean_json(request.form.get("message", "")[:200], "message"))
    else:
        body = parse(ServiceBody)
    principal = g.principal
    svc = services()
    try:
        view = svc.service_switch.set(body.in_service, body.message,
                                      {"token_id": principal.token_id, "role": principal.role})
    except OSError as exc:
        return error(503, "not_saved", f"the switch could not be saved ({exc.strerror}); nothing changed")
    g.audit_detail = "back in service" if body.in_service else f"out of service: {view['message']}"
    svc.events.add("service_switch", "kiosk back in service" if body.in_service
                   else "kiosk taken out of service", in_service=body.in_service)
    return jsonify(view)


# -- ports and device settings -----------------------------------------------------------------

def _port_rows(assigned: dict[str, str]) -> list[dict[str, Any]]:
    # The gateway lists ports but never opens them (the kiosk app owns the devices); the scan is
    # devices.discovery's sysfs read, the same one ``kiosk devices list`` prints.
    by_id = current_app.config.get(BY_ID_DIR_KEY) or BY_ID_DIR
    rows = []
    for port in list_serial_ports(by_id):
        names = {port.device, port.stable_path, *port.other_links} - {None}
        real = os.path.realpath(port.device)
        used_by = sorted(key for key, uri in assigned.items()
                         if uri in names or (uri.startswith("/") and os.path.realpath(uri) == real))
        rows.append(dict(port.to_dict(), assigned_to=used_by))
    return rows


@bp.get("/api/v1/devices/ports")
@require("technician")
def ports() -> Any:
    """Serial ports by stable id (by-id link, VID:PID, serial number) and which device uses each."""
    devices = services().device_settings.effective()
    assigned = {"id_reader": devices.id_reader, "printer": devices.printer}
    return jsonify({"ports": _port_rows(assigned), "assigned": assigned})


@bp.post("/api/v1/devices/ports/probe")
@require("technician")
def port_probe() -> Any:
    """Queue a probe of a listed serial port; the kiosk app (which owns the ports) runs it after its next
    heartbeat and says what answered: "ID card reader at 115200 baud", "receipt printer, paper OK" or
    that nothing answered. Read the outcome with ``GET /api/v1/devices/tests/<command_id>``."""
    body = parse(PortProbeBody)
    devices = services().device_settings.effective()
    listed = _port_rows({"id_reader": devices.id_reader, "printer": devices.printer})
    names = {name for row in listed
             for name in (row["device"], row["stable_path"], *row["other_links"]) if name}
    if body.port not in names:  # the app opens only ports that are there, never a path typed in
        return error(404, "unknown_port", "no serial port with this name is plugged in: list the ports again",
                     field="port")
    g.audit_detail = f"probe {body.port}"
    return jsonify(services().presence.queue_probe(body.port)), 202


@bp.put("/api/v1/devices/settings")
@require("technician")
def device_settings_put() -> Any:
    """Change device settings: validated, saved atomically; the kiosk app applies them after a heartbeat."""
    body = parse(DeviceSettingsBody)
    svc = services()
    try:
        view, changes = svc.device_settings.change(body)
    except SettingsRefused as exc:
        g.audit_detail = f"refused {exc.field}: {exc.message}"
        return error(422, "settings_refused", f"{exc.field}: {exc.message}", field=exc.field)
    g.audit_detail = "; ".join(f"{k}: {a} → {b}" for k, (a, b) in sorted(changes.items())) or "no change"
    svc.events.add("settings_changed", f"device settings changed: {', '.join(sorted(changes)) or 'none'}")
    return jsonify(dict(view, applied_by="the kiosk app, after its next heartbeat"))


@bp.delete("/api/v1/devices/settings")
@require("technician")
def device_settings_reset() -> Any:
    """Drop the local device settings changes: back to the configured settings."""
    svc = services()
    if not svc.device_settings.reset():
        return error(404, "not_found", "there are no local device settings changes")
    g.audit_detail = "local device settings removed"
    svc.events.add("settings_changed", "device settings back to the configured ones")
    return jsonify(svc.device_settings.view())


# -- the kiosk app's own audit records and heartbeat answer ------------------------------------

@bp.post("/api/v1/audit")
@rate_limited(kiosk_audit_rate, counts=lambda: kiosk_door_refusal() is None)  # only the app's own records
def kiosk_audit() -> Any:
    """A maintenance-mode record from the kiosk app (loopback only; PIN attempts, changes, exits)."""
    refused = kiosk_door_refusal()
    if refused is not None:
        return refused
    if (request.content_length or 0) > MAX_KIOSK_AUDIT_BYTES:
        return error(413, "payload_too_large", f"an audit record may be at most {MAX_KIOSK_AUDIT_BYTES} bytes",
                     field="body")
    body = parse(KioskAuditBody)
    try:
        entry = services().audit.record(body.action, actor={"kind": "kiosk"}, outcome=body.outcome,
                                        target=body.target, detail=body.detail)
    except AuditError as exc:
        return error(503, "not_saved", str(exc))
    return jsonify(entry), 201


@bp.post("/api/v1/kiosk/service")
def kiosk_service_set() -> Any:
    """The kiosk app's maintenance mode switches out of service (the kiosk door), audited as the kiosk."""
    refused = kiosk_door_refusal()
    if refused is not None:
        return refused
    body = parse(ServiceBody)
    svc = services()
    try:
        view = svc.service_switch.set(body.in_service, body.message, {"kind": "kiosk", "via": "maintenance"})
    except OSError as exc:
        return error(503, "not_saved", f"the switch could not be saved ({exc.strerror}); nothing changed")
    detail = "back in service" if body.in_service else f"out of service: {view['message']}"
    try:
        svc.audit.record("service_switch", actor={"kind": "kiosk"}, outcome="ok", target="service", detail=detail)
    except AuditError as exc:  # the switch stands; the app keeps its own record and says so
        log.error("service switch from the kiosk not audited: %s", exc)
    svc.events.add("service_switch", "kiosk back in service (maintenance mode)" if body.in_service
                   else "kiosk taken out of service (maintenance mode)", in_service=body.in_service)
    return jsonify(view)


@bp.after_app_request
def _heartbeat_extras(response: Response) -> Response:
    """Add ``service`` and ``device_settings`` to the heartbeat answer.

    The heartbeat view (:mod:`local_api.web.api_kiosk`) reports device tests and the platform; what
    this module owns is added here, so the kiosk door does not depend on the console's state.
    """
    if request.endpoint != "kiosk_door.heartbeat" or response.status_code != 200 or not response.is_json:
        return response
    answer = response.get_json()
    if isinstance(answer, dict):
        svc = services()
        answer["service"] = svc.service_switch.view()
        answer["device_settings"] = svc.device_settings.view()
        response.set_data(jsonify(answer).get_data())
    return response
