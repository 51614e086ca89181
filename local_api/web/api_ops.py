"""The operator and technician door (token auth, :mod:`local_api.web.auth`), plus liveness and readiness.

Open to anyone: ``/health`` (liveness; full details only for loopback callers) and ``/ready``.
Operator: ``/api/v1/status``, ``/metrics``, ``/api/v1/events``, ``/api/v1/outbox``.
Technician: device settings and tests, requeueing parked submissions, tokens.
"""

from __future__ import annotations

import logging
import shutil
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from local_api.ops.attention import findings
from local_api.ops.fleet import PAPER_LEVELS
from local_api.outbox.store import STATES, OutboxError, Record, UnknownReceipt
from local_api.timestamps import iso
from local_api.web.auth import is_loopback, require
from local_api.web.bodies import DeviceTestBody, TokenBody, TokenChangeBody, parse
from local_api.web.errors import BadRequest, error, store_failed
from local_api.web.metrics import CONTENT_TYPE
from local_api.web.services import services

log = logging.getLogger(__name__)

MB = 1024 * 1024

bp = Blueprint("ops_door", __name__)


# -- liveness, readiness, status ---------------------------------------------------------------

def _disk() -> dict[str, Any]:
    settings = services().settings
    need = settings.gateway.min_free_mb
    try:
        usage = shutil.disk_usage(services().data_path)
    except OSError as exc:
        return {"free_mb": None, "min_free_mb": need, "ok": False, "error": exc.strerror}
    return {"free_mb": usage.free // MB, "total_mb": usage.total // MB, "min_free_mb": need,
            "ok": usage.free >= need * MB}


@bp.get("/health")
def health() -> Any:
    """Liveness: 200 while the process serves. Loopback callers (the kiosk app) get the details."""
    svc = services()
    if not is_loopback():
        return jsonify({"status": "ok", "version": svc.version})
    kiosk = svc.settings.kiosk
    degraded = False
    try:
        counts: dict[str, int] | None = svc.outbox.counts()
    except OutboxError as exc:
        log.error("health: outbox unreadable: %s", exc)
        counts, degraded = None, True
    platform = svc.forwarder.status.snapshot()
    if platform["reachable"] is False or not svc.forwarder.alive:
        degraded = True
    return jsonify({
        "status": "degraded" if degraded else "ok", "kiosk_id": kiosk.id, "place": kiosk.place,
        "version": svc.version, "started_at": iso(svc.started_at),
        "uptime_s": round(time.time() - svc.started_at, 1), "outbox": counts,
        "forwarder": {"alive": svc.forwarder.alive, "backoff_s": round(svc.forwarder.backoff_remaining_s, 1)},
        "platform": {"reachable": platform["reachable"], "last_error": platform["last_error"],
                     "since": iso(platform["since"]), "breaker": platform["breaker"]},
    })


@bp.get("/ready")
def ready() -> Any:
    """Readiness: 200 when submissions can be accepted and delivered, 503 naming what is not ready."""
    svc = services()
    problems = []
    try:
        svc.outbox.counts()
    except OutboxError:
        problems.append("outbox: the database cannot be read")
    if not svc.forwarder.alive:
        problems.append("forwarder: the delivery thread is not running")
    if not _disk()["ok"]:
        problems.append("disk: less free space than gateway.min_free_mb; new submissions are refused")
    answer = {"ready": not problems, "problems": problems}
    return (jsonify(answer), 503) if problems else jsonify(answer)


@bp.get("/api/v1/status")
@require("operator")
def status() -> Any:
    """Everything an operator watches: devices, outbox, platform, disk, heartbeat, versions, the service
    switch, paper, the clock offset, the last session, and ``attention``: why it needs attention, naming the
    fleet alert rule that watches the same (:mod:`local_api.ops.attention`)."""
    try:
        return jsonify(status_report())
    except OutboxError as exc:
        return store_failed(exc)


def status_report() -> dict[str, Any]:
    """The ``/api/v1/status`` answer (also the console's, :mod:`local_api.web.console`); raises OutboxError."""
    svc = services()
    gw = svc.settings.gateway
    counts = svc.outbox.counts()
    oldest = svc.outbox.oldest_pending_accepted_at()
    last = svc.outbox.last_delivered_at()
    payments = svc.payments.summary() if svc.payments is not None else None
    if payments is not None and payments["oldest_unconfirmed_s"] is not None:
        payments["oldest_unconfirmed_s"] = round(payments["oldest_unconfirmed_s"], 1)
    presence = svc.presence.snapshot()
    platform = svc.forwarder.status.snapshot()
    age = presence["age_s"]
    clock = svc.fleet.clock()
    last_session = svc.metrics.sessions.last_at
    answer = {
        "kiosk_id": svc.settings.kiosk.id, "place": svc.settings.kiosk.place, "version": svc.version,
        "started_at": iso(svc.started_at), "uptime_s": round(time.time() - svc.started_at, 1),
        "screen": presence["screen"], "devices": presence["devices"],
        "heartbeat": {"last_at": iso(presence["seen_at"]), "age_s": age,
                      "stale": age is None or age > gw.heartbeat_stale_s},
        "outbox": {"counts": counts, "depth": counts["queued"] + counts["sending"],
                   "parked": counts["rejected"] + counts["expired"],
                   "oldest_pending_age_s": None if oldest is None else round(max(0.0, time.time() - oldest), 1),
                   "last_delivery_at": iso(last)},
        "platform": {"reachable": platform["reachable"], "breaker": platform["breaker"],
                     "last_error": platform["last_error"], "since": iso(platform["since"]),
                     "last_ok_at": iso(platform["last_ok_at"])},
        "forwarder": {"alive": svc.forwarder.alive, "backoff_s": round(svc.forwarder.backoff_remaining_s, 1)},
        "disk": _disk(),
        "payments": payments,  # counts by state and the amount paid; no payer data
        # For the fleet (issue 22): the switch, paper, versions, the platform's clock offset, the last session.
        "service": svc.service_switch.view(),
        "paper": _paper(presence["devices"]),
        "versions": {"software": svc.version, "catalog": svc.fleet.catalog_version,
                     "settings": svc.fleet.settings_version()},
        "clock": {"offset_s": clock["offset_s"], "heard_at": iso(clock["heard_at"])},
        "last_session_at": iso(last_session),
        # The signed catalog bundle served (``packaged``: none) and its rollout (issue 22).
        "catalog_version": svc.catalog_version(),
        "catalog_rollout": svc.catalog_state() if svc.catalog_state else None,
    }
    answer["attention"] = findings(answer)
    return answer


def _paper(devices: dict[str, Any]) -> dict[str, str]:
    """``{printer name: paper level}`` of every device that reports paper."""
    levels = {}
    for name, status in devices.items():
        detail = status.get("detail") if isinstance(status, dict) else None
        if isinstance(detail, dict) and "paper" in detail:
            levels[name] = detail["paper"] if detail["paper"] in PAPER_LEVELS else "unknown"
    return levels


@bp.get("/metrics")
@require("operator")
def prometheus() -> Any:
    """Prometheus text exposition of this gateway's own registry."""
    return Response(services().metrics.render(), content_type=CONTENT_TYPE)


def _int_arg(name: str, default: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise BadRequest(name, "must be a non-negative integer")
    return min(int(raw), high)


@bp.get("/api/v1/events")
@require("operator")
def events() -> Any:
    """Recent events (platform reachability, breaker, rejections, devices, throttled token checks), oldest first.

    ``source=audit``: the durable audit instead (logins, changes, switches; :mod:`local_api.ops.audit`)."""
    if request.args.get("source", "system") not in ("system", "audit"):
        raise BadRequest("source", "must be system or audit")
    after, limit = _int_arg("after", 0, 2**62), _int_arg("limit", 100, 1000)
    if request.args.get("source") == "audit":  # the newest ``limit`` when ``after`` is 0
        entries = services().audit.recent(after, limit)
        for entry in entries:
            entry["at"] = iso(entry["at"])
        return jsonify({"events": entries, "source": "audit"})
    listing = services().events.since(after, limit)
    for event in listing:
        event["at"] = iso(event["at"])
    return jsonify({"events": listing})


# -- outbox ------------------------------------------------------------------------------------

def record_row(record: Record) -> dict[str, Any]:
    """A submission for operators: no personal data; the item's name beside its code."""
    return {"receipt_no": record.receipt_no, "kiosk_id": record.kiosk_id, "kind": record.kind,
            "item_code": record.item_code, "item_name": services().item_names().get(record.item_code),
            "state": record.state, "attempts": record.attempts,
            "accepted_at": iso(record.accepted_at), "due_at": iso(record.due_at),
            "delivered_at": iso(record.delivered_at), "rejected_at": iso(record.rejected_at),
            "expired_at": iso(record.expired_at), "platform_ref": record.platform_ref,
            "last_error": record.last_error, "materials": record.materials_count}


@bp.get("/api/v1/outbox")
@require("operator")
def outbox_list() -> Any:
    """Submissions in acceptance order (no personal data); ``state=rejected`` shows the parked ones."""
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        raise BadRequest("state", f"must be one of {', '.join(STATES)}")
    try:
        records = services().outbox.list(state, limit=_int_arg("limit", 100, 1000),
                                         after_seq=0)
    except OutboxError as exc:
        return store_failed(exc)
    return jsonify({"submissions": [record_row(r) for r in records]})


@bp.post("/api/v1/outbox/<receipt_no>/retry")
@require("technician")
def outbox_retry(receipt_no: str) -> Any:
    """Queue a parked (rejected or expired) submission again."""
    svc = services()
    try:
        if not svc.outbox.requeue(receipt_no):
            return error(409, "not_parked", "only rejected or expired submissions can be queued again")
    except UnknownReceipt:
        return error(404, "not_found", "no submission has this receipt number")
    except OutboxError as exc:
        return store_failed(exc)
    svc.events.add("requeued", f"{receipt_no} queued again by {g.principal.token_id}", receipt_no=receipt_no)
    record = svc.outbox.get(receipt_no)  # read before waking: the answer is "queued", not a race
    svc.forwarder.wake()
    return jsonify(record_row(record))


# -- devices -----------------------------------------------------------------------------------

@bp.get("/api/v1/devices/settings")
@require("technician")
def device_settings() -> Any:
    """The device settings in force (configured plus local changes) and each device's last reported status."""
    svc = services()
    local = svc.device_settings.view()  # PUT /api/v1/devices/settings writes these (local_api/web/console.py)
    return jsonify({"settings": local["devices"], "status": svc.presence.snapshot()["devices"],
                    "revision": local["revision"], "local": local["local"],
                    "warnings": svc.device_settings.warnings()})


@bp.post("/api/v1/devices/<name>/tests")
@require("technician")
def device_test(name: str) -> Any:
    """Queue a test of a device; the kiosk app runs it after its next heartbeat."""
    body = parse(DeviceTestBody)
    try:
        command = services().presence.queue_test(name, body.action)
    except KeyError:
        return error(404, "unknown_device", "the kiosk app has not reported a device with this name")
    return jsonify(command), 202


@bp.get("/api/v1/devices/tests/<command_id>")
@require("technician")
def device_test_result(command_id: str) -> Any:
    """A queued device test and its outcome once the kiosk app reported it."""
    command = services().presence.command(command_id)
    if command is None:
        return error(404, "not_found", "no device test has this id")
    return jsonify(command)


# -- tokens ------------------------------------------------------------------------------------

def _token_row(entry: dict[str, Any]) -> dict[str, Any]:
    return dict(entry, expires_at=iso(entry["expires_at"]), last_used_at=iso(entry["last_used_at"]))


@bp.get("/api/v1/tokens")
@require("technician")
def tokens_list() -> Any:
    """Every token's id, role, label, creation time (Unix seconds), expiry and last use (ISO 8601 or
    null); never a secret or a hash."""
    store = services().tokens
    return jsonify({"tokens": [_token_row(t) for t in store.listing()] if store is not None else []})


@bp.post("/api/v1/tokens")
@require("technician")
def tokens_create() -> Any:
    """Create a token (optionally expiring at ``expires_at``); the answer is the only place it appears in clear."""
    body = parse(TokenBody)
    store = services().tokens
    if store is None:
        return error(409, "no_token_store", "this gateway was started without a tokens file")
    expires = body.expires_at.timestamp() if body.expires_at is not None else None
    if expires is not None and expires <= time.time():
        raise BadRequest("expires_at", "must be in the future")
    token = store.create(body.role, body.label, expires_at=expires)
    services().events.add("token_created", f"{body.role} token created by {g.principal.token_id}"
                          + ("" if expires is None else f", valid until {iso(expires)}"))
    return jsonify({"token": token, "role": body.role, "label": body.label, "expires_at": iso(expires)}), 201


@bp.patch("/api/v1/tokens/<token_id>")
@require("technician")
def tokens_change(token_id: str) -> Any:
    """Give a token another role; the console sessions opened with it end at once."""
    body = parse(TokenChangeBody)
    svc = services()
    if svc.tokens is None or not svc.tokens.set_role(token_id, body.role):
        return error(404, "not_found", "no token has this id")
    ended = svc.sessions.close_token(token_id)
    g.audit_detail = f"role {body.role}; {ended} console session(s) ended"
    svc.events.add("token_changed", f"token {token_id} now has the {body.role} role (by {g.principal.token_id}); "
                   f"{ended} console session(s) ended")
    row = next(t for t in svc.tokens.listing() if t["id"] == token_id)
    return jsonify(_token_row(row))


@bp.delete("/api/v1/tokens/<token_id>")
@require("technician")
def tokens_revoke(token_id: str) -> Any:
    """Revoke a token; the console sessions opened with it end at once."""
    svc = services()
    store = svc.tokens
    if store is None or not store.revoke(token_id):
        return error(404, "not_found", "no token has this id")
    ended = svc.sessions.close_token(token_id)
    svc.events.add("token_revoked", f"token {token_id} revoked by {g.principal.token_id}; "
                   f"{ended} console session(s) ended")
    return jsonify({"revoked": token_id, "sessions_ended": ended})
