"""What every simulator request passes through and answers with.

:func:`guard` gives a blueprint the platform's door: injected faults first (as the network would
misbehave), then the kiosk's request signature, and afterwards, for a served request, a dropped
connection or a failure reported after serving. The blueprints of the core contract
(:mod:`local_api.sim.app`) and of the online-only services (:mod:`local_api.sim.services`) use it;
the ``/admin`` door (:mod:`local_api.sim.admin`) is loopback-only instead. The small helpers below
are the answers and checks all of them share.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from local_api.link.signing import SignatureError, suite_of
from local_api.sim.state import state

LOOPBACK = frozenset({"127.0.0.1", "::1"})
VERIFIER_KEY = "SIM_VERIFIER"  # app.config: the local_api.link.signing.Verifier with the shared secret


def now_iso() -> str:
    """Now, as the platform dates its answers."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def fail(status: int, error: str, reason: str) -> tuple[Response, int]:
    """The platform's error answer ``{error, reason}``."""
    return jsonify({"error": error, "reason": reason}), status


def json_body() -> dict[str, Any] | None:
    """The request's body when it is a JSON object, else None."""
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else None


def applicant_problem(applicant: Any) -> str | None:
    """What is wrong with an ``applicant`` object (its name and ID number are required), or None."""
    if not isinstance(applicant, dict):
        return "applicant: required object is missing"
    for key in ("name", "id_number"):
        if not isinstance(applicant.get(key), str) or not applicant[key]:
            return f"applicant.{key}: required field is missing"
    return None


def applicant_request() -> tuple[dict[str, Any] | None, Any]:
    """The request's JSON object with its applicant checked: ``(body, None)``, or ``(None, the 400 answer)``."""
    body = json_body()
    if body is None:
        return None, fail(400, "invalid_request", "body: a JSON object is required")
    problem = applicant_problem(body.get("applicant"))
    if problem:
        return None, fail(400, "invalid_request", problem)
    return body, None


def _inject_faults() -> tuple[Response, int] | None:
    sim = state()
    with sim.lock:
        faults = sim.faults
        sim.requests += 1
        sim.arrivals.append((time.monotonic(), request.method, request.path))
        failing = faults.error_rate > 0 and sim.rng.random() < faults.error_rate
    if faults.latency_s > 0:
        time.sleep(faults.latency_s)
    if faults.hang_s > 0:
        time.sleep(faults.hang_s)
    if failing:
        response, status = fail(faults.status, "injected_fault", f"simulated HTTP {faults.status}")
        if faults.retry_after_s is not None:
            response.headers["Retry-After"] = str(round(faults.retry_after_s))
        return response, status
    g.drop = faults.drop
    g.duplicate = faults.duplicate
    return None


def _maybe_drop(response: Response) -> Response:
    if g.get("duplicate") and response.status_code < 400:
        # Served and stored, but the kiosk is told it failed: it will deliver the same request again.
        response, _ = fail(503, "injected_fault", "simulated HTTP 503 after serving (duplicate delivery)")
        response.status_code = 503
        return response
    if g.get("drop"):
        # Declare the full length, send half: the server closes the connection and the client
        # sees a broken answer after the request was served (the case idempotency exists for).
        body = response.get_data()
        response.set_data(body[: len(body) // 2])
        response.headers["Content-Length"] = str(len(body))
    return response


def _require_signature() -> tuple[Response, int] | None:
    """Every /v1 call must be signed by a kiosk; its id is kept in ``g.kiosk_id`` for the view."""
    if not request.path.startswith("/v1/"):
        return None
    body = request.get_data(cache=True)
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    try:
        g.kiosk_id = current_app.config[VERIFIER_KEY].verify(request.method, path, request.headers, body)
    except SignatureError as exc:
        return fail(401, "bad_signature", str(exc))
    sim = state()
    with sim.lock:  # which suite each verified request was signed in (a switch's progress, for tests)
        suite = suite_of(request.headers) or "?"
        sim.signed_with[suite] = sim.signed_with.get(suite, 0) + 1
    return None


def guard(bp: Blueprint) -> None:
    """Give ``bp`` the platform's door: faults, then the signature; a served answer may be dropped."""
    bp.before_request(_inject_faults)
    bp.before_request(_require_signature)
    bp.after_request(_maybe_drop)


def loopback_only() -> Any:
    """``before_request`` of the simulator's ``/admin`` doors: 403 unless the caller is on loopback."""
    if request.remote_addr not in LOOPBACK:
        return fail(403, "forbidden", "admin endpoints answer on loopback only")
    return None
