"""The kiosk app's internal door (loopback only).

- Stored and forwarded, never lost: submissions (applications, print requests, with materials),
  ratings 好差评, help requests 帮办代办 and reports 办不成事反映. Each is fsync'd into the outbox
  before the answer; the disk's free space is checked first, so a full disk refuses new work
  with a clear message instead of failing halfway.
- Online only, proxied with a short timeout: documents, queries, identity checks, app sign-in
  (扫码登录: a scanned code's token redeemed for the resident), appointment slots and bookings,
  progress. When the platform is unreachable (or the circuit breaker is
  open) the answer is an immediate 503 ``platform_unavailable`` with a reason, so the app can
  grey those items out while apply items keep being accepted.
- Heartbeats: the app's screen, device statuses and session tally; the answer carries device
  tests to run.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from local_api.link.client import PlatformClient, PlatformRejected, PlatformUnavailable
from local_api.outbox.payments import Payment, PaymentLedger, UnknownOrder, create_order
from local_api.outbox.store import Material, OutboxError, UnknownReceipt
from local_api.timestamps import iso
from local_api.web.api_staff import assisted_payload, assisted_refusal
from local_api.web.bodies import (
    RECEIPT_PATTERN,
    BenefitsBody,
    BookingBody,
    DocumentBody,
    HeartbeatBody,
    HelpRequestBody,
    IdentityBody,
    LicencesBody,
    PaymentBody,
    PaymentCancelBody,
    QueryBody,
    RatingBody,
    ReportBody,
    SignInBody,
    SubmissionBody,
    parse,
)
from local_api.web.door import kiosk_door_refusal
from local_api.web.errors import BadRequest, error, respond, store_failed
from local_api.web.services import GatewayServices, services
from local_api.web.submission import Accept, disk_refusal, prepare_submission, store, unknown_item

log = logging.getLogger(__name__)

MB = 1024 * 1024

bp = Blueprint("kiosk_door", __name__)


@bp.before_request
def _kiosk_app_only() -> Any:
    return kiosk_door_refusal()  # loopback, own Host and Origin, the door secret, JSON bodies


# -- stored and forwarded ----------------------------------------------------------------------

def _disk_refusal(incoming_bytes: int) -> tuple[Response, int] | None:
    """A 507 answer when storing would eat into the free space the data folder must keep."""
    refused = disk_refusal(services(), incoming_bytes)
    return None if refused is None else respond(refused)


def _unknown_item(code: str | None, field_name: str = "item_code") -> None:
    unknown_item(services(), code, field_name)


def _store(kind: str, item_code: str, payload: dict[str, Any], *, size: int, subject: str | None = None,
           materials: list[Material] | None = None, kiosk_id: str | None = None, request_id: str | None = None,
           **extra: Any) -> tuple[Response, int]:
    """Accept into the outbox (after the free-space check); 202 with the receipt number."""
    return respond(store(services(), Accept(kind, item_code, payload, size, subject, materials, kiosk_id,
                                            request_id, extra)))


@bp.post("/api/v1/submissions")
def submit() -> Any:
    """Store an application or print request durably; 202 with the local receipt number. The same checks
    and store as the event-loop submission door (:mod:`local_api.web.fast_door`): :mod:`local_api.web.submission`."""
    svc = services()
    accept = prepare_submission(svc, parse(SubmissionBody), request.content_length)
    return respond(accept if not isinstance(accept, Accept) else store(svc, accept))


def _record_view(receipt_no: str) -> dict[str, Any]:
    record = services().outbox.get(receipt_no)
    return {"receipt_no": record.receipt_no, "kind": record.kind, "item_code": record.item_code,
            "state": record.state, "platform_ref": record.platform_ref, "attempts": record.attempts,
            "accepted_at": iso(record.accepted_at), "delivered_at": iso(record.delivered_at),
            "rejected_at": iso(record.rejected_at), "expired_at": iso(record.expired_at),
            "last_error": record.last_error, "materials": record.materials_count}


@bp.get("/api/v1/submissions/<receipt_no>")
def submission(receipt_no: str) -> Any:
    """A submission's state (no personal data)."""
    try:
        return jsonify(_record_view(receipt_no))
    except UnknownReceipt:
        return error(404, "not_found", "no submission has this receipt number")
    except OutboxError as exc:
        return error(503, "outbox_unavailable", "本机服务暂时无法查询 (outbox unreadable)", detail=str(exc))


@bp.post("/api/v1/ratings")
def rate() -> Any:
    """Queue a 好差评 rating of a transaction (never lost; one per transaction)."""
    body = parse(RatingBody)
    svc = services()
    kiosk = svc.settings.kiosk
    try:
        rated = svc.outbox.get(body.receipt_no)
    except UnknownReceipt:
        return error(404, "not_found", "no submission has this receipt number", field="receipt_no")
    except OutboxError as exc:
        return store_failed(exc)
    if rated.kind != "application" and rated.kind != "print_request":
        raise BadRequest("receipt_no", f"a {rated.kind.replace('_', ' ')} cannot be rated")
    payload = {"transaction_key": rated.receipt_no, "level": body.level, "direction": body.direction,
               "text": body.text, "channel": "自助终端", "region": kiosk.place, "rated_at": iso(time.time()),
               "follow_up": body.level >= 4}  # 不满意 / 非常不满意 are routed for follow-up
    answer = _store("rating", rated.item_code, payload, size=len(body.text) * 4, subject=rated.receipt_no,
                    rates=rated.receipt_no)
    if answer[1] == 202:  # stored now (a resend answers 200 and was counted the first time)
        svc.metrics.ratings.labels(str(body.level)).inc()
    return answer


@bp.post("/api/v1/help-requests")
def help_request() -> Any:
    """Queue a 帮办代办 request (a grid worker's call, an appointment or a home visit)."""
    return _store_request("help_request", parse(HelpRequestBody))


@bp.post("/api/v1/reports")
def report() -> Any:
    """Queue a 办不成事反映 report."""
    return _store_request("report", parse(ReportBody))


def _store_request(kind: str, body: HelpRequestBody | ReportBody) -> Any:
    """A resident's request to people (help, a report): queued with the terminal's channel and place."""
    _unknown_item(body.item_code)
    payload = body.model_dump(exclude={"item_code"}) | {"channel": "自助终端", "region": services().settings.kiosk.place}
    return _store(kind, body.item_code or "-", payload, size=request.content_length or 0)


# -- online only -------------------------------------------------------------------------------

def _online(call: Callable[[PlatformClient], Any], *, created: bool = False) -> Any:
    """Run an online-only call through the breaker; answer 503 at once when the platform is out."""
    svc = services()
    breaker = svc.forwarder.status
    if not breaker.allow():
        wait = max(1, round(breaker.retry_in_s()))
        answer, status = error(503, "platform_unavailable", "政务服务平台暂时无法连接，该事项暂停办理",
                               reason=f"platform unreachable ({breaker.last_error or 'repeated failures'}); "
                               f"next try in {wait} s", breaker="open")
        answer.headers["Retry-After"] = str(wait)
        return answer, status
    try:
        data = call(svc.online)
    except PlatformUnavailable as exc:
        breaker.failed(exc.reason)
        return error(503, "platform_unavailable", "政务服务平台暂时无法连接，该事项暂停办理", reason=exc.reason)
    except PlatformRejected as exc:
        breaker.ok()
        status = exc.status if exc.status in (404, 409, 410) else 422
        field_name = exc.reason.partition(": ")[2].partition(":")[0] if ": " in exc.reason else None
        extra = {"field": field_name} if field_name and " " not in field_name else {}
        if exc.code:  # the platform's own error code, e.g. signin_used vs signin_expired
            extra["platform_error"] = exc.code
        return error(status, "platform_rejected", "政务服务平台未能办理该请求", reason=exc.reason, **extra)
    breaker.ok()
    return (jsonify(data), 201) if created else jsonify(data)


@bp.post("/api/v1/documents")
def document() -> Any:
    """Fetch a printable proof from the platform (print items need the platform online)."""
    body = parse(DocumentBody)
    _unknown_item(body.item_code)
    return _online(lambda p: p.fetch_document(body.item_code, body.applicant.identity()))


@bp.post("/api/v1/queries")
def query() -> Any:
    """Ask the platform a query item (e.g. 医保账户余额查询) for the applicant."""
    body = parse(QueryBody)
    _unknown_item(body.item_code)
    return _online(lambda p: p.query_item(body.item_code, body.applicant.identity()))


@bp.post("/api/v1/identity/verify")
def verify_identity() -> Any:
    """人证比对 through the platform: the face image goes there and nowhere else, and is not kept."""
    body = parse(IdentityBody)
    _unknown_item(body.item_code)
    payload = {"applicant": body.applicant.identity(), "face_jpeg": body.face_jpeg, "item_code": body.item_code}
    return _online(lambda p: p.verify_identity(payload))


SIGNED_IN_FIELDS = ("name", "id_number", "gender", "card_type")


def _signed_in(answer: dict[str, Any]) -> dict[str, str]:
    """Only who the resident is (PIPL minimum); a platform answer without a name and number is broken."""
    person = {k: answer[k] for k in SIGNED_IN_FIELDS if isinstance(answer.get(k), str)}
    if not person.get("name") or not person.get("id_number"):
        raise PlatformUnavailable("the platform's sign-in answer has no name or id_number")
    return person


@bp.post("/api/v1/identity/signin")
def redeem_signin() -> Any:
    """扫码登录: redeem a scanned sign-in code's one-time token for the resident it signed in.

    The token is a credential and the answer is personal data: neither is logged or kept here."""
    body = parse(SignInBody)
    return _online(lambda p: _signed_in(p.redeem_signin(body.token)))


@bp.get("/api/v1/appointments/slots")
def appointment_slots() -> Any:
    """Free slots of an appointment item."""
    code = request.args.get("item_code", "")
    day = request.args.get("date") or None
    if not code or len(code) > 64 or not all(c.isalnum() and c.isascii() or c in "._-" for c in code):
        raise BadRequest("item_code", "required query parameter: a catalog item code")
    if day is not None and (len(day) != 10 or not day.replace("-", "").isdigit()):
        raise BadRequest("date", "must be an ISO date (YYYY-MM-DD)")
    _unknown_item(code)
    return _online(lambda p: p.appointment_slots(code, day))


@bp.post("/api/v1/appointments")
def book() -> Any:
    """Book a slot; ``request_id`` makes a retried booking the same booking."""
    body = parse(BookingBody)
    _unknown_item(body.item_code)
    key = f"{services().settings.kiosk.id}-{body.request_id or secrets.token_hex(8)}"
    payload = {"item_code": body.item_code, "slot_id": body.slot_id, "applicant": body.applicant.identity(),
               "phone": body.phone}
    return _online(lambda p: p.book_appointment(key, payload), created=True)


@bp.get("/api/v1/progress/<receipt_no>")
def progress(receipt_no: str) -> Any:
    """办件进度: the outbox's own state until the platform has it, then the platform's answer."""
    if not re.fullmatch(RECEIPT_PATTERN, receipt_no):
        raise BadRequest("receipt_no", "not a receipt number")
    try:
        local = _record_view(receipt_no)
    except UnknownReceipt:
        local = None
    except OutboxError as exc:
        return store_failed(exc)
    if local is not None and local["state"] != "delivered":
        texts = {"queued": "已受理，等待上报", "sending": "上报中", "rejected": "平台退回，请联系工作人员",
                 "expired": "超时未上报，请联系工作人员"}
        return jsonify({"receipt_no": receipt_no, "source": "gateway", "status": local["state"],
                        "status_text": texts.get(local["state"], local["state"]), "steps": []})
    # Ours and delivered: ask by the platform's own reference, which names one case only (a receipt
    # number of another terminal could, misconfigured, repeat ours).
    key = (local or {}).get("platform_ref") or receipt_no
    return _online(lambda p: dict(p.progress(key), receipt_no=receipt_no, source="platform"))


# -- fees (统一公共支付平台) ----------------------------------------------------------------------

def _payment_view(payment: Payment, order: dict[str, Any] | None = None, *, stale: bool = False) -> dict[str, Any]:
    """What the app needs of an order: "paid" only as the payment platform last said it."""
    view: dict[str, Any] = {"order_no": payment.order_no, "state": payment.state, "amount": payment.amount,
                            "currency": "CNY", "expires_at": iso(payment.expires_at),
                            "expires_in_s": None if payment.expires_at is None
                            else max(0, round(payment.expires_at - time.time())),
                            "paid_at": iso(payment.paid_at), "bill": payment.bill(), "receipt_no": payment.receipt_no,
                            "left": payment.left_at is not None, "stale": stale}
    if order is not None:
        view["pay_url"] = order.get("pay_url")
        view["channels"] = order.get("channels") or []
    return view


def _ledger() -> PaymentLedger:
    ledger = services().payments
    if ledger is None:
        raise BadRequest("body", "fees cannot be paid at this terminal (no payment ledger)")
    return ledger


def _platform_answer(call: Callable[[], dict[str, Any]]) -> dict[str, Any] | tuple[Response, int]:
    """Ask the payment platform through the breaker; an error answer when it cannot be asked."""
    breaker = services().forwarder.status
    if not breaker.allow():
        return error(503, "platform_unavailable", "统一公共支付平台暂时无法连接", reason="circuit breaker open")
    try:
        answer = call()
    except PlatformUnavailable as exc:
        breaker.failed(exc.reason)
        return error(503, "platform_unavailable", "统一公共支付平台暂时无法连接", reason=exc.reason)
    breaker.ok()
    return answer


@bp.post("/api/v1/payments")
def create_payment() -> Any:
    """Hold a fee item's submission (sealed) and create its payment order; 201 with the order."""
    body = parse(PaymentBody)
    _unknown_item(body.item_code)
    ledger = _ledger()
    svc = services()
    materials = [Material(m.name, m.content_type, m.decoded()) for m in body.materials]
    refused = _disk_refusal(request.content_length or 0)
    if refused is not None:
        return refused
    refused = assisted_refusal(body.assisted)  # assisted mode: the staff token must still be current
    if refused is not None:
        return refused
    payload = {"applicant": body.applicant.model_dump(), "form": body.form, **assisted_payload(body.assisted)}
    kiosk_id = body.kiosk_id or svc.settings.kiosk.id
    try:
        payment, created = ledger.hold(kiosk_id, body.request_id, body.kind, body.item_code, payload, materials)
    except OutboxError as exc:
        return store_failed(exc)
    if payment.order_no is not None:  # a resend: the order already made
        again = _platform_answer(lambda: svc.online.payment(payment.order_no or ""))
        return jsonify(_payment_view(payment, None if isinstance(again, tuple) else again)), 200
    platform = svc.online
    try:
        answer = _platform_answer(lambda: dict(zip(("payment", "order"),
                                                   create_order(ledger, platform, payment, body.amount),
                                                   strict=True)))
    except PlatformRejected as exc:
        svc.forwarder.status.ok()
        ledger.failed(payment, exc.reason)
        return error(422, "platform_rejected", "统一公共支付平台未能生成缴款单", reason=exc.reason,
                     platform_error=exc.code)
    except OutboxError as exc:
        return store_failed(exc)
    if isinstance(answer, tuple):
        ledger.failed(payment, "the payment platform could not be reached")  # nothing held, nothing charged
        return answer
    made: Payment = answer["payment"]
    svc.metrics.payments.labels("created").inc()
    return jsonify(_payment_view(made, answer["order"])), 201 if created else 200


@bp.get("/api/v1/payments/<order_no>")
def payment_state(order_no: str) -> Any:
    """An order's state as the payment platform says it now; paid: the submission is queued."""
    ledger = _ledger()
    try:
        payment = ledger.get(order_no)
    except UnknownOrder:
        return error(404, "not_found", "no payment order has this number here")
    except OutboxError as exc:
        return store_failed(exc)
    svc = services()
    answer = _platform_answer(lambda: svc.online.payment(order_no))
    if isinstance(answer, tuple):  # cannot ask: what was last heard, marked stale (never "paid" by guess)
        return jsonify(_payment_view(payment, stale=True))
    try:
        before = payment.state
        payment = ledger.apply(payment, answer)
    except OutboxError as exc:
        return store_failed(exc)
    if payment.state != before:
        svc.metrics.payments.labels(payment.state).inc()
    return jsonify(_payment_view(payment, answer))


@bp.post("/api/v1/payments/<order_no>/cancel")
def cancel_payment(order_no: str) -> Any:
    """The resident stopped (the order is cancelled) or left (recorded; a late payment is matched)."""
    body = parse(PaymentCancelBody)
    ledger = _ledger()
    svc = services()
    try:
        payment = ledger.get(order_no)
        if body.reason == "left" or payment.state != "created":
            payment = ledger.left(order_no) if body.reason == "left" else payment
            if svc.payment_watcher is not None:
                svc.payment_watcher.wake()
            return jsonify(_payment_view(payment))
        try:
            answer = _platform_answer(lambda: svc.online.cancel_payment(order_no))
        except PlatformRejected as exc:
            if exc.code != "already_paid":
                return error(422, "platform_rejected", "统一公共支付平台未能撤销缴款单", reason=exc.reason)
            answer = _platform_answer(lambda: svc.online.payment(order_no))  # paid meanwhile: matched
        if isinstance(answer, tuple):  # cannot cancel now: recorded as left, the watcher settles it
            payment = ledger.left(order_no)
            return jsonify(_payment_view(payment, stale=True)), 202
        payment = ledger.apply(payment, answer)
    except UnknownOrder:
        return error(404, "not_found", "no payment order has this number here")
    except OutboxError as exc:
        return store_failed(exc)
    svc.metrics.payments.labels(payment.state).inc()
    return jsonify(_payment_view(payment))


# -- heartbeat ---------------------------------------------------------------------------------

@bp.post("/api/v1/heartbeat")
def heartbeat() -> Any:
    """The app's screen and device statuses; answers with device tests to run and the platform state."""
    body = parse(HeartbeatBody)
    svc = services()
    devices = {name: report.model_dump() for name, report in body.devices.items()}
    commands = svc.presence.beat(body.screen, devices, [r.model_dump() for r in body.results])
    if body.sessions is not None:
        svc.metrics.sessions.fold(body.sessions.run, ((c.item_kind, c.outcome, c.count) for c in body.sessions.counts))
    platform = svc.forwarder.status.snapshot()
    state: dict[str, Any] = {"reachable": platform["reachable"], "breaker": platform["breaker"]}
    offset = platform_clock_offset(svc)
    if offset is not None:
        state["clock_offset_s"] = offset
    return jsonify({"ok": True, "commands": commands, "platform": state})


PLATFORM_CLOCK_FRESH_S = 3600.0  # an offset heard longer ago than this is not passed on


def platform_clock_offset(svc: GatewayServices) -> float | None:
    """How far the platform's clock is ahead of this machine's, from the freshest ``Date`` any of the
    gateway's platform clients heard within the hour (the app checks identity documents against it)."""
    heard = [c for c in (client.heard_clock() for client in (svc.forwarder.client, svc.online)) if c is not None]
    if not heard:
        return None
    offset, at = max(heard, key=lambda c: c[1])
    return round(offset, 1) if time.monotonic() - at <= PLATFORM_CLOCK_FRESH_S else None


# -- 免申即办 and 数据互认 (online only: nothing to show or fetch when the platform is out) ------------------

@bp.post("/api/v1/benefits/exempt")
def exempt_benefits() -> Any:
    """Benefits the platform granted (or will grant) the applicant without an application. The answer is
    personal data: passed through, never logged or kept."""
    body = parse(BenefitsBody)
    return _online(lambda p: p.exempt_benefits(body.applicant.identity()))


@bp.post("/api/v1/e-licences")
def e_licences() -> Any:
    """Which of an item's materials the platform's e-licence library holds for the applicant (references only)."""
    body = parse(LicencesBody)
    _unknown_item(body.item_code)
    return _online(lambda p: p.e_licences(body.item_code, body.applicant.identity(), list(body.materials)))
