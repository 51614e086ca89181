"""Which requests on the operators' door go into the audit (:mod:`local_api.ops.audit`), and as whom.

Run by the app's ``after_request`` hook: state-changing requests by endpoint (:data:`ACTIONS`),
failed token checks and throttled ones with the token id they claimed, and refusals. Reads are not
audited, nor is the kiosk app's own door (its submissions carry personal data).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import Response, g, request

from local_api.ops.audit import AuditError
from local_api.web.credentials import SESSION_COOKIE, Principal
from local_api.web.services import services

log = logging.getLogger(__name__)

_TOKEN_ID = re.compile(r"^kgw_([0-9a-f]{8})\.")

# What a state-changing request on the operators' door means, by Flask endpoint.
ACTIONS: dict[str, str] = {
    "auth.console_login": "login",
    "auth.console_logout": "logout",
    "ops_door.outbox_retry": "outbox_retry",
    "ops_door.device_test": "device_test",
    "ops_door.tokens_create": "token_created",
    "ops_door.tokens_revoke": "token_revoked",
    "ops_door.tokens_change": "token_changed",
    "console.service_set": "service_switch",
    "console.device_settings_put": "settings_changed",
    "helpdesk.desk_accept": "helpdesk_accept",
    "helpdesk.desk_point": "helpdesk_point",
    "helpdesk.desk_message": "helpdesk_message",
    "helpdesk.desk_end": "helpdesk_end",
}


def _claimed_token_id() -> str | None:
    """The token id a request claimed (the part before the secret), if it is well-formed."""
    header = request.headers.get("Authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
    if not token and request.endpoint == "auth.console_login":
        token = (request.form.get("token") if request.form else None) or ""
        if not token:
            body = request.get_json(silent=True)
            token = str(body.get("token", "")) if isinstance(body, dict) else ""
    match = _TOKEN_ID.match(token)
    return match.group(1) if match else None


def _refused_principal() -> Principal | None:
    """Who a refused (403) request was authenticated as, though the view never ran: its session
    (a form without its CSRF token) or its bearer token (a role too weak)."""
    svc = services()
    header = request.headers.get("Authorization", "")
    if header:
        tokens = svc.tokens
        token = header.partition(" ")[2].strip()
        return tokens.verify(token) if tokens is not None and header.lower().startswith("bearer ") else None
    sid = request.cookies.get(SESSION_COOKIE, "")
    return svc.sessions.get(sid) if sid else None


def _actor(status: int) -> dict[str, Any]:
    principal: Principal | None = g.get("principal") or (_refused_principal() if status == 403 else None)
    if principal is not None:
        return {"token_id": principal.token_id, "role": principal.role, "via": "cookie" if principal.via_cookie
                else "bearer"}
    return {"token_id": _claimed_token_id(), "address": request.remote_addr}


def audit_request(response: Response) -> None:
    """Record a finished request on the operators' door when it changed something or failed a check.

    Called by the app's ``after_request`` hook, before the principal is dropped. Reads are not
    audited; failed token checks (401) and throttled ones (429) are, with the token id they claimed.
    A view adds detail by setting ``g.audit_detail`` (and ``g.audit_target``). Never raises: an
    audit that cannot be written is logged loudly, and the answer already given stands.
    """
    endpoint = request.endpoint or ""
    if not endpoint or endpoint.startswith(("kiosk_door.", "screen.")) or endpoint == "static":
        return  # the kiosk app's own door (submissions carry personal data) and static files
    status = response.status_code
    changing = request.method not in ("GET", "HEAD", "OPTIONS")
    if status in (401, 429) and (request.headers.get("Authorization") or endpoint == "auth.console_login"):
        action = "throttled" if status == 429 else (
            "login_failed" if endpoint == "auth.console_login" else "auth_failed")
    elif changing and endpoint in ACTIONS:
        action = ACTIONS[endpoint]
    elif changing and status == 403:
        action = "refused"
    else:
        return
    audit = services().audit
    if action == "throttled":
        window = services().settings.gateway.auth_lockout_s
        if not audit.first_refusal(request.remote_addr or "unknown", window, time.monotonic()):
            return
    body = response.get_json(silent=True) if response.is_json else None
    outcome = "ok" if status < 400 else str((body or {}).get("error") or status)
    actor = _actor(status)
    if action == "login" and status == 200 and isinstance(body, dict):
        actor["role"] = body.get("role")
    target = g.get("audit_target") or next(iter((request.view_args or {}).values()), None)
    detail = g.get("audit_detail", "")
    if action == "device_test" and not detail:
        sent = request.get_json(silent=True)
        detail = f"action={sent.get('action', 'self_test')}" if isinstance(sent, dict) else ""
    if action in ("refused", "auth_failed") or (status >= 400 and not detail):
        detail = f"{request.method} {request.path}"
    try:
        audit.record(action, actor=actor, outcome=outcome, target=None if target is None else str(target),
                     detail=str(detail), where=request.remote_addr or "unknown")
    except AuditError as exc:
        log.error("audit: %s", exc)
