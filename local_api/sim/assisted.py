"""The platform simulator's check of an assisted submission (帮办代办; ``Assisted`` in
``docs/platform-openapi.yaml``): 代办人 (a staff number), the consent's kind and time, and — for 代办 on
behalf of an absent resident — the 委托书 among the submission's materials. The simulator keeps the body as
received (``/admin/received``), so tests see 代办人 and the consent at the far end."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

STAFF_NO = re.compile(r"^[A-Za-z0-9-]{1,16}$")
CONSENT_KINDS = {"on_screen", "power_of_attorney"}


def assisted_problem(body: dict[str, Any]) -> str:
    """Why the body's ``assisted`` block is not acceptable ("" when it is, or when there is none)."""
    if "assisted" not in body:
        return ""
    a = body["assisted"]
    if not isinstance(a, dict):
        return "assisted: must be an object"
    if not isinstance(a.get("agent_staff_no"), str) or not STAFF_NO.match(a["agent_staff_no"]):
        return "assisted.agent_staff_no: a staff number (1-16 letters, digits or -) is required"
    consent = a.get("consent")
    if not isinstance(consent, dict) or consent.get("kind") not in CONSENT_KINDS:
        return f"assisted.consent.kind: must be one of {sorted(CONSENT_KINDS)}"
    try:
        at = datetime.fromisoformat(str(consent.get("at", "")))
    except ValueError:
        return "assisted.consent.at: an RFC 3339 time is required"
    if at.tzinfo is None:
        return "assisted.consent.at: the time needs its UTC offset"
    poa = a.get("power_of_attorney")
    if consent["kind"] == "power_of_attorney":
        names = {m.get("name") for m in body.get("materials", []) if isinstance(m, dict)}
        if not isinstance(poa, str) or poa not in names:
            return "assisted.power_of_attorney: must name the material holding the signed 委托书"
    elif poa is not None:
        return "assisted.power_of_attorney: only with consent power_of_attorney"
    return ""
