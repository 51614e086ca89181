"""Batch delivery (``POST /v1/submissions/batch``): a kiosk's backlog of stored submissions in one signed
request (contract: ``docs/platform-openapi.yaml``).

Each submission is handled in order exactly as its own endpoint handles it (the same checks, the same
idempotency store keyed by its own ``idempotency_key``, the same answer and status), so a batch is only
a cheaper envelope: delivering a submission in a batch or alone, once or again, gives the same result.
Handling stops after the first submission the platform cannot take now (408, 429 or 5xx), so a kiosk's
submissions never arrive out of order; the answer lists the handled ones only. The request as a whole
passes the platform's door once (faults, then the signature).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify

from local_api.sim.door import fail, guard, json_body

MAX_BATCH = 100
# type → the endpoint whose rules apply (its view in the core contract's blueprint)
ENDPOINTS = {"application": ("/v1/applications", "platform.submit_application"),
             "rating": ("/v1/ratings", "platform.submit_rating"),
             "help_request": ("/v1/help-requests", "platform.submit_help_request"),
             "report": ("/v1/reports", "platform.submit_report")}

batch = Blueprint("batch", __name__)
guard(batch)


def _problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "submissions: each entry must be an object {type, idempotency_key, body}"
    if item.get("type") not in ENDPOINTS:
        return f"submissions.type: must be one of {sorted(ENDPOINTS)}"
    key = item.get("idempotency_key")
    if not isinstance(key, str) or not key.strip() or len(key) > 128:
        return "submissions.idempotency_key: required (1-128 characters)"
    if not isinstance(item.get("body"), dict):
        return "submissions.body: a JSON object is required"
    return None


@batch.post("/v1/submissions/batch")
def submit_batch() -> Any:
    body = json_body()
    items = body.get("submissions") if body is not None else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        return fail(400, "invalid_request", f"submissions: a list of 1-{MAX_BATCH} submissions is required")
    for item in items:
        problem = _problem(item)
        if problem:
            return fail(400, "invalid_request", problem)
    kiosk_id: str = g.kiosk_id
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results = []
    for item in items:
        path, view = ENDPOINTS[item["type"]]
        data = json.dumps(item["body"], ensure_ascii=False).encode("utf-8")
        with app.test_request_context(path, method="POST", data=data, content_type="application/json",
                                      headers={"Idempotency-Key": item["idempotency_key"].strip()}):
            g.kiosk_id = kiosk_id  # the batch's signature vouches for every submission in it
            response = app.make_response(app.view_functions[view]())
        result: dict[str, Any] = {"idempotency_key": item["idempotency_key"], "status": response.status_code,
                                  "body": response.get_json(silent=True) or {}}
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            result["retry_after"] = int(retry_after)
        results.append(result)
        if response.status_code >= 500 or response.status_code in (408, 429):
            break  # the rest is not handled: the kiosk sends it again after this one, in order
    return jsonify({"results": results})
