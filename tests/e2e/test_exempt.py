"""免申即办 and 数据互认 end to end: ``kiosk run --headless`` (platform simulator, gateway, app) driven by
touches; asserted at the far ends — what the platform simulator holds and received — and on what the
screen then says.

The test card laid here is the third sample card (F3): the simulator grants its holder 生育津贴 without
an application and holds her e-licences (local_api/sim/benefits.py).
"""

from __future__ import annotations

import time

import pytest
from kiosk_rig import KIOSK_ID, Finger, Kiosk, page_is_jpeg, wait_for

from devices.id_card.identity import sample_cards
from kiosk.catalog.loading import Catalog
from local_api.sim.benefits import GRANTED, LICENCES, licence_ref
from local_api.sim.services import id_hash
from screens.demo_journeys import SAMPLE_VALUES

pytestmark = pytest.mark.timeout(300)
HOLDER = sample_cards()[2]


LAID: list[float] = [0.0]  # when the card was last laid: the next waits until it was taken away


def lay_holders_card(f: Finger) -> None:
    """The third test card on the simulated reader (it stays on the pad 2 s, like a hand)."""
    time.sleep(max(0.0, LAID[0] + 3.0 - time.monotonic()))
    assert f.ask(op="key", key="F3")["ok"]
    LAID[0] = time.monotonic()


def calls(kiosk: Kiosk, path: str) -> int:
    return sum(1 for c in kiosk.received()["calls"] if c["path"] == path)


def leave(f: Finger) -> None:
    f.tap("exit")
    f.wait_for("attract", 30)


def test_the_notice_after_the_card_shows_what_the_platform_granted(kiosk: Kiosk, catalog: Catalog,
                                                                    finger: Finger) -> None:
    asked = calls(kiosk, "/v1/benefits/exempt")
    lay_holders_card(finger)
    view = finger.wait_for("exempt", 40)["view"]
    granted = GRANTED[id_hash(HOLDER.id_number)]
    assert calls(kiosk, "/v1/benefits/exempt") == asked + 1  # asked once, by the gateway, for this card
    shown = [(b["name"], b["status"], b["day"], b["amount"]) for b in view["benefits"]]
    assert shown == [(catalog.get(b["item_code"]).name.zh_CN, b["status"], b["granted_on"], b["amount"])
                     for b in granted]
    assert HOLDER.id_number not in kiosk.log() and "18600" not in kiosk.log()  # never logged
    finger.tap("continue")  # one touch on
    finger.wait_for("home")
    leave(finger)


def test_an_apply_item_takes_its_e_licence_from_the_library_and_submits_its_reference(
        kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    item = catalog.get("yb-syfy")  # 生育医疗费用报销: invoices (scanned) + 出生医学证明 (an e-licence)
    assert item is not None
    licence = next(i for i, m in enumerate(item.materials) if m.e_license)
    lay_holders_card(finger)
    finger.wait_for("exempt", 40)  # her benefit first (the test above), one touch on
    finger.tap("continue")
    finger.wait_for("home")
    finger.tap("search")
    finger.wait_for("search")
    finger.type(item.name.zh_CN)
    wait_for(lambda: finger.shows(f"detail:{item.code}"), 10, f"{item.code} among the search results")
    finger.tap(f"detail:{item.code}")
    detail = finger.wait_for("detail")["view"]
    assert detail["item_follow_ups"] == [catalog.get("yb-syjt").name.zh_CN]  # 办结后将自动为您办理…
    finger.tap("begin")
    finger.wait_for("consent")
    finger.tap("consent")
    finger.wait_for("form", 60)
    for f in item.fields:
        if not f.prefill:
            finger.tap_paged(f"field:{f.key}")  # a field further down: the resident turns the page
            finger.type(SAMPLE_VALUES.get(f.type, "测试"))
            if finger.shows("kb:done"):
                finger.tap("kb:done")
    finger.tap("next")
    finger.wait_for("materials")
    finger.wait_view(lambda v: (v.get("e_licences") or {}).get(str(licence)) == "fetched", "已调取电子证照", 30)
    assert not finger.shows(f"capture:{licence}")  # the camera asks only for what is missing
    paper = [i for i, m in enumerate(item.materials) if not m.e_license and not m.optional]
    for i in paper:
        finger.tap(f"capture:{i}")
        finger.wait_view(lambda v, i=i: (v.get("pages") or {}).get(str(i)), f"page {i} taken")
    pages = sum(int(n) for n in (finger.view().get("pages") or {}).values())
    finger.tap("next")
    finger.wait_for("review")
    finger.tap("submit")
    done = finger.wait_for("done", 40)["view"]
    receipt = done["receipt_no"]
    assert receipt.startswith(KIOSK_ID + "-")
    body = kiosk.at_platform(receipt)["body"]
    name = item.materials[licence].name.zh_CN
    assert name in LICENCES[id_hash(HOLDER.id_number)]
    assert body["form"]["e_licences"] == [{"material": name,
                                           "licence_ref": licence_ref(id_hash(HOLDER.id_number), name)}]
    assert len(body["materials"]) == pages and all(page_is_jpeg(p) for p in body["materials"])
    assert all(not p["name"].startswith(f"{licence}-") for p in body["materials"])  # no page of the licence
    assert {p["name"].split("-")[0] for p in body["materials"]} == {str(i) for i in paper}
    finger.tap("rate:1")
    finger.wait_for("thanks")
    finger.tap("home")
    finger.wait_for("attract")
