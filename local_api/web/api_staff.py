"""Assisted mode (帮办代办) at the gateway: staff sign-in on the kiosk door, and the check that an assisted
submission names a staff member who may act.

- ``POST /api/v1/staff/signout``: the staff session ended (``ended`` or ``timeout``), audited beside the sign-in.
- ``POST /api/v1/staff/signin`` (the kiosk app alone, like the rest of the kiosk door): the helper token a
  scanned staff pass holds → ``{staff_no, token_id}``. Only a current token of the ``helper`` role whose
  label is a staff number (``POST /api/v1/tokens {"role": "helper", "label": "0427"}``; ``kiosk staff-pass``
  prints its pass) signs a staff member in;
  anything else is 401 ``staff_pass_refused``. Both are audited (the token id and staff number, never the
  token). The token is not kept: the app holds the staff number and the token id for its session.
- An assisted submission (``assisted`` in ``POST /api/v1/submissions``) is stored only while its
  ``staff_token_id`` is still a current helper token labelled ``agent_staff_no`` (403
  ``staff_not_current`` otherwise): a revoked or expired staff token submits nothing more, and 代办人
  is what the gateway vouched for, not what the app said. The stored and forwarded payload carries the
  ``assisted`` block (代办人, consent kind and time, the 委托书's material name); see
  ``docs/platform-openapi.yaml`` ``Assisted``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Response, jsonify

from local_api.ops.audit import AuditError
from local_api.web.bodies import AssistedBody, StaffSignInBody, StaffSignOutBody, parse
from local_api.web.credentials import TokenStore
from local_api.web.door import kiosk_door_refusal
from local_api.web.errors import Answer, error, error_answer, respond
from local_api.web.services import services

log = logging.getLogger(__name__)

STAFF_ROLE = "helper"
STAFF_NO = re.compile(r"^[A-Za-z0-9-]{1,16}$")

bp = Blueprint("staff_door", __name__)


@bp.before_request
def _kiosk_app_only() -> Any:
    return kiosk_door_refusal()  # loopback, own Host and Origin, the door secret, JSON bodies


def _audit(outcome: str, token_id: str | None, staff_no: str | None, action: str = "staff_signin",
           detail: str = "assisted mode") -> None:
    try:
        services().audit.record(action, actor={"kind": "kiosk", "token_id": token_id}, outcome=outcome,
                                target=staff_no, detail=detail, where="terminal")
    except AuditError as exc:
        log.error("audit: %s", exc)


@bp.post("/api/v1/staff/signin")
def staff_signin() -> Any:
    """A staff pass's helper token → the staff number it is labelled with (and the token id)."""
    body = parse(StaffSignInBody)
    store = services().tokens
    principal, _why = store.check(body.token) if store is not None else (None, "")
    if principal is None or principal.role != STAFF_ROLE or not STAFF_NO.match(principal.label):
        _audit("refused", principal.token_id if principal is not None else None, None)
        log.warning("a staff pass was refused (not a current helper token with a staff number)")
        return error(401, "staff_pass_refused", "此工作人员码无效或已停用 (not a current helper token labelled "
                     "with a staff number)")
    assert store is not None
    store.used(principal.token_id)
    _audit("ok", principal.token_id, principal.label)
    return jsonify({"staff_no": principal.label, "token_id": principal.token_id})


@bp.post("/api/v1/staff/signout")
def staff_signout() -> Any:
    """The staff session ended on the terminal (the staff member ended it, or its timeout): audited."""
    body = parse(StaffSignOutBody)
    _audit("ok", body.token_id, body.staff_no, action="staff_signout", detail=f"assisted mode: {body.reason}")
    return jsonify({"ok": True})


def assisted_refusal(assisted: AssistedBody | None) -> tuple[Response, int] | None:
    """403 when an assisted submission's staff token is no longer a current helper token of that staff
    number; None when it may be stored (or is not assisted)."""
    refused = assisted_refusal_answer(services().tokens, assisted)
    return None if refused is None else respond(refused)


def assisted_refusal_answer(store: TokenStore | None, assisted: AssistedBody | None) -> Answer | None:
    """:func:`assisted_refusal`, Flask-free: the tokens are ``store``."""
    if assisted is None:
        return None
    principal, _why = store.current(assisted.staff_token_id) if store is not None else (None, "")
    if principal is None or principal.role != STAFF_ROLE or principal.label != assisted.agent_staff_no:
        log.warning("an assisted submission was refused: staff token %s is not current for its staff number",
                    assisted.staff_token_id)
        return error_answer(403, "staff_not_current", "代办人的工作人员码已失效，未予保存 (the staff token is revoked, "
                            "expired or not this staff number's; nothing was stored)", field="assisted.staff_token_id")
    return None


def assisted_payload(assisted: AssistedBody | None) -> dict[str, Any]:
    """What an assisted submission adds to the stored (and forwarded) payload: ``{"assisted": …}``."""
    return {} if assisted is None else {"assisted": assisted.model_dump(mode="json")}
