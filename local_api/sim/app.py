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

import json
import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from kiosk.crypto import SUITES, sha256_hex
from local_api.link.signing import Verifier
from local_api.sim.admin import admin
from local_api.sim.assisted import assisted_problem
from local_api.sim.batch import batch
from local_api.sim.benefits import benefits
from local_api.sim.bundles import bundle_refusal
from local_api.sim.catalog_bundles import install as install_catalog_bundles
from local_api.sim.data import ItemInfo, document_maker, load_catalog_items
from local_api.sim.door import VERIFIER_KEY, applicant_problem, fail, guard, json_body, now_iso
from local_api.sim.pages import pages
from local_api.sim.payments import install as install_payments
from local_api.sim.services import services
from local_api.sim.state import EXTENSION_KEY, Faults, SimState, StoredApplication, state

DIRECTIONS = {"gbt39046", "gbt39046_reversed"}  # some provincial interfaces count 1 = 非常不满意


def _digest(body: dict[str, Any]) -> str:
    return sha256_hex(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())


# -- the platform API ------------------------------------------------------------------------------

api = Blueprint("platform", __name__)
guard(api)


@api.get("/health")
def health() -> Any:
    return jsonify({"status": "ok", "time": now_iso()})


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    return key if key and len(key) <= 128 else None


def _store_once(store: dict[str, StoredApplication], kiosk_id: str, key: str, body: dict[str, Any],
                prefix: str, ref_field: str) -> Any:
    """Keep ``body`` under ``key`` once: 201 the first time, 200 with the same reference after."""
    sim = state()
    digest = _digest(body)
    with sim.lock:
        stored = store.get(key)
        if stored is not None:
            if stored.body_digest != digest:
                return fail(422, "idempotency_conflict", "Idempotency-Key was used with a different body")
            stored.deliveries += 1
            return jsonify({ref_field: stored.platform_ref, "status": "received", "duplicate": True}), 200
        ref = f"{prefix}{datetime.now():%Y%m%d}{sim.next_serial():06d}"
        store[key] = StoredApplication(
            idempotency_key=key, platform_ref=ref, kind=str(body.get("kind", "")),
            item_code=str(body.get("item_code") or ""), kiosk_id=kiosk_id, received_at=now_iso(),
            body_digest=digest, body=body)
    return jsonify({ref_field: ref, "status": "received", "duplicate": False}), 201


def _signed_submission() -> tuple[str, str, dict[str, Any]] | tuple[Response, int]:
    kiosk_id: str = g.kiosk_id
    key = _idempotency_key()
    if key is None:
        return fail(400, "invalid_request", "Idempotency-Key header is required (1-128 characters)")
    body = json_body()
    if body is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    return kiosk_id, key, body


@api.post("/v1/applications")
def submit_application() -> Any:
    checked = _signed_submission()
    if len(checked) == 2:
        return checked
    kiosk_id, key, body = checked
    for name in ("kind", "item_code"):
        if not isinstance(body.get(name), str) or not body[name]:
            return fail(400, "invalid_request", f"{name}: required field is missing")
    problem = applicant_problem(body.get("applicant"))
    if problem:
        return fail(422, "invalid_application", problem)
    problem = assisted_problem(body)  # 帮办代办: 代办人 and the consent (local_api/sim/assisted.py)
    if problem:
        return fail(422, "invalid_application", problem)
    materials = body.get("materials", [])
    if not isinstance(materials, list) or not all(isinstance(m, dict) and isinstance(m.get("data"), str)
                                                  for m in materials):
        return fail(422, "invalid_application", "materials: must be a list of {name, content_type, data}")
    refused = bundle_refusal(body)  # 一件事: an optional {id, code}; a department that is down answers 503
    if refused is not None:
        return refused
    return _store_once(state().applications, kiosk_id, key, body, "HCZW", "platform_ref")


HELP_NEEDS = {"grid_worker", "appointment", "home_visit", "remote_desk", "callback"}
REPORT_CATEGORIES = {"cannot_handle", "too_slow", "attitude", "system_fault", "other"}


@api.post("/v1/help-requests")
def submit_help_request() -> Any:
    checked = _signed_submission()
    if len(checked) == 2:
        return checked
    kiosk_id, key, body = checked
    if body.get("need") not in HELP_NEEDS:
        return fail(422, "invalid_help_request", f"need: must be one of {sorted(HELP_NEEDS)}")
    return _store_once(state().help_requests, kiosk_id, key, body, "HCBB", "help_ref")


@api.post("/v1/reports")
def submit_report() -> Any:
    checked = _signed_submission()
    if len(checked) == 2:
        return checked
    kiosk_id, key, body = checked
    if body.get("category") not in REPORT_CATEGORIES:
        return fail(422, "invalid_report", f"category: must be one of {sorted(REPORT_CATEGORIES)}")
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        return fail(422, "invalid_report", "text: required field is missing")
    return _store_once(state().reports, kiosk_id, key, body, "HCFY", "report_ref")


@api.get("/v1/applications/<idempotency_key>")
def get_application(idempotency_key: str) -> Any:
    sim = state()
    with sim.lock:
        stored = sim.applications.get(idempotency_key)
        summary = stored.summary() if stored else None
    if summary is None:
        return fail(404, "not_found", "no application has this idempotency key")
    return jsonify(summary)


@api.post("/v1/documents")
def fetch_document() -> Any:
    body = json_body()
    if body is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    maker = document_maker(str(body.get("item_code", "")), state().items)
    if maker is None:
        return fail(404, "unknown_item", "the platform issues no document for this item_code")
    problem = applicant_problem(body.get("applicant"))
    if problem:
        return fail(400, "invalid_request", problem)
    sim = state()
    serial = sim.next_serial()
    with sim.lock:
        return jsonify(maker(body["applicant"], serial, sim.rng))


@api.post("/v1/ratings")
def submit_rating() -> Any:
    kiosk_id: str = g.kiosk_id
    key = _idempotency_key()
    body = json_body()
    if not key or body is None:
        return fail(400, "invalid_request", "Idempotency-Key header and a JSON object body are required")
    level, direction = body.get("level"), body.get("direction")
    if direction not in DIRECTIONS:
        return fail(422, "invalid_rating", f"direction: must be one of {sorted(DIRECTIONS)}")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        return fail(422, "invalid_rating", "level: must be an integer 1..5")
    if not isinstance(body.get("transaction_key"), str):
        return fail(422, "invalid_rating", "transaction_key: required field is missing")
    gbt_level = level if direction == "gbt39046" else 6 - level
    sim = state()
    with sim.lock:
        stored = sim.ratings.get(key)
        if stored is not None:
            stored["deliveries"] += 1
            return jsonify({"rating_ref": stored["rating_ref"], "duplicate": True}), 200
        ref = f"HCPJ{datetime.now():%Y%m%d}{sim.next_serial():06d}"
        sim.ratings[key] = {"rating_ref": ref, "transaction_key": body["transaction_key"],
                            "level_gbt39046": gbt_level, "follow_up": gbt_level >= 4,
                            "kiosk_id": kiosk_id, "deliveries": 1, "receipt_no": body.get("receipt_no"),
                            "level": level, "direction": direction, "has_text": bool(body.get("text"))}
    return jsonify({"rating_ref": ref, "follow_up": gbt_level >= 4, "duplicate": False}), 201


def _json_http_error(exc: HTTPException) -> Any:
    return fail(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def create_platform_app(secret: str, *, faults: Faults | None = None, seed: int | None = None,
                        items: dict[str, ItemInfo] | None = None, suite: str | None = None) -> Flask:
    """Build the simulator app; its memory is ``app.extensions["platform_sim"]`` (a :class:`SimState`).

    ``items``: the catalog the simulator answers for (default: the packaged catalog). ``suite``: the
    platform's crypto suite (``security.suite``): it accepts only that suite's request signatures and signs
    sign-in codes with its algorithm; None accepts both signatures (a platform while its kiosks switch)
    and signs sign-in codes with Ed25519.
    """
    app = Flask(__name__)
    app.config.update({VERIFIER_KEY: Verifier(secret, suites=SUITES if suite is None else (suite,)), "MAX_CONTENT_LENGTH": 16 * 1024 * 1024})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    catalog = load_catalog_items() if items is None else items
    app.extensions[EXTENSION_KEY] = SimState(faults, seed if seed is not None else secrets.randbits(32), catalog,
                                              suite=suite or "intl")
    app.register_blueprint(api)
    app.register_blueprint(batch)  # POST /v1/submissions/batch: a backlog in one request
    app.register_blueprint(services)
    app.register_blueprint(benefits)  # 免申即办 and 数据互认
    app.register_blueprint(admin)
    install_payments(app)  # 统一公共支付平台: /v1/payments and /admin/payments
    install_catalog_bundles(app)  # signed catalog bundles and their staged rollout (issue 22)
    app.register_blueprint(pages)  # public: the 好差评 page a receipt's QR code opens
    app.register_error_handler(HTTPException, _json_http_error)
    return app
