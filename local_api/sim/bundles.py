"""一件事 at the simulated platform: the optional ``bundle`` of an application (``{id, code}``: the
bundle journey's UUID and the bundle's code, the same on every item of one journey), and a department
that is down (``Faults.down_departments``: its applications answered 503, the others served)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Response

from local_api.sim.data import progress
from local_api.sim.door import fail
from local_api.sim.state import StoredApplication, state

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def bundle_refusal(body: dict[str, Any]) -> tuple[Response, int] | None:
    """The platform's answer refusing this application, or None to store it."""
    bundle = body.get("bundle")
    if bundle is not None:
        if not isinstance(bundle, dict) or set(bundle) != {"id", "code"}:
            return fail(422, "invalid_application", "bundle: must be {id, code}")
        if not isinstance(bundle["id"], str) or not UUID.match(bundle["id"]):
            return fail(422, "invalid_application", "bundle.id: must be a UUID")
        if not isinstance(bundle["code"], str) or not CODE.match(bundle["code"]):
            return fail(422, "invalid_application", "bundle.code: must be a bundle code")
    department = str(body.get("item_code", "")).split("-")[0]
    sim = state()
    with sim.lock:
        down = department in sim.faults.down_departments
    if down:
        return fail(503, "department_unavailable", f"simulated: the {department} department's system is down")
    return None


def bundle_progress(stored: StoredApplication) -> dict[str, Any]:
    """办件进度 of every item of the bundle ``stored`` came in (``{"bundle": {id, code, items}}``, in the
    order they arrived), so the bundle's QR code shows them all; {} for a single item."""
    bundle = stored.body.get("bundle")
    if not isinstance(bundle, dict):
        return {}
    sim = state()
    with sim.lock:
        siblings = [a for a in sim.applications.values()
                    if isinstance(a.body.get("bundle"), dict) and a.body["bundle"].get("id") == bundle.get("id")]
    items = []
    for a in siblings:
        answer = progress(a.kind, datetime.fromisoformat(a.received_at))
        items.append({"item_code": a.item_code, "receipt_no": a.body.get("receipt_no"),
                      "platform_ref": a.platform_ref, "status": answer["status"],
                      "status_text": answer["status_text"]})
    return {"bundle": {"id": bundle.get("id"), "code": bundle.get("code"), "items": items}}
