"""The local gateway's HTTP API (Flask app factory).

Views reach the outbox, forwarder and platform client through
``current_app.extensions["kiosk"]`` (a :class:`GatewayServices`), never module globals,
so tests and the server build apps with their own services. Every error is JSON.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flask import Blueprint, Flask, current_app, jsonify, request
from pydantic import (BaseModel, ConfigDict, Field, StrictInt, ValidationError, ValidationInfo,
                      field_validator)
from werkzeug.exceptions import HTTPException

from kiosk.settings import Settings
from kiosk.validators import citizen_id_valid
from local_api.forwarder import Forwarder, iso
from local_api.outbox import DuplicateSubmission, Outbox, OutboxError, UnknownReceipt
from local_api.platform_client import PlatformClient, PlatformRejected, PlatformUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024  # a form plus a few document-camera images
EXTENSION_KEY = "kiosk"
RATING_DIRECTION = "gbt39046"  # GB/T 39046-2020: 1 = 非常满意 … 5 = 非常不满意

_M = TypeVar("_M", bound=BaseModel)


@dataclass
class GatewayServices:
    """What the gateway's views use; built by ``local_api.server`` or by tests."""

    outbox: Outbox
    forwarder: Forwarder
    platform: PlatformClient
    started_at: float = field(default_factory=time.time)


def _services() -> GatewayServices:
    services: GatewayServices = current_app.extensions[EXTENSION_KEY]
    return services


# -- request bodies ----------------------------------------------------------------------------

class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Applicant(BaseModel):
    """Who the submission is for; extra card fields (address, gender, phone) are kept as given."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=64)
    id_type: Literal["resident_id", "hk_macao_permit", "taiwan_permit", "foreign_permanent", "passport"] = \
        "resident_id"
    id_number: str = Field(min_length=1, max_length=32)

    @field_validator("id_number")
    @classmethod
    def _check_id(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("id_type", "resident_id") == "resident_id" and not citizen_id_valid(value):
            # The value itself is never echoed: error bodies can end up in logs.
            raise ValueError("not a valid resident ID number (GB 11643 check character)")
        return value

    def identity(self) -> dict[str, str]:
        """Only what identifies the person: all a query or print needs to send (PIPL minimum)."""
        return {"name": self.name, "id_type": self.id_type, "id_number": self.id_number}


ItemCode = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")


class SubmissionBody(_Body):
    kind: Literal["application", "print_request"]
    item_code: str = ItemCode
    applicant: Applicant
    form: dict[str, Any] = Field(default_factory=dict)


class DocumentBody(_Body):
    item_code: str = ItemCode
    applicant: Applicant


class RatingBody(_Body):
    receipt_no: str = Field(min_length=1, max_length=80)
    level: StrictInt = Field(ge=1, le=5)
    direction: Literal["gbt39046"]
    text: str = Field(default="", max_length=500)


class BadRequest(Exception):
    """A request body that is not what the route expects; ``field`` names where."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _parse(model: type[_M]) -> _M:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadRequest("body", "the body must be a JSON object (Content-Type: application/json)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required field is missing"
        elif first["type"] == "extra_forbidden":
            message = "unknown field"
        raise BadRequest(where, message) from None


def _error(status: int, error: str, message: str, **extra: Any) -> tuple[Any, int]:
    return jsonify({"error": error, "message": message, **extra}), status


def _store_failed(exc: OutboxError) -> tuple[Any, int]:
    log.error("outbox refused a write: %s", exc)
    return _error(503, "outbox_unavailable", "本机暂时无法保存，请稍后再试或联系工作人员 "
                  "(the gateway cannot store submissions right now; nothing was saved)", detail=str(exc))


# -- routes ------------------------------------------------------------------------------------

bp = Blueprint("gateway", __name__)


@bp.get("/health")
def health() -> Any:
    """Status report for the kiosk and operators; 200 even when degraded."""
    services = _services()
    kiosk = current_app.config["KIOSK_SETTINGS"].kiosk
    degraded = False
    try:
        counts: dict[str, int] | None = services.outbox.counts()
    except OutboxError as exc:
        log.error("health: outbox unreadable: %s", exc)
        counts, degraded = None, True
    platform = services.forwarder.status.snapshot()
    if platform["reachable"] is False or not services.forwarder.alive:
        degraded = True
    return jsonify({
        "status": "degraded" if degraded else "ok",
        "kiosk_id": kiosk.id,
        "place": kiosk.place,
        "started_at": iso(services.started_at),
        "uptime_s": round(time.time() - services.started_at, 1),
        "outbox": counts,
        "forwarder": {"alive": services.forwarder.alive,
                      "backoff_s": round(services.forwarder.backoff_remaining_s, 1)},
        "platform": {"reachable": platform["reachable"], "last_error": platform["last_error"],
                     "since": iso(platform["since"])},
    })


@bp.post("/api/v1/submissions")
def submit() -> Any:
    """Store an application or print request durably; 202 with the local receipt number."""
    body = _parse(SubmissionBody)
    services = _services()
    payload = {"applicant": body.applicant.model_dump(), "form": body.form}
    try:
        record = services.outbox.accept(body.kind, body.item_code, payload)
    except OutboxError as exc:
        return _store_failed(exc)
    services.forwarder.wake()
    return jsonify({"receipt_no": record.receipt_no, "state": record.state,
                    "accepted_at": iso(record.accepted_at)}), 202


def _record_view(receipt_no: str) -> dict[str, Any]:
    record = _services().outbox.get(receipt_no)
    return {"receipt_no": record.receipt_no, "kind": record.kind, "item_code": record.item_code,
            "state": record.state, "platform_ref": record.platform_ref, "attempts": record.attempts,
            "accepted_at": iso(record.accepted_at), "delivered_at": iso(record.delivered_at),
            "rejected_at": iso(record.rejected_at), "last_error": record.last_error}


@bp.get("/api/v1/submissions/<receipt_no>")
def submission(receipt_no: str) -> Any:
    """A submission's state (no personal data)."""
    try:
        return jsonify(_record_view(receipt_no))
    except UnknownReceipt:
        return _error(404, "not_found", "no submission has this receipt number")
    except OutboxError as exc:
        return _error(503, "outbox_unavailable", "本机服务暂时无法查询 (outbox unreadable)", detail=str(exc))


@bp.post("/api/v1/documents")
def document() -> Any:
    """Fetch a printable proof from the platform, synchronously (print items need the platform)."""
    body = _parse(DocumentBody)
    services = _services()
    try:
        doc = services.platform.fetch_document(body.item_code, body.applicant.identity())
    except PlatformUnavailable as exc:
        services.forwarder.status.failed(exc.reason)
        return _error(503, "platform_unavailable", "政务服务平台暂时无法连接，打印类事项暂停办理",
                      reason=exc.reason)
    except PlatformRejected as exc:
        services.forwarder.status.ok()
        status = 404 if exc.status == 404 else 422
        return _error(status, "platform_rejected", "政务服务平台未提供该证明", reason=exc.reason)
    services.forwarder.status.ok()
    return jsonify(doc)


@bp.post("/api/v1/ratings")
def rate() -> Any:
    """Queue a 好差评 rating of a transaction (never lost; one per transaction)."""
    body = _parse(RatingBody)
    services = _services()
    kiosk = current_app.config["KIOSK_SETTINGS"].kiosk
    try:
        rated = services.outbox.get(body.receipt_no)
    except UnknownReceipt:
        return _error(404, "not_found", "no submission has this receipt number", field="receipt_no")
    except OutboxError as exc:
        return _store_failed(exc)
    if rated.kind == "rating":
        raise BadRequest("receipt_no", "a rating cannot itself be rated")
    payload = {"transaction_key": rated.receipt_no, "level": body.level, "direction": body.direction,
               "text": body.text, "channel": "自助终端", "region": kiosk.place, "rated_at": iso(time.time()),
               "follow_up": body.level >= 4}  # 不满意 / 非常不满意 are routed for follow-up
    try:
        record = services.outbox.accept("rating", rated.item_code, payload, subject=rated.receipt_no)
    except DuplicateSubmission:
        return _error(409, "already_rated", "this transaction has already been rated (一次一评)")
    except OutboxError as exc:
        return _store_failed(exc)
    services.forwarder.wake()
    return jsonify({"receipt_no": record.receipt_no, "state": record.state, "rates": rated.receipt_no}), 202


# -- errors ------------------------------------------------------------------------------------

def _bad_request(exc: BadRequest) -> Any:
    return _error(400, "invalid_request", f"{exc.field}: {exc.message}", field=exc.field)


def _http_error(exc: HTTPException) -> Any:
    name = (exc.name or "error").lower().replace(" ", "_")
    return _error(exc.code or 500, name, exc.description or name)


def _unexpected(exc: Exception) -> Any:
    # Traceback frames only, not the message: an exception's text can carry form contents.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.path, frames)
    return _error(500, "internal_error",
                  "the gateway hit an unexpected error; the technician log has details")


def create_app(settings: Settings, services: GatewayServices) -> Flask:
    """Build the gateway app around ready services (the caller owns and stops them)."""
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, KIOSK_SETTINGS=settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in answers
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = services
    app.register_blueprint(bp)
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app
