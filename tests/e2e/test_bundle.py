"""一件事 end to end through the real processes (``kiosk run --headless``: platform simulator, gateway,
app), driven by touches: 出生一件事 from the life events to its result. Asserted at the far ends: the
platform simulator received one application per item, each with the same bundle id and code and each
exactly once; the printer received one receipt listing every item's number. Then one department's
system is down at the platform: its item waits in the outbox and arrives, once, when it is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kiosk_rig import Finger, wait_for

from screens.demo_journeys import SAMPLE_VALUES

pytestmark = pytest.mark.timeout(400)

CODE = "birth"


def bundle_journey(f: Finger, on_result: Callable[[Finger], Any] | None = None) -> dict[str, Any]:
    """ID card, the life events, 出生一件事, one face check, one form, each material once, submit all;
    the result's view."""
    f.lay_card()
    f.wait_for("home")
    f.tap("browse:themes")
    f.wait_for("categories")
    f.tap_paged(f"bundle:{CODE}")
    intro = f.wait_for("bundle")["view"]
    f.tap("start")
    f.wait_for("consent")
    f.tap("consent")
    form = f.wait_for("form", 40)["view"]
    for field in form["fields"]:
        if field["locked"] or not field["required"]:
            continue
        if field["type"] == "choice":
            f.tap_paged(f"choice:{field['key']}:{field['choices'][0][0]}")
        elif field["type"] == "date":
            f.tap_paged(f"field:{field['key']}")
            f.tap("date:year:-1")
            f.tap("date:done")
        else:
            f.tap_paged(f"field:{field['key']}")
            f.type(SAMPLE_VALUES.get(field["type"], "测试"))
            if f.shows("kb:done"):
                f.tap("kb:done")
    f.tap_paged("next")
    materials = f.wait_for("materials")["view"]
    for i, optional in enumerate(materials["materials_optional"]):
        if optional:
            continue
        f.tap_paged(f"capture:{i}")
        f.wait_view(lambda v, i=i: (v.get("pages") or {}).get(str(i)), f"page {i} taken")
    f.tap_paged("next")
    review = f.wait_for("bundle_review")["view"]
    assert [p["code"] for p in review["parts"]] == [p["code"] for p in intro["parts"]]
    f.tap("submit")
    result: dict[str, Any] = f.wait_for("bundle_result", 90)["view"]
    if on_result is not None:
        result = on_result(f)
    f.tap("finish")
    f.wait_for("done")
    f.tap("rate:1")
    f.wait_for("thanks")
    f.tap("home")
    f.wait_for("attract")
    return {"intro": intro, "result": result}


def test_birth_bundle_arrives_as_one_application_per_item_with_one_bundle_id(kiosk, finger, catalog):
    before = len(kiosk.printer.jobs())
    seen = bundle_journey(finger)
    items = list(catalog.bundles[CODE].items)
    parts = seen["result"]["parts"]
    assert [p["code"] for p in parts] == items
    assert all(p["state"] == "accepted" and p["receipt_no"] for p in parts), parts
    receipts = {p["code"]: p["receipt_no"] for p in parts}
    for code, receipt in receipts.items():
        kiosk.at_platform(receipt)  # arrived, exactly once under its receipt number
    held = [a for a in kiosk.received()["applications"] if a.get("receipt_no") in set(receipts.values())]
    bundle_ids = {a["bundle_id"] for a in held}
    assert len(bundle_ids) == 1 and uuid.UUID(bundle_ids.pop())
    assert {a["bundle_code"] for a in held} == {CODE}
    assert sorted(a["item_code"] for a in held) == sorted(items)  # one per item, none twice
    assert all(a["deliveries"] == 1 for a in held)
    by_item = {a["item_code"]: a for a in held}
    for code in items:  # each item got its own share of the one form
        own = {f.key for f in catalog.get(code).fields}
        assert set(by_item[code]["fields"]) <= own and set(by_item[code]["fields"]) >= {
            f.key for f in catalog.get(code).fields if f.required}
    # 出生医学证明 was taken once and reached every item that needs it
    certificate = {code: [m["sha256"] for m in by_item[code]["body"]["materials"]]
                   for code in ("ga-csdj", "yb-xsecb", "yb-syfy")}
    assert set(certificate["ga-csdj"]) & set(certificate["yb-xsecb"]) & set(certificate["yb-syfy"])
    slip = b"".join(wait_for(lambda: kiosk.printer.jobs()[before:], 20, "the bundle's receipt"))
    text = slip.decode("gb18030", errors="replace")
    assert "一件事受理回执" in text
    assert all(receipt in text for receipt in receipts.values())  # one receipt, every item's number
    # The receipt's QR code, scanned at the terminal: every item of the bundle with its own status.
    finger.tap("progress")
    progress = finger.wait_for("progress_result", 60)["view"]
    names = [catalog.get(code).name.zh_CN for code in items]
    assert [name for name, _ in progress["progress_steps"]] == names, progress
    finger.tap("finish")
    finger.wait_for("home")
    finger.tap("exit")
    finger.wait_for("attract", 30)


def test_one_department_down_its_item_waits_and_all_arrive_once(kiosk, finger, catalog):
    kiosk.faults(down_departments=["ga"])  # 公安's system behind the platform is down

    def outage(f: Finger) -> dict[str, Any]:
        """On the result screen: 卫健's item delivered, 公安's waiting; then 公安 is back and all arrive."""
        def shown(view: dict[str, Any]) -> bool:
            delivery = {p["code"]: p["delivery"] for p in view["parts"]}
            return delivery["wj-sydj"] == "delivered" and delivery["ga-csdj"] in ("queued", "sending")
        during = f.wait_view(shown, "卫健 delivered and 公安 waiting, on the result screen", 30)
        time.sleep(3)  # retries (every ≤ 1 s here) keep meeting the department down
        receipt = next(p["receipt_no"] for p in during["parts"] if p["code"] == "ga-csdj")
        assert not [a for a in kiosk.received()["applications"] if a.get("receipt_no") == receipt]
        assert {p["delivery"] for p in f.view()["parts"] if p["code"] == "ga-csdj"} <= {"queued", "sending"}
        kiosk.faults()  # back up
        return f.wait_view(lambda v: {p["delivery"] for p in v["parts"]} == {"delivered"},
                           "every item delivered, on the result screen", 60)

    seen = bundle_journey(finger, outage)
    parts = seen["result"]["parts"]
    assert all(p["state"] == "accepted" for p in parts)  # stored at the gateway: each has its number
    receipts = {p["code"]: p["receipt_no"] for p in parts}
    for receipt in receipts.values():
        kiosk.at_platform(receipt, timeout_s=60)
    held = [a for a in kiosk.received()["applications"] if a.get("receipt_no") in set(receipts.values())]
    assert sorted(a["item_code"] for a in held) == sorted(catalog.bundles[CODE].items)
    assert len({a["bundle_id"] for a in held}) == 1 and all(a["deliveries"] == 1 for a in held)
