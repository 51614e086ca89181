"""Simulator of the government service platform (contract: ``docs/platform-openapi.yaml``).

The embedded default peer of ``kiosk run`` and the test peer of the gateway. It checks
request signatures like the real platform, keeps applications in memory keyed by their
idempotency key (a second delivery of a key answers 200 with the same reference), issues
a realistic 社会保险参保缴费证明, accepts ratings, and can be told to misbehave through
loopback-only ``/admin`` endpoints (latency, error status with ``Retry-After``, dropped
connections, hangs) so outages can be rehearsed.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from kiosk.privacy import mask_id_number, mask_name
from local_api.signing import SignatureError, Verifier

EXTENSION_KEY = "platform_sim"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
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
        """What the platform reports about it: no personal data."""
        return {"idempotency_key": self.idempotency_key, "platform_ref": self.platform_ref, "kind": self.kind,
                "item_code": self.item_code, "kiosk_id": self.kiosk_id, "received_at": self.received_at,
                "deliveries": self.deliveries, "status": "received"}


class SimState:
    """The simulator's memory (thread-safe): applications, ratings, faults, counters."""

    def __init__(self, faults: Faults | None = None, seed: int | None = None) -> None:
        self.lock = threading.Lock()
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.applications: dict[str, StoredApplication] = {}
        self.ratings: dict[str, dict[str, Any]] = {}
        self.requests = 0
        # (monotonic time, method, path) of every platform request as it arrived: lets tests
        # prove timing promises such as "no retry before Retry-After".
        self.arrivals: deque[tuple[float, str, str]] = deque(maxlen=10_000)
        self._serial = 0

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
    return None


@api.after_request
def _maybe_drop(response: Response) -> Response:
    if g.get("drop"):
        # Declare the full length, send half: the server closes the connection and the client
        # sees a broken answer after the request was served (the case idempotency exists for).
        body = response.get_data()
        response.set_data(body[: len(body) // 2])
        response.headers["Content-Length"] = str(len(body))
    return response


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


@api.post("/v1/applications")
def submit_application() -> Any:
    kiosk_id = _verified()
    if not isinstance(kiosk_id, str):
        return kiosk_id
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        return _fail(400, "invalid_request", "Idempotency-Key header is required (1-128 characters)")
    body = _json_body()
    if body is None:
        return _fail(400, "invalid_request", "body: a JSON object is required")
    for name in ("kind", "item_code"):
        if not isinstance(body.get(name), str) or not body[name]:
            return _fail(400, "invalid_request", f"{name}: required field is missing")
    problem = _applicant_problem(body.get("applicant"))
    if problem:
        return _fail(422, "invalid_application", problem)
    state = _state()
    digest = _digest(body)
    with state.lock:
        stored = state.applications.get(key)
        if stored is not None:
            if stored.body_digest != digest:
                return _fail(422, "idempotency_conflict", "Idempotency-Key was used with a different body")
            stored.deliveries += 1
            answer = {"platform_ref": stored.platform_ref, "status": "received", "duplicate": True}
            return jsonify(answer), 200
        state._serial += 1
        ref = f"HCZW{datetime.now():%Y%m%d}{state._serial:06d}"
        state.applications[key] = StoredApplication(
            idempotency_key=key, platform_ref=ref, kind=body["kind"], item_code=body["item_code"],
            kiosk_id=kiosk_id, received_at=_now_iso(), body_digest=digest, body=body)
    return jsonify({"platform_ref": ref, "status": "received", "duplicate": False}), 201


@api.get("/v1/applications/<key>")
def get_application(key: str) -> Any:
    kiosk_id = _verified()
    if not isinstance(kiosk_id, str):
        return kiosk_id
    state = _state()
    with state.lock:
        stored = state.applications.get(key)
        summary = stored.summary() if stored else None
    if summary is None:
        return _fail(404, "not_found", "no application has this idempotency key")
    return jsonify(summary)


DocumentMaker = Callable[[dict[str, Any], int, random.Random], dict[str, Any]]


def _social_insurance_proof(applicant: dict[str, Any], serial: int, rng: random.Random) -> dict[str, Any]:
    # Stable per person (same numbers on every print), different between people.
    seed = _person_seed(applicant)
    pension = 24 + seed % 220
    insurances = [
        {"type": "企业职工基本养老保险", "status": "正常参保", "months": pension},
        {"type": "失业保险", "status": "正常参保", "months": max(12, pension - seed % 37)},
        {"type": "工伤保险", "status": "正常参保", "months": max(6, pension - seed % 61)},
    ]
    issued = datetime.now().astimezone()
    rows = [["姓名", mask_name(applicant["name"])],
            ["公民身份号码", mask_id_number(applicant["id_number"])],
            ["参保地", "厦门市海沧区"]]
    rows += [[i["type"], f"{i['status']} {i['months']}个月"] for i in insurances]
    rows += [["打印时间", f"{issued:%Y-%m-%d %H:%M}"]]
    return {
        "item_code": "rs-sbjfzm",
        "title": "社会保险参保缴费证明",
        "doc_no": f"XMSB{issued:%Y%m%d}{serial:06d}",
        "verification_code": "".join(rng.choice(CODE_ALPHABET) for _ in range(8)),
        "issuer": "厦门市社会保险管理中心（模拟）",
        "issued_at": issued.isoformat(timespec="seconds"),
        "insurances": insurances,
        "rows": rows,
        "note": "本证明反映打印时点的参保缴费情况，可凭验证码向社会保险经办机构核验。",
    }


def _person_seed(applicant: dict[str, Any]) -> int:
    return int.from_bytes(hashlib.sha256(applicant["id_number"].encode()).digest()[:4], "big")


def _simple_document(item_code: str, title: str, issuer: str, prefix: str,
                     rows: Callable[[int], list[list[str]]], note: str) -> DocumentMaker:
    """A one-page certificate whose figures are stable per person (same numbers on every print)."""

    def make(applicant: dict[str, Any], serial: int, rng: random.Random) -> dict[str, Any]:
        issued = datetime.now().astimezone()
        body = [["姓名", mask_name(applicant["name"])],
                ["公民身份号码", mask_id_number(applicant["id_number"])]]
        body += rows(_person_seed(applicant)) + [["打印时间", f"{issued:%Y-%m-%d %H:%M}"]]
        return {
            "item_code": item_code, "title": title, "doc_no": f"{prefix}{issued:%Y%m%d}{serial:06d}",
            "verification_code": "".join(rng.choice(CODE_ALPHABET) for _ in range(8)),
            "issuer": issuer, "issued_at": issued.isoformat(timespec="seconds"), "rows": body, "note": note,
        }

    return make


DOCUMENTS: dict[str, DocumentMaker] = {
    "rs-sbjfzm": _social_insurance_proof,
    "rs-qyjl": _simple_document(
        "rs-qyjl", "养老保险个人权益记录单", "厦门市社会保险管理中心（模拟）", "XMQY",
        lambda seed: [["参保地", "厦门市海沧区"], ["上年度缴费月数", f"{6 + seed % 7} 个月"],
                      ["个人账户累计储存额", f"{20000 + seed % 90000:,} 元"]],
        "本记录单仅供参保人核对个人权益，可凭验证码核验。"),
    "yb-cbpz": _simple_document(
        "yb-cbpz", "基本医疗保险参保凭证", "厦门市医疗保障局（模拟）", "XMYB",
        lambda seed: [["险种", "职工基本医疗保险"], ["参保状态", "正常参保"],
                      ["本地累计缴费", f"{12 + seed % 200} 个月"]],
        "本凭证反映打印时点的参保情况，可凭验证码向医保经办机构核验。"),
    "gjj-jczm": _simple_document(
        "gjj-jczm", "住房公积金缴存证明", "厦门市住房公积金中心（模拟）", "XMGJ",
        lambda seed: [["缴存状态", "正常缴存"], ["月缴存额", f"{400 + seed % 3000} 元"],
                      ["连续缴存", f"{6 + seed % 120} 个月"]],
        "本证明可凭验证码在住房公积金中心网站核验。"),
}


@api.post("/v1/documents")
def fetch_document() -> Any:
    kiosk_id = _verified()
    if not isinstance(kiosk_id, str):
        return kiosk_id
    body = _json_body()
    if body is None:
        return _fail(400, "invalid_request", "body: a JSON object is required")
    maker = DOCUMENTS.get(str(body.get("item_code", "")))
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
    kiosk_id = _verified()
    if not isinstance(kiosk_id, str):
        return kiosk_id
    key = request.headers.get("Idempotency-Key", "").strip()
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
                              "kiosk_id": kiosk_id, "deliveries": 1}
    return jsonify({"rating_ref": ref, "follow_up": gbt_level >= 4, "duplicate": False}), 201


# -- admin (loopback only) ----------------------------------------------------------------------

admin = Blueprint("platform_admin", __name__, url_prefix="/admin")


@admin.before_request
def _loopback_only() -> Any:
    if request.remote_addr not in LOOPBACK:
        return _fail(403, "forbidden", "admin endpoints answer on loopback only")
    return None


@admin.post("/faults")
def set_faults() -> Any:
    data = _json_body()
    if data is None:
        return _fail(400, "invalid_request", "body: a JSON object is required")
    try:
        faults = Faults.from_json(data)
    except (TypeError, ValueError) as exc:
        return _fail(400, "invalid_request", str(exc))
    state = _state()
    with state.lock:
        state.faults = faults
    return jsonify(asdict(faults))


@admin.get("/faults")
def get_faults() -> Any:
    return jsonify(asdict(_state().faults))


@admin.get("/applications")
def list_applications() -> Any:
    state = _state()
    with state.lock:
        apps = [a.summary() for a in state.applications.values()]
        ratings = [{"idempotency_key": k, **{f: v for f, v in r.items()}} for k, r in state.ratings.items()]
    return jsonify({"applications": apps, "ratings": ratings, "count": len(apps),
                    "deliveries": sum(a["deliveries"] for a in apps)})


def _json_http_error(exc: HTTPException) -> Any:
    return _fail(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def create_platform_app(secret: str, *, faults: Faults | None = None, seed: int | None = None) -> Flask:
    """Build the simulator app; its memory is ``app.extensions["platform_sim"]`` (a :class:`SimState`)."""
    app = Flask(__name__)
    app.config.update(SIM_VERIFIER=Verifier(secret), MAX_CONTENT_LENGTH=16 * 1024 * 1024)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = SimState(faults, seed if seed is not None else secrets.randbits(32))
    app.register_blueprint(api)
    app.register_blueprint(admin)
    app.register_error_handler(HTTPException, _json_http_error)
    return app
