"""Assisted mode's side of the terminal: a scanned staff pass checked by the gateway.

A staff pass (:class:`kiosk.qrcodes.StaffPass`) holds a gateway ``helper`` token. The gateway alone can
say whether it is current (``POST /api/v1/staff/signin`` on the loopback kiosk door, which also audits
the sign-in); it answers the staff number (the token's label) and the token id, and the flow starts the
staff session (:mod:`kiosk.flow.assisted`). The token is a credential: never logged, never kept — the
flow gets only the staff number and the token id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from kiosk import flow
from kiosk.flow.assisted import STAFF_NO_PATTERN
from kiosk.qrcodes import StaffPass
from local_api.client import GatewayError, GatewayUnavailable

log = logging.getLogger(__name__)

VerifyStaff = Callable[[str], "tuple[str, str] | str"]
"""A staff pass's token → ``(staff number, token id)``, or the message key saying why not."""


def verify(gateway: Any, token: str) -> tuple[str, str] | str:
    """Ask the gateway whether ``token`` is a current helper token; its staff number and id, or why not."""
    try:
        answer = gateway.staff_signin(token)
    except GatewayUnavailable as exc:
        log.warning("staff sign-in not possible: %s", exc.technician)
        return "staff_pass_unavailable"
    except GatewayError as exc:
        status = getattr(exc, "status", 0)
        if status in (401, 403):
            return "staff_pass_refused"
        log.warning("staff sign-in not possible: the gateway answered HTTP %s", status)
        return "staff_pass_unavailable"
    staff_no, token_id = str(answer.get("staff_no", "")), str(answer.get("token_id", ""))
    if not re.match(STAFF_NO_PATTERN, staff_no) or not token_id:
        return "staff_pass_refused"
    return staff_no, token_id


def answer(effect: flow.ScanQr, payload: Any, check: VerifyStaff | None) -> flow.Event:
    """What a code read during a scan means for the staff sign-in (``effect.purpose == "staff"``), or a
    staff pass read during another scan."""
    if not isinstance(payload, StaffPass):
        return flow.ScanFailed(effect.scan_id, "staff_pass_expected")
    if effect.purpose != "staff":
        return flow.ScanFailed(effect.scan_id, "qr_wrong_kind_staff")
    if check is None:
        return flow.ScanFailed(effect.scan_id, "staff_pass_unavailable")
    found = check(payload.token)
    if isinstance(found, str):
        return flow.ScanFailed(effect.scan_id, found)
    staff_no, token_id = found
    log.info("staff member %s signed in (assisted mode)", staff_no)
    return flow.StaffSignedIn(effect.scan_id, staff_no, token_id)
