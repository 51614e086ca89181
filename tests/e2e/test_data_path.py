"""End to end through the real processes: ``kiosk run --headless`` (platform simulator, gateway, app),
driven by touches on the app's screen; every assertion is made at a far end — what the platform
simulator received, what the TCP printer received — or on what the screen then says.

One kiosk serves the whole module (starting one costs seconds); each test is one resident's visit
and leaves the kiosk on the attract screen. The item of each kind is the one ``kiosk demo`` picks.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from kiosk_rig import KIOSK_ID, Finger, Kiosk, page_is_jpeg, wait_for

from kiosk.catalog.loading import Catalog, ServiceItem
from screens.demo_journeys import DEMO_ITEM, SAMPLE_VALUES, pick

pytestmark = pytest.mark.timeout(300)


def find(f: Finger, item: ServiceItem) -> None:
    f.tap("search")
    f.wait_for("search")
    f.type(item.name.get("zh_CN"))
    wait_for(lambda: f.shows(f"detail:{item.code}"), 10, f"{item.code} among the search results")
    f.tap(f"detail:{item.code}")
    f.wait_for("detail")


def start_with_card(f: Finger) -> None:
    f.lay_card()
    f.wait_for("home")


def begin_with_card(f: Finger, item: ServiceItem) -> None:
    """ID card at the attract screen, the item found by search, 开始办理."""
    start_with_card(f)
    find(f, item)
    f.tap("begin")


def open_print_item(f: Finger) -> None:
    """The certificate item from home, to its consent. Right after a test that took the platform away the
    item may still show as unavailable (the app hears the platform is back with its next heartbeat, 5 s):
    then back, and try again, as a resident would."""
    def consent() -> bool:
        f.tap(f"item:{DEMO_ITEM}")
        look = wait_for(lambda: (x := f.look())["screen"] in ("consent", "detail") and x, 20, "consent or detail")
        if look["screen"] == "consent":
            return True
        # Its detail: the item was unavailable when touched (it may be back already, on a busy machine).
        f.tap("back")
        f.wait_for("home")
        time.sleep(1)
        return False
    wait_for(consent, 40, f"{DEMO_ITEM} to be available")


def rate(f: Finger, level: int = 1) -> None:
    f.tap(f"rate:{level}")
    f.wait_for("thanks")
    f.tap("home")
    f.wait_for("attract")


def printed_since(kiosk: Kiosk, before: int, timeout_s: float = 20) -> bytes:
    jobs = wait_for(lambda: kiosk.printer.jobs()[before:], timeout_s, "a slip at the printer")
    return b"".join(jobs)


def fill_form(f: Finger, item: ServiceItem) -> dict[str, str]:
    """Every field the card did not fill, as a resident would; returns what was entered by key."""
    entered: dict[str, str] = {}
    for field in item.fields:
        if field.prefill:
            continue
        if field.type == "choice":
            f.tap(f"choice:{field.key}:{field.choices[0].value}")
            entered[field.key] = field.choices[0].value
        elif field.required:
            value = SAMPLE_VALUES.get(field.type, "测试")
            f.tap(f"field:{field.key}")
            f.type(value)
            if f.shows("kb:done"):
                f.tap("kb:done")
            entered[field.key] = value
    return entered


def apply_until_review(f: Finger, item: ServiceItem) -> tuple[dict[str, str], int]:
    """Card, item, form, every material's pages: returns the entries and the pages confirmed."""
    begin_with_card(f, item)
    f.wait_for("form")
    entered = fill_form(f, item)
    f.tap("next")
    f.wait_for("materials")
    for i, material in enumerate(item.materials):  # optional ones too: a resident may bring them
        if material.optional and not f.shows(f"capture:{i}"):
            continue
        f.tap(f"capture:{i}")
        f.wait_view(lambda v, i=i: (v.get("pages") or {}).get(str(i)), f"page {i} taken")
    pages = sum(int(n) for n in (f.view().get("pages") or {}).values())
    f.tap("next")
    f.wait_for("review")
    return entered, pages


# -- one per item kind -------------------------------------------------------------------------

def test_apply_delivers_every_field_and_every_confirmed_page(kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    """Caught the scanned-materials loss: pages were confirmed on screen and never left the app."""
    item = pick(catalog, "apply", ("id_card",), materials=True)
    before = len(kiosk.printer.jobs())
    entered, pages = apply_until_review(finger, item)
    assert pages >= 1
    finger.tap("submit")
    done = finger.wait_for("done", 40)["view"]
    receipt = done["receipt_no"]
    assert receipt.startswith(KIOSK_ID + "-")
    held = kiosk.at_platform(receipt)
    body = held["body"]
    assert held["kind"] == "application" and held["item_code"] == item.code
    for key, value in entered.items():
        assert body["form"].get(key) == value, f"form field {key} at the platform"
    assert len(body["materials"]) == pages, "every page the resident confirmed is at the platform"
    assert all(page_is_jpeg(p) for p in body["materials"]) and len({p["sha256"] for p in body["materials"]}) == pages
    assert body["applicant"]["name"] and len(body["applicant"]["id_number"]) == 18
    slip = printed_since(kiosk, before)
    assert receipt.encode() in slip, "the printed receipt carries the receipt number"
    rate(finger, 2)
    rating = wait_for(lambda: [r for r in kiosk.received()["ratings"] if r.get("transaction_key") == receipt], 30,
                      "the rating at the platform")
    # rate:2 is 满意 (GB/T 39046: 1 非常满意 … 5 非常不满意), as the resident touched it
    assert len(rating) == 1 and rating[0]["level"] == 2 and rating[0]["direction"] == "gbt39046", rating


def test_print_item_prints_the_certificate_and_the_platform_holds_the_request(
        kiosk: Kiosk, finger: Finger) -> None:
    before = len(kiosk.printer.jobs())
    start_with_card(finger)
    open_print_item(finger)
    finger.tap("consent")
    view = finger.wait_for("done", 60)["view"]
    assert view.get("printed") is True
    receipt = view["receipt_no"]
    held = kiosk.at_platform(receipt)
    assert held["kind"] == "print_request" and held["item_code"] == DEMO_ITEM
    assert receipt.encode() in printed_since(kiosk, before)
    rate(finger)


def test_guide_prints_the_guide_sheet(kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    item = pick(catalog, "guide", ("none",))
    before = len(kiosk.printer.jobs())
    finger.tap("start")
    finger.wait_for("home")
    find(finger, item)
    finger.tap("begin")
    assert finger.wait_for("done")["view"].get("printed") is True
    paper = printed_since(kiosk, before)
    assert len(paper) > 200
    # The guide's sections arrived in GB18030, titled once, with no 办件编号 (issue 20).
    assert "【申请材料】".encode("gb18030") in paper and "【设定依据】".encode("gb18030") in paper
    assert "·办事指南".encode("gb18030") not in paper and "办件编号：".encode("gb18030") not in paper
    rate(finger)


def test_query_answers_from_the_platform_and_prints_it(kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    item = pick(catalog, "query", ("id_card",))
    before = len(kiosk.printer.jobs())
    begin_with_card(finger, item)
    finger.wait_for("confirm")
    finger.tap("confirm")
    assert finger.wait_for("result")["view"].get("answer_rows")
    finger.tap("print")
    assert finger.wait_for("done")["view"].get("printed") is True
    assert len(printed_since(kiosk, before)) > 200
    rate(finger)


def test_appointment_is_booked_at_the_platform(kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    item = pick(catalog, "appointment", ("id_card",))
    begin_with_card(finger, item)
    slots = finger.wait_for("slots")["view"]["slots"]
    slot = next(s for s in slots if s[2] > 0)
    finger.tap(f"slot:{slot[0]}")
    view = finger.wait_for("done")["view"]
    booked = [b for b in kiosk.received()["appointments"] if b["appointment_ref"] == view["receipt_no"]]
    assert len(booked) == 1 and booked[0]["item_code"] == item.code and booked[0]["slot_id"] == slot[0]
    rate(finger)


def test_certification_reaches_the_platform(kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    item = pick(catalog, "certification", ("id_card_face",))
    begin_with_card(finger, item)
    finger.wait_for("consent")
    finger.tap("consent")
    finger.wait_for("confirm", 60)
    finger.tap("confirm")
    view = finger.wait_for("done", 40)["view"]
    held = kiosk.at_platform(view["receipt_no"])
    assert held["item_code"] == item.code
    rate(finger)


def test_help_request_is_queued_with_a_number_and_reaches_the_platform(kiosk: Kiosk, finger: Finger) -> None:
    finger.tap("start")
    finger.wait_for("home")
    finger.tap("help")
    finger.wait_for("help")
    group = next(b["target"] for b in finger.look()["buttons"] if b["target"].startswith("help:"))
    finger.tap(group)
    view = finger.wait_view(lambda v: v.get("help_no"), "the help request's number on screen")
    number = view.get("help_no")
    assert number, view
    held = kiosk.at_platform(number, "help_requests")
    assert held["kind"] == "help_request"
    finger.tap("back")
    finger.wait_for("home")
    finger.tap("exit")
    finger.wait_for("attract", 30)


# -- when things go wrong ----------------------------------------------------------------------

def test_offline_apply_is_kept_and_delivered_once_the_platform_is_back(
        kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    kiosk.faults(error_rate=1.0, status=503)
    item = pick(catalog, "apply", ("id_card",), materials=True)
    entered, pages = apply_until_review(finger, item)
    finger.tap("submit")
    receipt = finger.wait_for("done", 40)["view"]["receipt_no"]
    time.sleep(1.5)
    assert not [a for a in kiosk.received()["applications"] if a.get("receipt_no") == receipt]
    kiosk.faults()
    held = kiosk.at_platform(receipt, timeout_s=60)
    assert len(held["body"]["materials"]) == pages
    assert all(held["body"]["form"].get(k) == v for k, v in entered.items())
    rate(finger)


def test_printer_out_mid_job_is_never_reported_as_printed(kiosk: Kiosk, finger: Finger) -> None:
    kiosk.printer.set_state(run_out_after=300)
    before = len(kiosk.printer.jobs())
    start_with_card(finger)
    open_print_item(finger)
    finger.tap("consent")
    view = finger.wait_for("done", 60)["view"]
    assert view.get("printed") is False, "the paper ran out mid-job: the screen must not say printed"
    receipt = view["receipt_no"]
    assert kiosk.at_platform(receipt)["kind"] == "print_request"  # the request itself is not lost
    got = b"".join(kiosk.printer.jobs()[before:])
    assert receipt.encode() not in got or len(got) <= 300
    kiosk.printer.set_state()
    finger.tap("home") if finger.shows("home") else rate(finger)
    finger.wait_for("attract", 40)


def test_app_killed_after_submit_loses_nothing_and_delivers_once(
        kiosk: Kiosk, catalog: Catalog, finger: Finger) -> None:
    item = pick(catalog, "apply", ("id_card",), materials=True)
    entered, pages = apply_until_review(finger, item)

    def same_as_this_visit() -> list[dict[str, Any]]:  # earlier tests may have sent the same entries
        return [a for a in kiosk.received()["applications"]
                if a["item_code"] == item.code and a["materials"] == pages
                and all(a["body"]["form"].get(k) == v for k, v in entered.items())]
    earlier = {a["idempotency_key"] for a in same_as_this_visit()}
    stored_before = sum(kiosk.outbox().values())
    pid = kiosk.app_pid()
    assert pid
    finger.tap("submit")
    wait_for(lambda: sum(kiosk.outbox().values()) > stored_before, 20, "the gateway to store the submission")
    os.kill(pid, signal.SIGKILL)
    finger.close()
    # kiosk run brings the app back; the resident's session died with it (nothing of theirs on screen).
    wait_for(lambda: kiosk.app_pid() not in (0, pid), 60, "kiosk run to restart the app")
    look = finger.wait_for("attract", 90)
    # No session: the view's whole session summary is empty (typed views carry every field, empty
    # when there is no session; before #16 the keys were left out).
    summary = ("applicant_name", "applicant_id", "identity_source", "item_code", "receipt_no", "help_no")
    assert not any(look["view"][key] for key in summary), look["view"]
    wait_for(lambda: sum(kiosk.outbox().get(s, 0) for s in ("queued", "sending")) == 0, 60, "the outbox drained")
    new = [a for a in same_as_this_visit() if a["idempotency_key"] not in earlier]
    assert len(new) == 1, f"this visit's application is at the platform {len(new)} times"
    assert new[0]["deliveries"] == 1


def test_two_test_prints_in_a_row_put_two_slips_on_the_printer(kiosk: Kiosk) -> None:
    """Caught the technician's second test print that said "printed" and sent nothing."""
    auth = {"Authorization": f"Bearer {technician(kiosk)}"}
    before = len(kiosk.printer.jobs())
    outcomes = []
    for _ in range(2):
        queued = requests.post(kiosk.gateway + "/api/v1/devices/printer/tests", json={"action": "test_print"},
                               headers=auth, timeout=10)
        assert queued.status_code in (200, 202), queued.text
        command = queued.json()["command_id"]
        result = wait_for(lambda c=command: (r := requests.get(f"{kiosk.gateway}/api/v1/devices/tests/{c}",
                                                               headers=auth, timeout=10).json())["state"] == "done"
                          and r, 40, "the test print's outcome")
        outcomes.append(result)
    assert all(o["ok"] for o in outcomes), outcomes
    assert len(kiosk.printer.jobs()) - before == 2, "two test prints, two slips"


_TOKENS: dict[Path, str] = {}


def technician(kiosk: Kiosk) -> str:
    """The first technician token (its file is deleted after the token's first use, so it is kept here)."""
    if kiosk.tmp not in _TOKENS:
        _TOKENS[kiosk.tmp] = (Path(kiosk.tmp) / "data" / "first-token.txt").read_text().strip()
    return _TOKENS[kiosk.tmp]


def fast_door_accepts(kiosk: Kiosk) -> float:
    text = requests.get(kiosk.gateway + "/metrics", headers={"Authorization": f"Bearer {technician(kiosk)}"},
                        timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('kiosk_gateway_fast_door_requests_total{status="202"}'))


def test_the_apps_submission_goes_through_the_event_loop_door(kiosk: Kiosk, catalog: Catalog,
                                                             finger: Finger) -> None:
    """Issue 25 (P6): the app finds the gateway's submission door (its port file) and submits there;
    the platform gets the application as through the Flask door."""
    port_file = Path(kiosk.tmp) / "data" / "kiosk-fast-door.port"
    assert int(port_file.read_text()) not in (kiosk.gateway_port, 0)
    before = fast_door_accepts(kiosk)
    item = pick(catalog, "apply", ("id_card",), materials=True)
    entered, pages = apply_until_review(finger, item)
    finger.tap("submit")
    receipt = finger.wait_for("done", 40)["view"]["receipt_no"]
    held = kiosk.at_platform(receipt)
    assert held["item_code"] == item.code and len(held["body"]["materials"]) == pages
    assert all(held["body"]["form"].get(k) == v for k, v in entered.items())
    assert fast_door_accepts(kiosk) == before + 1, "the submission came in through the event-loop door"
    rate(finger, 1)
