"""The simulator's online-only services: item queries, identity checks, app sign-in, appointments,
progress.

Identity checks are decided by a script (``POST /admin/identity``), never by looking at the
face: the simulator only checks that a JPEG arrived. Everything else is answered from
:mod:`local_api.sim.data` for the catalog item's kind.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Any

from flask import Blueprint, g, jsonify, request

from kiosk.crypto import sha256_hex
from local_api.sim.bundles import bundle_progress
from local_api.sim.data import parse_slot_id, progress, query_answer, slot_capacity, slots
from local_api.sim.door import applicant_problem, fail, guard, json_body, now_iso
from local_api.sim.state import state

services = Blueprint("platform_services", __name__)
guard(services)  # the same door as the core contract

MAX_FACE_BYTES = 2 * 1024 * 1024
IDENTITY_OUTCOMES = {
    "verified": "人证比对通过",
    "face_mismatch": "现场人像与证件照片不一致，请正对摄像头重试或改用其他方式",
    "liveness_failed": "活体检测未通过，请摘下帽子、眼镜后重试",
    "id_not_found": "未查询到该证件信息，请到窗口办理",
    "photo_unavailable": "暂未获取到证件照片，请改用其他方式核验身份",
}
PLACE = "海沧区行政服务中心一楼综合受理窗口"


def id_hash(id_number: str) -> str:
    """How the simulator remembers a scripted identity: never the ID number itself."""
    return sha256_hex(id_number.strip().upper().encode())


def _item(code: str, kind: str) -> Any:
    info = state().items.get(code)
    if info is None:
        return None, fail(404, "unknown_item", "the platform knows no item with this item_code")
    if info.kind != kind:
        return None, fail(404, "unknown_item", f"item_code is a {info.kind} item, not a {kind} item")
    return info, None


@services.post("/v1/items/<item_code>/query")
def query_item(item_code: str) -> Any:
    body = json_body()
    if body is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    info, error = _item(item_code, "query")
    if error is not None:
        return error
    problem = applicant_problem(body.get("applicant"))
    if problem:
        return fail(400, "invalid_request", problem)
    return jsonify(query_answer(info, body["applicant"], state().next_serial()))


def _face_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "face_jpeg: required field is missing (base64 JPEG)"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "face_jpeg: not base64"
    if len(raw) > MAX_FACE_BYTES:
        return f"face_jpeg: larger than {MAX_FACE_BYTES // 1024} KiB"
    if not (raw.startswith(b"\xff\xd8\xff") and raw.rstrip(b"\x00").endswith(b"\xff\xd9")):
        return "face_jpeg: not a JPEG image"
    return None


@services.post("/v1/identity/verify")
def verify_identity() -> Any:
    body = json_body()
    if body is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    problem = applicant_problem(body.get("applicant")) or _face_problem(body.get("face_jpeg"))
    if problem:
        return fail(422, "invalid_identity_check", problem)
    sim = state()
    with sim.lock:
        outcome = sim.identity_outcomes.get(id_hash(body["applicant"]["id_number"]), sim.identity_default)
    serial = sim.next_serial()
    return jsonify({"verified": outcome == "verified", "reason": outcome, "message": IDENTITY_OUTCOMES[outcome],
                    "check_ref": f"CTID{datetime.now():%Y%m%d}{serial:06d}", "checked_at": now_iso()})


SIGNIN_REFUSALS = {
    "unknown": (404, "signin_unknown", "token: the platform issued no sign-in code with this token"),
    "used": (410, "signin_used", "token: this sign-in code was already used; refresh it in the app"),
    "expired": (410, "signin_expired", "token: this sign-in code has expired; refresh it in the app"),
}


@services.post("/v1/identity/signin")
def redeem_signin() -> Any:
    """扫码登录: the resident the government app signed in, for a one-time token (never logged)."""
    body = json_body()
    token = body.get("token") if body is not None else None
    if not isinstance(token, str) or not 1 <= len(token) <= 128:
        return fail(400, "invalid_request", "token: required field is missing (the sign-in code's token)")
    outcome = state().signin.redeem(token)
    if isinstance(outcome, str):
        status, error, reason = SIGNIN_REFUSALS[outcome]
        return fail(status, error, reason)
    return jsonify({**outcome, "signed_in_at": now_iso()})


@services.get("/v1/identity/signin-key")
def signin_key() -> Any:
    """The public key sign-in codes are signed with (for ``platform.signin_public_key``) and its algorithm."""
    signin = state().signin
    return jsonify({"algorithm": signin.algorithm, "public_key": signin.public_key})


@services.get("/v1/appointments/slots")
def appointment_slots() -> Any:
    code = request.args.get("item_code", "")
    _, error = _item(code, "appointment")
    if error is not None:
        return error
    try:
        start = date.fromisoformat(request.args["date"]) if request.args.get("date") else date.today()
    except ValueError:
        return fail(400, "invalid_request", "date: must be an ISO date (YYYY-MM-DD)")
    start = max(start, date.today())
    sim = state()
    with sim.lock:
        listing = slots(code, start, dict(sim.booked))
    return jsonify({"item_code": code, "place": PLACE, "slots": listing})


@services.post("/v1/appointments")
def book_appointment() -> Any:
    kiosk_id: str = g.kiosk_id
    key = request.headers.get("Idempotency-Key", "").strip()
    body = json_body()
    if not key or len(key) > 128 or body is None:
        return fail(400, "invalid_request", "Idempotency-Key header and a JSON object body are required")
    code = str(body.get("item_code", ""))
    _, error = _item(code, "appointment")
    if error is not None:
        return error
    problem = applicant_problem(body.get("applicant"))
    if problem:
        return fail(422, "invalid_appointment", problem)
    slot_id = body.get("slot_id")
    start = parse_slot_id(slot_id, code) if isinstance(slot_id, str) else None
    if start is None or not isinstance(slot_id, str):
        return fail(422, "invalid_appointment", "slot_id: not a slot of this item")
    if start <= datetime.now():
        return fail(422, "invalid_appointment", "slot_id: this slot has already begun; choose a later one")
    sim = state()
    with sim.lock:
        booking = sim.bookings.get(key)
        if booking is not None:
            return jsonify({**booking, "duplicate": True}), 200
        if sim.booked.get(slot_id, 0) >= slot_capacity(slot_id):
            return fail(409, "slot_full", "slot_id: this slot is fully booked; choose another")
        sim.booked[slot_id] = sim.booked.get(slot_id, 0) + 1
        ref = f"HCYY{datetime.now():%Y%m%d}{sim.next_serial():06d}"
        booking = {"appointment_ref": ref, "item_code": code,
                   "slot_id": slot_id, "starts_at": start.isoformat(timespec="minutes"), "place": PLACE,
                   "kiosk_id": kiosk_id}
        sim.bookings[key] = booking
    return jsonify({**booking, "duplicate": False}), 201


@services.get("/v1/progress/<receipt_no>")
def get_progress(receipt_no: str) -> Any:
    """By the platform's reference (unique), or by a receipt number; a receipt number that more than
    one application carries is refused (409): showing one of them could show another resident's case."""
    sim = state()
    with sim.lock:
        matches = [a for a in sim.applications.values()
                   if receipt_no in (a.platform_ref, a.body.get("receipt_no"), a.idempotency_key)]
    if not matches:
        return fail(404, "not_found", "no application has this receipt number or reference")
    if len(matches) > 1:
        return fail(409, "ambiguous_receipt", "more than one application carries this receipt number; "
                    "ask by the platform reference")
    stored = matches[0]
    answer = progress(stored.kind, datetime.fromisoformat(stored.received_at))
    return jsonify({"receipt_no": stored.body.get("receipt_no", receipt_no), "platform_ref": stored.platform_ref,
                    "item_code": stored.item_code, **answer, **bundle_progress(stored)})
