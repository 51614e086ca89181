"""The simulator's loopback-only ``/admin`` door: faults, what it holds, scripted identity checks, and
the government app's side of 扫码登录 (``/admin/signin-codes``: a code as the app would show it)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, jsonify

from local_api.sim.data import SIGNIN_LIFETIME_S, SIGNIN_MAX_LIFETIME_S
from local_api.sim.door import fail, json_body, loopback_only
from local_api.sim.services import IDENTITY_OUTCOMES, id_hash
from local_api.sim.state import Faults, state

# -- admin (loopback only) ----------------------------------------------------------------------

admin = Blueprint("platform_admin", __name__, url_prefix="/admin")


admin.before_request(loopback_only)


@admin.post("/faults")
def set_faults() -> Any:
    data = json_body()
    if data is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    try:
        faults = Faults.from_json(data)
    except (TypeError, ValueError) as exc:
        return fail(400, "invalid_request", str(exc))
    sim = state()
    with sim.lock:
        sim.faults = faults
    return jsonify(asdict(faults))


@admin.get("/faults")
def get_faults() -> Any:
    return jsonify(asdict(state().faults))


@admin.get("/applications")
def list_applications() -> Any:
    sim = state()
    with sim.lock:
        apps = [a.summary() for a in sim.applications.values()]
        ratings = [{"idempotency_key": k, **{f: v for f, v in r.items()}} for k, r in sim.ratings.items()]
        helps = [h.summary() for h in sim.help_requests.values()]
        reports = [r.summary() for r in sim.reports.values()]
        bookings = [{"idempotency_key": k, **b} for k, b in sim.bookings.items()]
    return jsonify({"applications": apps, "ratings": ratings, "help_requests": helps, "reports": reports,
                    "appointments": bookings, "count": len(apps),
                    "deliveries": sum(a["deliveries"] for a in apps)})


@admin.get("/received")
def received() -> Any:
    """Everything the kiosks sent, for tests and the demo at the far end: applications, help requests
    and reports with their bodies (materials as name, type, size and SHA-256), ratings, appointments,
    and the method and path of every call (documents, queries, identity checks … leave no body here).
    A simulator's test data only; loopback only like the rest of /admin."""
    sim = state()
    with sim.lock:
        return jsonify({"applications": [a.received() for a in sim.applications.values()],
                        "help_requests": [h.received() for h in sim.help_requests.values()],
                        "reports": [r.received() for r in sim.reports.values()],
                        "ratings": [{"idempotency_key": k, **r} for k, r in sim.ratings.items()],
                        "appointments": [{"idempotency_key": k, **b} for k, b in sim.bookings.items()],
                        # every request that reached the platform's door, in order (method and path only)
                        "calls": [{"method": method, "path": path} for _, method, path in sim.arrivals]})


@admin.post("/identity")
def script_identity() -> Any:
    """Script identity-check outcomes: ``{"default": outcome}`` and/or ``{"id_number": …, "outcome": …}``."""
    data = json_body()
    if data is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    sim = state()
    for key in ("default", "outcome"):
        if key in data and data[key] not in IDENTITY_OUTCOMES:
            return fail(400, "invalid_request", f"{key}: must be one of {sorted(IDENTITY_OUTCOMES)}")
    with sim.lock:
        if "default" in data:
            sim.identity_default = data["default"]
        if "outcome" in data:
            if not isinstance(data.get("id_number"), str):
                return fail(400, "invalid_request", "id_number: required with outcome")
            sim.identity_outcomes[id_hash(data["id_number"])] = data["outcome"]
        return jsonify({"default": sim.identity_default, "scripted": len(sim.identity_outcomes)})


@admin.post("/signin-codes")
def issue_signin_code() -> Any:
    """A sign-in code as the government app shows it: ``{expires_in_s?}`` (≤ 0: already expired, for
    rehearsing a refusal) → ``{code, expires_at, public_key}``. The code is a credential: never logged."""
    data = json_body()
    if data is None:
        data = {}
    unknown = set(data) - {"expires_in_s"}
    if unknown:
        return fail(400, "invalid_request", f"unknown field(s): {', '.join(sorted(unknown))}")
    lifetime = data.get("expires_in_s", SIGNIN_LIFETIME_S)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or \
            not -86_400 <= lifetime <= SIGNIN_MAX_LIFETIME_S:
        return fail(400, "invalid_request",
                    f"expires_in_s: a number of seconds up to {SIGNIN_MAX_LIFETIME_S}")
    signin = state().signin
    code, expires_at = signin.issue(float(lifetime))
    return jsonify({"code": code, "expires_at": expires_at, "public_key": signin.public_key}), 201


@admin.get("/signin-codes")
def signin_codes() -> Any:
    """How many codes the simulator holds and how many were redeemed, and its public key (no tokens)."""
    signin = state().signin
    return jsonify({**signin.counts(), "public_key": signin.public_key})
