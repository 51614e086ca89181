"""Assisted mode (帮办代办) end to end through the real processes (``kiosk run --headless``: platform
simulator, gateway, app) and the app's touch feed: a staff member signs in with a staff pass (a helper token
issued by a technician through the gateway, shown to the simulated QR camera), serves residents, and what
arrives at the platform simulator names the staff number as 代办人 with the resident's consent. With the
platform down, an assisted submission (a 委托书 captured for an absent resident) is queued and delivered
exactly once when the platform returns — as a grid worker's tablet does out of coverage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests
from kiosk_rig import Finger, Kiosk, page_is_jpeg, wait_for
from test_data_path import apply_until_review, open_print_item, rate

from kiosk.catalog.loading import Catalog
from kiosk.qrcodes import staff_pass_payload
from screens.demo_journeys import pick

pytestmark = pytest.mark.timeout(300)

STAFF_NO = "0427"


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    rig = Kiosk(tmp_path_factory.mktemp("assisted")).start()
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture(scope="module")
def staff_pass(kiosk: Kiosk) -> str:
    """A technician issues a helper token labelled with the staff number; its QR is the staff pass."""
    technician = (kiosk.tmp / "data" / "first-token.txt").read_text().strip()
    answer = requests.post(kiosk.gateway + "/api/v1/tokens", headers={"Authorization": f"Bearer {technician}"},
                           json={"role": "helper", "label": STAFF_NO}, timeout=10)
    assert answer.status_code == 201, answer.text
    return staff_pass_payload(answer.json()["token"])


@pytest.fixture
def finger(kiosk: Kiosk, staff_pass: str) -> Iterator[Finger]:
    """A staff member signed in on the attract screen."""
    kiosk.faults()
    f = kiosk.finger
    f.wait_for("attract", 60)
    assert f.ask(op="show_qr", text=staff_pass)["ok"]
    f.tap("staff:signin")
    f.wait_view(lambda v: v.get("staff_no") == STAFF_NO and v["screen"] == "home", "the staff member signed in")
    yield f
    kiosk.faults()
    if f.view().get("staff_no"):
        if f.screen() not in ("attract", "home"):
            f.tap("exit")
            f.wait_for("attract", 40)
        f.tap("staff:end")
    f.wait_view(lambda v: not v.get("staff_no") and v["screen"] == "attract", "the staff session ended", 40)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_the_resident_consents_and_the_platform_gets_the_staff_number_as_agent(kiosk: Kiosk, finger: Finger) -> None:
    finger.lay_card()
    finger.wait_view(lambda v: v.get("applicant_id"), "the resident's card read")
    open_print_item(finger)
    assert finger.view()["staff_no"] == STAFF_NO  # the banner on the resident's screens
    finger.tap("consent")
    look = finger.wait_for("assisted_consent", 60)
    assert {"assisted:consent", "assisted:poa"} <= {b["target"] for b in look["buttons"]}
    before = datetime.now().astimezone()
    finger.tap("assisted:consent")
    receipt = finger.wait_for("done", 60)["view"]["receipt_no"]
    held = kiosk.at_platform(receipt)
    assisted = held["body"]["assisted"]
    assert held["kind"] == "print_request" and assisted["agent_staff_no"] == STAFF_NO
    assert assisted["consent"]["kind"] == "on_screen" and assisted["power_of_attorney"] is None
    consented = datetime.fromisoformat(assisted["consent"]["at"])
    assert consented.tzinfo is not None and abs((consented - before).total_seconds()) < 60
    assert held["body"]["applicant"]["id_number"]  # the resident applies; the staff member assists
    rate(finger)
    # The resident's visit is over; the staff member is still signed in for the next one.
    assert finger.view()["staff_no"] == STAFF_NO


def test_offline_in_the_field_a_power_of_attorney_submission_is_queued_and_delivered_once(
        kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    kiosk.faults(error_rate=1.0, status=503)  # out of coverage: the platform answers nothing useful
    item = pick(catalog, "apply", ("id_card",), materials=True)
    entered, pages = apply_until_review(finger, item)
    finger.tap("submit")
    finger.wait_for("assisted_consent")
    finger.tap("assisted:poa")
    finger.tap("assisted:capture")
    finger.wait_view(lambda v: v.get("poa_preview"), "the 委托书 captured")
    wait_for(lambda: finger.shows("assisted:poa_submit"), 10, "the 委托书's preview and its submit button drawn")
    finger.tap("assisted:poa_submit")
    receipt = finger.wait_for("done", 60)["view"]["receipt_no"]
    time.sleep(1.5)
    assert not [a for a in kiosk.received()["applications"] if a.get("receipt_no") == receipt]
    assert kiosk.outbox().get("queued", 0) + kiosk.outbox().get("sending", 0) >= 1
    kiosk.faults()  # back in coverage
    held = kiosk.at_platform(receipt, timeout_s=60)  # exactly one of it
    wait_for(lambda: kiosk.outbox().get("queued", 0) + kiosk.outbox().get("sending", 0) == 0, 60, "the outbox drained")
    again = [a for a in kiosk.received()["applications"] if a.get("receipt_no") == receipt]
    assert len(again) == 1 and again[0]["deliveries"] == 1, again
    body = held["body"]
    assert body["assisted"]["agent_staff_no"] == STAFF_NO
    assert body["assisted"]["consent"]["kind"] == "power_of_attorney"
    poa = [m for m in body["materials"] if m["name"] == body["assisted"]["power_of_attorney"]]
    assert len(poa) == 1 and page_is_jpeg(poa[0]) and len(body["materials"]) == pages + 1
    assert all(body["form"].get(k) == v for k, v in entered.items())
    rate(finger)


def test_ending_the_staff_session_leaves_nothing_of_it(kiosk: Kiosk, finger: Finger) -> None:
    finger.lay_card()
    finger.wait_view(lambda v: v.get("applicant_id"), "the resident's card read")
    finger.tap("staff:end")
    look = finger.wait_for("attract")
    summary = ("staff_no", "applicant_name", "applicant_id", "identity_source", "item_code", "receipt_no")
    assert not any(look["view"][key] for key in summary), look["view"]
    assert any(b["target"] == "staff:signin" for b in look["buttons"])
    # The gateway's audit holds the staff session's start and end: the staff number, never the pass.
    audit = kiosk.tmp / "data" / "audit.jsonl"
    wait_for(lambda: '"staff_signout"' in audit.read_text(), 20, "the end of the staff session audited")
    records = [json.loads(line) for line in audit.read_text().splitlines() if '"staff_sign' in line]
    assert {r["action"] for r in records} == {"staff_signin", "staff_signout"}
    assert all(r["target"] == STAFF_NO for r in records if r["outcome"] == "ok")
