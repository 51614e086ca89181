"""Catalog bundles and their staged rollout, as the simulated platform serves them (issue 22).

Contract: ``docs/platform-openapi.yaml`` (``/v1/catalog/…``). A publisher uploads signed bundles
(``PUT /admin/catalog/bundles/<version>``, loopback only, the file's bytes as they are: a truncated or
badly signed one is served as uploaded, so refusals can be rehearsed) and sets a plan (``POST
/admin/catalog/plan`` ``{version, previous?, percent?, kiosks?}``): the terminals the plan targets (the
listed kiosk ids, or a stable ``percent`` of all by a hash of plan and kiosk id) are told ``version``,
the others ``previous`` (None: keep what they run). A terminal that reports the bundle ``invalid``
(``POST /v1/catalog/reports``) stops the plan: from then on every terminal is told ``previous`` (the
automatic rollback), and ``GET /admin/catalog/plan`` says who reported what.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from kiosk.crypto import sha256_hex
from local_api.sim.door import fail, guard, json_body, loopback_only

EXTENSION_KEY = "platform_sim_catalog"
REPORT_STATUSES = ("active", "invalid")
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


@dataclass
class RolloutPlan:
    """Which bundle goes where; ``state`` is rolling, or rolled_back after an ``invalid`` report."""

    version: str
    previous: str | None = None
    percent: float = 100.0
    kiosks: list[str] | None = None
    plan_id: str = ""
    state: str = "rolling"
    reason: str = ""
    rolled_back_by: str = ""

    def targets(self, kiosk_id: str) -> bool:
        if self.kiosks is not None:
            return kiosk_id in self.kiosks
        bucket = int(sha256_hex(f"{self.plan_id}\x1f{kiosk_id}".encode())[:8], 16) % 10000
        return bucket < self.percent * 100

    def version_for(self, kiosk_id: str) -> str | None:
        if self.state == "rolled_back" or not self.targets(kiosk_id):
            return self.previous
        return self.version


@dataclass
class BundleShelf:
    """The simulator's bundles, plan and the terminals' reports (kiosk id → the last report)."""

    bundles: dict[str, bytes] = field(default_factory=dict)
    plan: RolloutPlan | None = None
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    """Every report, in order (kiosk id, version, status, reason, at)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def shelf() -> BundleShelf:
    found: BundleShelf = current_app.extensions[EXTENSION_KEY]
    return found


catalog = Blueprint("platform_catalog", __name__)
guard(catalog)


@catalog.get("/v1/catalog/rollout")
def rollout() -> Any:
    """The bundle version this terminal should run (null: no rollout), with its SHA-256."""
    kiosk_id: str = g.kiosk_id
    books = shelf()
    with books.lock:
        plan = books.plan
        version = plan.version_for(kiosk_id) if plan else None
        data = books.bundles.get(version) if version else None
        plan_state = plan.state if plan else "none"
    return jsonify({"version": version, "sha256": sha256_hex(data) if data is not None else None,
                    "size": len(data) if data is not None else None, "plan_state": plan_state})


@catalog.get("/v1/catalog/bundles/<version>")
def bundle(version: str) -> Any:
    books = shelf()
    with books.lock:
        data = books.bundles.get(version)
    if data is None:
        return fail(404, "not_found", "no catalog bundle has this version")
    return Response(data, mimetype="application/gzip")


@catalog.post("/v1/catalog/reports")
def report() -> Any:
    """A terminal says which bundle it runs, or that one was refused (which rolls the plan back)."""
    kiosk_id: str = g.kiosk_id
    body = json_body()
    if body is None or not isinstance(body.get("version"), str) or body.get("status") not in REPORT_STATUSES:
        return fail(400, "invalid_request", f"body: {{version, status: {'|'.join(REPORT_STATUSES)}, reason?}}")
    reason = str(body.get("reason", ""))[:500]
    books = shelf()
    with books.lock:
        books.reports[kiosk_id] = {"version": body["version"], "status": body["status"], "reason": reason,
                                   "at": time.time()}
        books.history.append({"kiosk_id": kiosk_id, **books.reports[kiosk_id]})
        plan = books.plan
        if body["status"] == "invalid" and plan is not None and plan.version == body["version"] \
                and plan.state == "rolling":
            plan.state, plan.reason, plan.rolled_back_by = "rolled_back", reason, kiosk_id
        plan_state = plan.state if plan else "none"
    return jsonify({"received": True, "plan_state": plan_state})


catalog_admin = Blueprint("platform_catalog_admin", __name__, url_prefix="/admin/catalog")
catalog_admin.before_request(loopback_only)


@catalog_admin.put("/bundles/<version>")
def upload(version: str) -> Any:
    data = request.get_data()
    if not data or len(data) > MAX_BUNDLE_BYTES:
        return fail(400, "invalid_request", "body: the bundle file's bytes")
    books = shelf()
    with books.lock:
        books.bundles[version] = data
    return jsonify({"version": version, "sha256": sha256_hex(data), "size": len(data)}), 201


@catalog_admin.post("/plan")
def set_plan() -> Any:
    body = json_body()
    if body is None or not isinstance(body.get("version"), str):
        return fail(400, "invalid_request", "body: {version, previous?, percent?, kiosks?}")
    kiosks = body.get("kiosks")
    percent = body.get("percent", 100)
    if kiosks is not None and (not isinstance(kiosks, list) or not all(isinstance(k, str) for k in kiosks)):
        return fail(400, "invalid_request", "kiosks: a list of kiosk ids")
    if not isinstance(percent, (int, float)) or isinstance(percent, bool) or not 0 <= percent <= 100:
        return fail(400, "invalid_request", "percent: a number 0..100")
    previous = body.get("previous")
    books = shelf()
    with books.lock:
        plan = RolloutPlan(body["version"], previous if isinstance(previous, str) else None, float(percent),
                           kiosks, plan_id=f"{body['version']}@{time.time():.6f}")
        books.plan = plan
        return jsonify(asdict(plan)), 201


@catalog_admin.get("/plan")
def get_plan() -> Any:
    books = shelf()
    with books.lock:
        return jsonify({"plan": asdict(books.plan) if books.plan else None, "reports": dict(books.reports),
                        "history": list(books.history),
                        "bundles": sorted(books.bundles)})


def install(app: Flask) -> None:
    """Give the simulator app its catalog bundles and rollout plan."""
    app.extensions[EXTENSION_KEY] = BundleShelf()
    app.register_blueprint(catalog)
    app.register_blueprint(catalog_admin)
