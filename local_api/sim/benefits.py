"""The simulator's 免申即办 and 数据互认 answers (contract: ``docs/platform-openapi.yaml``).

- ``POST /v1/benefits/exempt``: benefits granted (or due) to the applicant without an application.
- ``POST /v1/e-licences``: which of an item's materials the e-licence library holds for the applicant,
  as licence references (the library keeps the documents; a reference is all that travels).

Both answer from TEST data only, for the sample identities of ``devices/id_card/identity.py``
(remembered by the hash of their number, like every scripted identity here): anyone else has no benefit
and no licence.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from local_api.sim.door import applicant_request, fail, guard
from local_api.sim.services import id_hash
from local_api.sim.state import state

benefits = Blueprint("platform_benefits", __name__)
guard(benefits)  # the same door as the core contract

# TEST identities (never real people): 陈美玲 (a mother: the third sample card, F3 on a simulated reader)
# and 王五 (retires in 2030). The first sample card (张三), which most journeys and tests lay, has neither
# benefits nor licences here: their journeys stay as they were.
CHEN_MEILING, WANG_WU = "830000199203140026", "350205197005200058"
GRANTED: dict[str, tuple[dict[str, Any], ...]] = {
    id_hash(CHEN_MEILING): (
        {"item_code": "yb-syjt", "title": "生育津贴", "status": "granted", "granted_on": "2026-03-20",
         "amount": "18600.00", "period": "once", "decision_no": "YBSJ2026000456"},
    ),
    id_hash(WANG_WU): (
        {"item_code": "yb-zzzt", "title": "医保在职转退休", "status": "due", "due_on": "2030-06-01"},
    ),
}
# The e-licence library: material name → issuer, per TEST identity.
LICENCES: dict[str, dict[str, str]] = {
    id_hash(CHEN_MEILING): {"出生医学证明": "厦门市卫生健康委员会", "居民户口簿": "厦门市公安局", "结婚证": "厦门市海沧区民政局",
                            "数字相片回执": "厦门市公安局"},
}
MAX_MATERIALS = 20


@benefits.post("/v1/benefits/exempt")
def exempt_benefits() -> Any:
    body, refused = applicant_request()
    if body is None:
        return refused
    granted = GRANTED.get(id_hash(str(body["applicant"]["id_number"])), ())
    return jsonify({"benefits": [dict(b) for b in granted]})


@benefits.post("/v1/e-licences")
def e_licences() -> Any:
    body, refused = applicant_request()
    if body is None:
        return refused
    code, materials = body.get("item_code"), body.get("materials")
    if not isinstance(code, str) or code not in state().items:
        return fail(404, "unknown_item", "the platform knows no item with this item_code")
    if not isinstance(materials, list) or not materials or len(materials) > MAX_MATERIALS \
            or not all(isinstance(m, str) and m for m in materials):
        return fail(400, "invalid_request", f"materials: 1 to {MAX_MATERIALS} material names")
    holder = id_hash(str(body["applicant"]["id_number"]))
    held = LICENCES.get(holder, {})
    found = [{"material": name, "licence_ref": licence_ref(holder, name), "issuer": held[name]}
             for name in dict.fromkeys(materials) if name in held]
    return jsonify({"licences": found})


def licence_ref(holder: str, material: str) -> str:
    """A licence's reference in the library: stable per holder and material, no personal data in it."""
    return "DZZZ-" + id_hash(holder + "/" + material)[:16].upper()
