"""Assisted mode (帮办代办) in the flow: staff sign-in, the resident's consent or the 委托书, the submission
carrying 代办人 and consent, the staff session's own timeouts, and forgetting everything at its end."""

from __future__ import annotations

from datetime import datetime

import pytest
from test_flow_bundle import fill_and_capture, to_form  # 一件事 up to its review, as its own tests walk it
from test_flow_payment import to_review  # a fee item's journey up to its review, as its own tests walk it

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.flow.assisted import POA_MATERIAL, POA_NAME, StaffPolicy
from kiosk.flow.views import mirror_view

PRINT_ITEM = "rs-sbjfzm"
RECEIPT = "HC-DEMO-001-20261121-000007"


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def sign_in(kiosk: flow.KioskFlow, staff_no: str = "0427") -> list:
    effects = kiosk.handle(flow.Tapped("staff:signin"))
    assert kiosk.screen is Screen.STAFF_SIGNIN
    scan = of(effects, flow.ScanQr)[0]
    assert scan.purpose == "staff"
    return effects + kiosk.handle(flow.StaffSignedIn(scan.scan_id, staff_no, "a1b2c3d4"))


def print_until_submit(kiosk: flow.KioskFlow) -> list:
    """The resident's card, the print item, 人证比对, the document: the print request is about to be sent."""
    effects = kiosk.handle(flow.CardRead(sample_cards()[0]))
    effects += kiosk.handle(flow.Tapped(f"item:{PRINT_ITEM}"))
    assert kiosk.screen is Screen.CONSENT
    effects += kiosk.handle(flow.Tapped("consent"))
    effects += kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    effects += kiosk.handle(flow.IdentityChecked(True))
    return effects + kiosk.handle(flow.DocumentFetched({"title": "证明", "doc_no": "D1", "rows": []}))


@pytest.fixture
def wall(kiosk: flow.KioskFlow) -> datetime:
    when = datetime(2026, 11, 21, 10, 30).astimezone()
    kiosk.wall_clock = lambda: when
    return when


def test_a_staff_pass_signs_in_and_the_banner_shows_the_staff_number(kiosk):
    effects = sign_in(kiosk)
    assert kiosk.screen is Screen.HOME and kiosk.staff is not None
    assert kiosk.view().staff_no == "0427"
    assert of(effects, flow.Show)
    # Every screen's view carries the staff number while the staff session lasts (the banner).
    kiosk.handle(flow.Tapped("browse:all"))
    assert kiosk.view().staff_no == "0427"
    assert mirror_view(kiosk.view()).staff_no == "0427"  # operators see who serves: a number, no name


def test_a_refused_pass_says_why_and_offers_to_scan_again(kiosk):
    effects = kiosk.handle(flow.Tapped("staff:signin"))
    scan = of(effects, flow.ScanQr)[0]
    kiosk.handle(flow.ScanFailed(scan.scan_id, "staff_pass_refused"))
    view = kiosk.view()
    assert kiosk.screen is Screen.STAFF_SIGNIN and kiosk.staff is None
    assert view.staff_problem == "staff_pass_refused" and not view.staff_scanning and view.staff_no == ""
    again = of(kiosk.handle(flow.Tapped("rescan")), flow.ScanQr)
    assert again and again[0].scan_id != scan.scan_id and kiosk.view().staff_problem == ""
    # An answer to the scan already left counts for nothing.
    kiosk.handle(flow.StaffSignedIn(scan.scan_id, "0427", "a1b2c3d4"))
    assert kiosk.staff is None
    kiosk.handle(flow.Tapped("back"))
    assert kiosk.screen is Screen.ATTRACT and again[0].cancel.is_set()


def test_the_staff_scan_times_out_on_the_flows_own_clock(kiosk, clock):
    kiosk.handle(flow.Tapped("staff:signin"))
    clock.now += kiosk.SCAN_TIMEOUT_S + 1
    kiosk.handle(flow.Tick())
    assert kiosk.view().staff_problem == "scan_timeout" and kiosk.staff is None


def test_without_a_staff_session_nothing_waits_for_consent(kiosk):
    effects = print_until_submit(kiosk)
    submit = of(effects, flow.Submit)[0]
    assert submit.assisted == {} and kiosk.screen is Screen.WORKING


def test_the_resident_consents_on_screen_and_the_submission_names_the_staff_member(kiosk, wall):
    sign_in(kiosk)
    effects = print_until_submit(kiosk)
    assert not of(effects, flow.Submit), "nothing is sent before the resident consents"
    assert kiosk.screen is Screen.ASSISTED_CONSENT and kiosk.view().consent_step == "choose"
    assert kiosk.view().staff_no == "0427"
    effects = kiosk.handle(flow.Tapped("assisted:consent"))
    submit = of(effects, flow.Submit)[0]
    assert kiosk.screen is Screen.WORKING and submit.kind == "print_request"
    assert submit.assisted == {"agent_staff_no": "0427", "staff_token_id": "a1b2c3d4",
                               "consent": {"kind": "on_screen", "at": wall.isoformat(timespec="seconds")},
                               "power_of_attorney": None}
    assert submit.applicant["id_number"] == sample_cards()[0].id_number  # the resident applies; staff assist
    # The journey goes on as before: accepted, printed, done; the staff member stays signed in.
    effects = kiosk.handle(flow.SubmissionAccepted(RECEIPT))
    job = of(effects, flow.PrintReceipt)[0]
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    kiosk.handle(flow.Tapped("rate:1"))
    assert kiosk.screen is Screen.THANKS and kiosk.session is None and kiosk.staff is not None


def test_for_an_absent_resident_the_signed_power_of_attorney_goes_with_the_submission(kiosk, wall):
    sign_in(kiosk)
    print_until_submit(kiosk)
    kiosk.handle(flow.Tapped("assisted:poa"))
    assert kiosk.view().consent_step == "poa"
    assert kiosk.handle(flow.Tapped("assisted:poa_submit")) == []  # nothing captured yet: nothing sent
    capture = of(kiosk.handle(flow.Tapped("assisted:capture")), flow.CapturePage)
    assert capture == [flow.CapturePage(POA_MATERIAL)] and kiosk.view().poa_capturing
    kiosk.handle(flow.PageCaptured(POA_MATERIAL, b"\xff\xd8poa", 1000, 1400, b"\x89PNGpreview"))
    view = kiosk.view()
    assert view.poa_preview == b"\x89PNGpreview" and not view.poa_capturing
    assert b"preview" not in mirror_view(view).poa_preview  # the mirror never shows the page
    submit = of(kiosk.handle(flow.Tapped("assisted:poa_submit")), flow.Submit)[0]
    assert submit.assisted["consent"]["kind"] == "power_of_attorney"
    assert submit.assisted["power_of_attorney"] == POA_NAME
    assert [m.name for m in submit.materials][-1] == POA_NAME and submit.materials[-1].data == b"\xff\xd8poa"
    assert "poa" not in repr(submit)


def test_declining_sends_nothing_and_goes_back(kiosk):
    sign_in(kiosk)
    print_until_submit(kiosk)
    kiosk.handle(flow.Tapped("assisted:poa"))
    kiosk.handle(flow.Tapped("back"))
    assert kiosk.view().consent_step == "choose"
    effects = kiosk.handle(flow.Tapped("back"))
    assert not of(effects, flow.Submit) and kiosk.screen is Screen.HOME
    assert "assisted_held" not in kiosk.session.extra


def test_ending_the_staff_session_forgets_everything(kiosk):
    sign_in(kiosk)
    print_until_submit(kiosk)
    the_card = kiosk.session.identity
    effects = kiosk.handle(flow.Tapped("staff:end"))
    assert of(effects, flow.SessionWiped) and of(effects, flow.CancelPrints)
    assert of(effects, flow.StaffSignedOut) == [flow.StaffSignedOut("0427", "a1b2c3d4", "ended")]  # audited
    assert kiosk.staff is None and kiosk.session is None and kiosk.screen is Screen.ATTRACT
    assert the_card.id_number == "" and kiosk.view().staff_no == ""
    assert kiosk.view().notice_key == "notice_staff_ended"


def test_the_staff_session_has_its_own_idle_timeout(kiosk, clock):
    kiosk.staff_policy = StaffPolicy(idle_s=300, max_s=3600)
    sign_in(kiosk)
    # The resident's idle timeout (90 s + 20 s warning) ends a resident's session, not the staff one.
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    clock.now += 115
    kiosk.handle(flow.Tick())
    assert kiosk.screen is Screen.TIMEOUT and kiosk.staff is not None
    clock.now += 300
    effects = kiosk.handle(flow.Tick())
    assert kiosk.staff is None and kiosk.screen is Screen.ATTRACT and of(effects, flow.SessionWiped)
    assert of(effects, flow.StaffSignedOut)[0].reason == "timeout"


def test_the_staff_session_ends_after_its_longest_time_however_busy(kiosk, clock):
    kiosk.staff_policy = StaffPolicy(idle_s=300, max_s=1000)
    sign_in(kiosk)
    for _ in range(5):
        clock.now += 250
        kiosk.handle(flow.Tapped("browse:all"))
        kiosk.handle(flow.Tapped("home"))
        kiosk.handle(flow.Tick())
    assert kiosk.staff is None


def test_staff_sign_in_is_offered_only_where_no_item_is_under_way(kiosk):
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped(f"item:{PRINT_ITEM}"))
    assert kiosk.screen is Screen.CONSENT
    kiosk.handle(flow.Tapped("staff:signin"))
    assert kiosk.screen is Screen.CONSENT and kiosk.staff is None


def test_a_fee_item_asks_before_its_payment_and_the_payment_order_carries_the_consent(kiosk, catalog, wall):
    sign_in(kiosk)
    kiosk.handle(flow.Tapped("staff:signin"))  # already signed in: nothing changes
    to_review(kiosk, catalog)
    kiosk.handle(flow.Tapped("submit"))
    assert kiosk.screen is Screen.ASSISTED_CONSENT  # before the fee: nothing paid, nothing sent
    kiosk.handle(flow.Tapped("assisted:poa"))
    kiosk.handle(flow.Tapped("assisted:capture"))
    kiosk.handle(flow.PageCaptured(POA_MATERIAL, b"\xff\xd8poa", 1000, 1400))
    effects = kiosk.handle(flow.Tapped("assisted:poa_submit"))
    assert kiosk.screen is Screen.PAYMENT and not of(effects, flow.Submit)
    [create] = of(kiosk.handle(flow.Tapped("pay")), flow.CreatePayment)
    assert create.assisted["agent_staff_no"] == "0427"
    assert create.assisted["consent"] == {"kind": "power_of_attorney", "at": wall.isoformat(timespec="seconds")}
    assert create.materials[-1].name == POA_NAME and create.assisted["power_of_attorney"] == POA_NAME


def test_no_staff_sign_in_while_the_terminal_is_out_of_service(kiosk):
    kiosk.handle(flow.ServiceSwitched(False, "维护中"))
    kiosk.handle(flow.Tapped("staff:signin"))
    assert kiosk.screen is Screen.ATTRACT and kiosk.staff is None


def test_a_bundle_asks_once_and_every_item_carries_the_consent_and_the_power_of_attorney(kiosk, wall):
    sign_in(kiosk)
    to_form(kiosk, "birth")
    fill_and_capture(kiosk)
    effects = kiosk.handle(flow.Tapped("submit"))
    assert kiosk.screen is Screen.ASSISTED_CONSENT and not of(effects, flow.Submit)
    kiosk.handle(flow.Tapped("assisted:poa"))
    kiosk.handle(flow.Tapped("assisted:capture"))
    kiosk.handle(flow.PageCaptured(POA_MATERIAL, b"\xff\xd8poa", 1000, 1400))
    effects = kiosk.handle(flow.Tapped("assisted:poa_submit"))
    submits = of(effects, flow.Submit)
    serial = 0
    while kiosk.screen is Screen.WORKING:
        last = effects[-1]
        if isinstance(last, flow.FetchDocument):
            effects = kiosk.handle(flow.DocumentFetched({"title": "证明", "rows": [], "doc_no": "D1"}))
        else:
            serial += 1
            effects = kiosk.handle(flow.SubmissionAccepted(f"HC-DEMO-001-20261121-{serial:06d}"))
        assert kiosk.screen is not Screen.ASSISTED_CONSENT, "asked again within one bundle"
        submits += of(effects, flow.Submit)
    assert len(submits) == 5 and len({s.bundle_id for s in submits}) == 1
    for s in submits:
        assert s.assisted["agent_staff_no"] == "0427" and s.assisted["consent"]["kind"] == "power_of_attorney"
        assert s.materials[-1].name == POA_NAME == s.assisted["power_of_attorney"]
