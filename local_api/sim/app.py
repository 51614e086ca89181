"""Simulator of the government service platform (contract: ``docs/platform-openapi.yaml``).

The embedded default peer of ``kiosk run`` and the test peer of the gateway. It checks
request signatures like the real platform, keeps applications, ratings, help requests and
reports in memory keyed by their idempotency key (a second delivery of a key answers 200
with the same reference), issues documents for print items, and can be told to misbehave
through loopback-only ``/admin`` endpoints or ``kiosk platform-sim`` flags (latency, error
status with ``Retry-After``, dropped connections, duplicate deliveries, hangs) so outages
can be rehearsed. Queries, identity checks, appointments and progress live in
:mod:`local_api.sim.services`; the data they answer with in :mod:`local_api.sim.data`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from local_api.link.signing import SignatureError, Verifier
from local_api.sim.data import DOCUMENTS, ItemInfo, SignInCodes, document_maker, load_catalog_items

EXTENSION_KEY = "platform_sim"
__all__ = ["Faults", "SimState", "StoredApplication", "create_platform_app", "DOCUMENTS", "EXTENSION_KEY"]
LOOPBACK = {"127.0.0.1", "::1"}
DIRECTIONS = {"gbt39046", "gbt39046_reversed"}  # some provincial interfaces count 1 = 非常不满意


@dataclass
class Faults:
    """Misbehaviour to inject into every platform request (``/admin`` excluded)."""

    latency_s: float = 0.0
    """Delay before every answer."""
    error_rate: float = 0.0
    """Share of requests (0..1) answered with ``status`` instead of being served."""
    status: int = 503
    """Status of injected errors (503, 500, 429, 408 ...)."""
    retry_after_s: float | None = None
    """``Retry-After`` sent with injected errors, when set."""
    drop: bool = False
    """Serve the request, then break the connection before the answer is complete."""
    hang_s: float = 0.0
    """Wait this long before serving (longer than the client's timeout: a hung platform)."""
    duplicate: bool = False
    """Serve the request, then answer 503 as if it had failed: the kiosk delivers it again."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Build from an admin request; ``status`` alone means every request fails with it."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if "status" in values and "error_rate" not in values:
            values["error_rate"] = 1.0
        faults = cls(**values)
        if not 0.0 <= float(faults.error_rate) <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not 100 <= int(faults.status) <= 599:
            raise ValueError("status must be an HTTP status code")
        for name in ("latency_s", "hang_s", "retry_after_s"):
            value = getattr(faults, name)
            if value is not None and float(value) < 0:
                raise ValueError(f"{name} must not be negative")
        return faults


@dataclass
class StoredApplication:
    """One application as the platform holds it."""

    idempotency_key: str
    platform_ref: str
    kind: str
    item_code: str
    kiosk_id: str
    received_at: str
    body_digest: str
    body: dict[str, Any] = field(repr=False)
    deliveries: int = 1

    def summary(self) -> dict[str, Any]:
        """What the platform reports about it: no personal data (field names, not their values)."""
        materials = self.body.get("materials") or []
        return {"idempotency_key": self.idempotency_key, "receipt_no": self.body.get("receipt_no"),
                "platform_ref": self.platform_ref, "kind": self.kind,
                "item_code": self.item_code, "kiosk_id": self.kiosk_id, "received_at": self.received_at,
                "deliveries": self.deliveries, "status": "received",
                "fields": sorted((self.body.get("form") or {}).keys()),
                "applicant_fields": sorted((self.body.get("applicant") or {}).keys()),
                "materials": len(materials) if isinstance(materials, list) else 0}

    def received(self) -> dict[str, Any]:
        """Everything the kiosk sent (for tests at the far end): materials as name, type, size, SHA-256
        and the first bytes in hex (a JPEG starts ``ffd8ff``)."""
        body = dict(self.body)
        pages = [m for m in body.pop("materials", None) or [] if isinstance(m, dict)]
        body["materials"] = []
        for page in pages:
            data = base64.b64decode(page.get("data", ""))
            body["materials"].append({"name": page.get("name"), "content_type": page.get("content_type"),
                                      "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                      "head": data[:4].hex()})
        return {**self.summary(), "body": body}


class SimState:
    """The simulator's memory (thread-safe): submissions, bookings, faults, counters."""

    def __init__(self, faults: Faults | None = None, seed: int | None = None,
                 items: dict[str, ItemInfo] | None = None) -> None:
        self.lock = threading.Lock()
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.items: dict[str, ItemInfo] = items or {}
        self.applications: dict[str, StoredApplication] = {}
        self.ratings: dict[str, dict[str, Any]] = {}
        self.help_requests: dict[str, StoredApplication] = {}
        self.reports: dict[str, StoredApplication] = {}
        self.bookings: dict[str, dict[str, Any]] = {}  # idempotency key → booking
        self.booked: dict[str, int] = {}  # slot id → residents booked
        self.identity_default = "verified"
        self.identity_outcomes: dict[str, str] = {}  # sha256 of an ID number → scripted outcome
        self.signin = SignInCodes()  # the app's sign-in codes (issued under /admin, redeemed in /v1)
        self.requests = 0
        # (monotonic time, method, path) of every platform request as it arrived: lets tests
        # prove timing promises such as "no retry before Retry-After".
        self.arrivals: deque[tuple[float, str, str]] = deque(maxlen=10_000)
        self._serial = 0

    def by_receipt(self, receipt_no: str, store: str = "applications") -> StoredApplication | None:
        """The one submission (of ``store``) that carries ``receipt_no``; None when none does."""
        with self.lock:
            held: dict[str, StoredApplication] = getattr(self, store)
            return next((a for a in held.values() if a.body.get("receipt_no") == receipt_no), None)

    def next_serial(self) -> int:
        with self.lock:
            self._serial += 1
            return self._serial


def _state() -> SimState:
    state: SimState = current_app.extensions[EXTENSION_KEY]
    return state


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _fail(status: int, error: str, reason: str) -> tuple[Response, int]:
    return jsonify({"error": error, "reason": reason}), status


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _json_body() -> dict[str, Any] | None:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else None


def _applicant_problem(applicant: Any) -> str | None:
    if not isinstance(applicant, dict):
        return "applicant: required object is missing"
    for key in ("name", "id_number"):
        if not isinstance(applicant.get(key), str) or not applicant[key]:
            return f"applicant.{key}: required field is missing"
    return None


# -- the platform API ------------------------------------------------------------------------------

api = Blueprint("platform", __name__)


@api.before_request
def _inject_faults() -> Any:
    state = _state()
    with state.lock:
        faults = state.faults
        state.requests += 1
        state.arrivals.append((time.monotonic(), request.method, request.path))
        fail = faults.error_rate > 0 and state.rng.random() < faults.error_rate
    if faults.latency_s > 0:
        time.sleep(faults.latency_s)
    if faults.hang_s > 0:
        time.sleep(faults.hang_s)
    if fail:
        response, status = _fail(faults.status, "injected_fault", f"simulated HTTP {faults.status}")
        if faults.retry_after_s is not None:
            response.headers["Retry-After"] = str(int(round(faults.retry_after_s)))
        return response, status
    g.drop = faults.drop
    g.duplicate = faults.duplicate
    return None


@api.after_request
def _maybe_drop(response: Response) -> Response:
    if g.get("duplicate") and response.status_code < 400:
        # Served and stored, but the kiosk is told it failed: it will deliver the same request again.
        response, _ = _fail(503, "injected_fault", "simulated HTTP 503 after serving (duplicate delivery)")
        response.status_code = 503
        return response
    if g.get("drop"):
        # Declare the full length, send half: the server closes the connection and the client
        # sees a broken answer after the request was served (the case idempotency exists for).
        body = response.get_data()
        response.set_data(body[: len(body) // 2])
        response.headers["Content-Length"] = str(len(body))
    return response


@api.before_request
def _require_signature() -> Any:
    """Every /v1 call must be signed by a kiosk; its id is kept in ``g.kiosk_id`` for the view."""
    if not request.path.startswith("/v1/"):
        return None
    verified = _verified()
    if not isinstance(verified, str):
        return verified
    g.kiosk_id = verified
    return None


def _verified() -> str | tuple[Response, int]:
    body = request.get_data(cache=True)
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    try:
        return current_app.config["SIM_VERIFIER"].verify(request.method, path, request.headers, body)
    except SignatureError as exc:
        return _fail(401, "bad_signature", str(exc))


@api.get("/health")
def health() -> Any:
    return jsonify({"status": "ok", "time": _now_iso()})


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    return key if key and len(key) <= 128 else None


def _store_once(store: dict[str, StoredApplication], kiosk_id: str, key: str, body: dict[str, Any],
                prefix: str, ref_field: str) -> Any:
    """Keep ``body`` under ``key`` once: 201 the first time, 200 with the same reference after."""
    state = _state()
    digest = _digest(body)
    with state.lock:
        stored = store.get(key)
        if stored is not None:
            if stored.body_digest != digest:
                return _fail(422, "idempotency_conflict", "Idempotency-Key was used with a different body")
            stored.deliveries += 1
            return jsonify({ref_field: stored.platform_ref, "status": "received", "duplicate": True}), 200
        state._serial += 1
        ref = f"{prefix}{datetime.now():%Y%m%d}{state._serial:06d}"
        store[key] = StoredApplication(
            idempotency_key=key, platform_ref=ref, kind=str(body.get("kind", "")),
            item_code=str(body.get("item_code") or ""), kiosk_id=kiosk_id, received_at=_now_iso(),
            body_digest=digest, body=body)
    return jsonify({ref_field: ref, "status": "received", "duplicate": False}), 201


def _signed_submission() -> tuple[str, str, dict[str, Any]] | tuple[Response, int]:
    kiosk_id: str = g.kiosk_id
    key = _idempotency_key()
    if key is None:
        return _fail(400, "invalid_request", "Idempotency-Key header is required (1-128 characters)")
    body = _json_body()
    if body is None:
        return _fail(400, "invalid_request", "body: a JSON object is required")
    return kiosk_id, key, body


@api.post("/v1/applications")
def submit_application() -> Any:
    checked = _signed_submission()
    if len(checked) == 2:
        return checked
    kiosk_id, key, body = checked
    for name in ("kind", "item_code"):
        if not isinstance(body.get(name), str) or not body[name]:
            return _fail(400, "invalid_request", f"{name}: required field is missing")
    problem = _applicant_problem(body.get("applicant"))
    if problem:
        return _fail(422, "invalid_application", problem)
    materials = body.get("materials", [])
    if not isinstance(materials, list) or not all(isinstance(m, dict) and isinstance(m.get("data"), str)
                                                  for m in materials):
        return _fail(422, "invalid_application", "materials: must be a list of {name, content_type, data}")
    return _store_once(_state().applications, kiosk_id, key, body, "HCZW", "platform_ref")


HELP_NEEDS = {"grid_worker", "appointment", "home_visit"}
REPORT_CATEGORIES = {"cannot_handle", "too_slow", "attitude", "system_fault", "other"}


@api.post("/v1/help-requests")
def submit_help_request() -> Any:
    checked = _signed_submission()
    if len(checked) == 2:
        return checked
    kiosk_id, key, body = checked
    if body.get("need") not in HELP_NEEDS:
        return _fail(422, "invalid_help_request", f"need: must be one of {sorted(HELP_NEEDS)}")
    return _store_once(_state().help_requests, kiosk_id, key, body, "HCBB", "help_ref")


@api.post("/v1/reports")
def submit_report() -> Any:
    checked = _signed_submission()
    if len(checked) == 2:
        return checked
    kiosk_id, key, body = checked
    if body.get("category") not in REPORT_CATEGORIES:
        return _fail(422, "invalid_report", f"category: must be one of {sorted(REPORT_CATEGORIES)}")
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        return _fail(422, "invalid_report", "text: required field is missing")
    return _store_once(_state().reports, kiosk_id, key, body, "HCFY", "report_ref")


@api.get("/v1/applications/<idempotency_key>")
def get_application(idempotency_key: str) -> Any:
    state = _state()
    with state.lock:
        stored = state.applications.get(idempotency_key)
        summary = stored.summary() if stored else None
    if summary is None:
        return _fail(404, "not_found", "no application has this idempotency key")
    return jsonify(summary)


@api.post("/v1/documents")
def fetch_document() -> Any:
    body = _json_body()
    if body is None:
        return _fail(400, "invalid_request", "body: a JSON object is required")
    maker = document_maker(str(body.get("item_code", "")), _state().items)
    if maker is None:
        return _fail(404, "unknown_item", "the platform issues no document for this item_code")
    problem = _applicant_problem(body.get("applicant"))
    if problem:
        return _fail(400, "invalid_request", problem)
    state = _state()
    serial = state.next_serial()
    with state.lock:
        return jsonify(maker(body["applicant"], serial, state.rng))


@api.post("/v1/ratings")
def submit_rating() -> Any:
    kiosk_id: str = g.kiosk_id
    key = _idempotency_key()
    body = _json_body()
    if not key or body is None:
        return _fail(400, "invalid_request", "Idempotency-Key header and a JSON object body are required")
    level, direction = body.get("level"), body.get("direction")
    if direction not in DIRECTIONS:
        return _fail(422, "invalid_rating", f"direction: must be one of {sorted(DIRECTIONS)}")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        return _fail(422, "invalid_rating", "level: must be an integer 1..5")
    if not isinstance(body.get("transaction_key"), str):
        return _fail(422, "invalid_rating", "transaction_key: required field is missing")
    gbt_level = level if direction == "gbt39046" else 6 - level
    state = _state()
    with state.lock:
        stored = state.ratings.get(key)
        if stored is not None:
            stored["deliveries"] += 1
            return jsonify({"rating_ref": stored["rating_ref"], "duplicate": True}), 200
        state._serial += 1
        ref = f"HCPJ{datetime.now():%Y%m%d}{state._serial:06d}"
        state.ratings[key] = {"rating_ref": ref, "transaction_key": body["transaction_key"],
                              "level_gbt39046": gbt_level, "follow_up": gbt_level >= 4,
                              "kiosk_id": kiosk_id, "deliveries": 1, "receipt_no": body.get("receipt_no"),
                              "level": level, "direction": direction, "has_text": bool(body.get("text"))}
    return jsonify({"rating_ref": ref, "follow_up": gbt_level >= 4, "duplicate": False}), 201


def _json_http_error(exc: HTTPException) -> Any:
    return _fail(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def create_platform_app(secret: str, *, faults: Faults | None = None, seed: int | None = None,
                        items: dict[str, ItemInfo] | None = None) -> Flask:
    """Build the simulator app; its memory is ``app.extensions["platform_sim"]`` (a :class:`SimState`).

    ``items``: the catalog the simulator answers for (default: the packaged catalog).
    """
    from local_api.sim.admin import admin
    from local_api.sim.services import services

    app = Flask(__name__)
    app.config.update(SIM_VERIFIER=Verifier(secret), MAX_CONTENT_LENGTH=16 * 1024 * 1024)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    catalog = load_catalog_items() if items is None else items
    app.extensions[EXTENSION_KEY] = SimState(faults, seed if seed is not None else secrets.randbits(32), catalog)
    app.register_blueprint(api)
    app.register_blueprint(services)
    app.register_blueprint(admin)
    app.register_error_handler(HTTPException, _json_http_error)
    return app
