"""The QR steps of the flow: progress lookup (scan or type the receipt number) and app-QR sign-in,
with the real state machine and an injected clock."""

from __future__ import annotations

import pytest

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.flow import qr as flow_qr
from kiosk.terminal.scanning import AppSignInIdentity

RECEIPT = "HC-DEMO-001-20261121-000001"
PRINT_ITEM = "rs-sbjfzm"  # 身份证+人脸, alternatives: social security card, app QR
ANSWER = {"receipt_no": RECEIPT, "source": "platform", "status": "accepted", "status_text": "已受理",
          "steps": [{"status": "received", "text": "已接收", "at": "2026-11-21T10:00:00+08:00"},
                    {"status": "accepted", "text": "已受理", "at": "2026-11-21T10:01:00+08:00"}]}


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def start_scan(kiosk: flow.KioskFlow, where: str = "home") -> flow.ScanQr:
    if where == "home":
        kiosk.handle(flow.Tapped("start"))
    effects = kiosk.handle(flow.Tapped("progress"))
    assert kiosk.screen is Screen.SCAN
    (scan,) = of(effects, flow.ScanQr)
    assert scan.purpose == "progress" and scan.timeout_s == pytest.approx(30)
    return scan


@pytest.mark.parametrize("where", ["home", "attract"])
def test_a_scanned_receipt_is_looked_up_and_its_progress_shown(kiosk, where):
    scan = start_scan(kiosk, where)
    assert kiosk.view().scanning and kiosk.view().scan_left_s == 30
    effects = kiosk.handle(flow.QrScanned(scan.scan_id, RECEIPT))
    assert kiosk.screen is Screen.WORKING and of(effects, flow.LookUpProgress)[0].receipt_no == RECEIPT
    kiosk.handle(flow.ProgressAnswered(RECEIPT, ANSWER))
    view = kiosk.view()
    assert kiosk.screen is Screen.PROGRESS_RESULT
    assert view.progress_no == RECEIPT and view.progress_status == "accepted"
    assert view.progress_steps == [("2026-11-21 10:00", "已接收"), ("2026-11-21 10:01", "已受理")]
    assert view.progress_url.endswith(f"?no={RECEIPT}")


def test_a_refused_code_says_why_and_the_resident_can_scan_again_or_type(kiosk):
    scan = start_scan(kiosk)
    kiosk.handle(flow.ScanFailed(scan.scan_id, "qr_foreign_link"))
    view = kiosk.view()
    assert kiosk.screen is Screen.SCAN and view.scan_failed == "qr_foreign_link" and not view.scanning
    again = of(kiosk.handle(flow.Tapped("rescan")), flow.ScanQr)[0]
    assert again.scan_id != scan.scan_id and kiosk.view().scan_failed == ""
    kiosk.handle(flow.Tapped("type_receipt"))
    assert kiosk.screen is Screen.RECEIPT_ENTRY and again.cancel.is_set()


def test_nothing_scanned_times_out_with_a_hint_and_never_hangs(kiosk, clock):
    scan = start_scan(kiosk)
    clock.now += 29
    kiosk.handle(flow.Tick())
    assert kiosk.view().scanning and not scan.cancel.is_set()
    clock.now += 1.5
    kiosk.handle(flow.Tick())
    assert scan.cancel.is_set() and kiosk.screen is Screen.SCAN
    assert kiosk.view().scan_failed == "scan_timeout" and not kiosk.view().scanning
    # The scanner's own late answer changes nothing.
    kiosk.handle(flow.QrScanned(scan.scan_id, RECEIPT))
    assert kiosk.screen is Screen.SCAN


@pytest.mark.parametrize("leave", ["back", "help", "exit", "home"])
def test_leaving_the_scan_screen_cancels_the_scan(kiosk, leave):
    scan = start_scan(kiosk)
    kiosk.handle(flow.Tapped(leave))
    assert scan.cancel.is_set() and kiosk.screen is not Screen.SCAN
    assert not kiosk.handle(flow.QrScanned(scan.scan_id, RECEIPT))  # a late answer is dropped
    if leave == "help":  # back from help: a fresh scan starts
        effects = kiosk.handle(flow.Tapped("back"))
        assert kiosk.screen is Screen.SCAN and of(effects, flow.ScanQr)


def test_typed_receipt_digits_are_checked_then_looked_up(kiosk):
    start_scan(kiosk)
    kiosk.handle(flow.Tapped("type_receipt"))
    for d in "2026113":
        kiosk.handle(flow.Tapped(f"pk:{d}"))
    assert kiosk.view().receipt_digits == "2026113" and kiosk.view().receipt_digits_left == 11
    kiosk.handle(flow.Tapped("pk:done"))
    assert kiosk.screen is Screen.RECEIPT_ENTRY and kiosk.view().notice_key == "notice_receipt_digits"
    for d in "24827310001":
        kiosk.handle(flow.Tapped(f"pk:{d}"))
    kiosk.handle(flow.Tapped("pk:9"))  # a 19th digit does not fit
    assert kiosk.view().receipt_digits == "20261132-482731-0001"
    kiosk.handle(flow.Tapped("pk:done"))  # 2026-11-32 is no date
    assert kiosk.view().notice_key == "notice_receipt_date"
    for _ in range(12):
        kiosk.handle(flow.Tapped("pk:BKSP"))
    for d in "214827310001":
        kiosk.handle(flow.Tapped(f"pk:{d}"))
    effects = kiosk.handle(flow.Tapped("pk:done"))
    lookup = of(effects, flow.LookUpProgress)[0]
    assert lookup.digits == "202611214827310001" and lookup.receipt_no == ""


def test_a_receipt_printed_before_run_numbers_can_still_be_typed(kiosk):
    start_scan(kiosk)
    kiosk.handle(flow.Tapped("type_receipt"))
    for d in "20261121000001":
        kiosk.handle(flow.Tapped(f"pk:{d}"))
    lookup = of(kiosk.handle(flow.Tapped("pk:done")), flow.LookUpProgress)[0]
    assert lookup.digits == "20261121000001"
    assert flow_qr.receipt_from_digits("HC-1", lookup.digits) == "HC-1-20261121-000001"
    assert flow_qr.receipt_from_digits("HC-1", "202611214827310001") == "HC-1-20261121-482731-0001"


def test_platform_unreachable_keeps_the_receipt_number_and_offers_a_retry(kiosk):
    scan = start_scan(kiosk)
    kiosk.handle(flow.QrScanned(scan.scan_id, RECEIPT))
    kiosk.handle(flow.ProgressAnswered(RECEIPT, {}, "progress_try_later"))
    view = kiosk.view()
    assert kiosk.screen is Screen.PROGRESS_RESULT
    assert view.progress_reason == "progress_try_later" and view.progress_no == RECEIPT
    effects = kiosk.handle(flow.Tapped("retry"))
    assert of(effects, flow.LookUpProgress)[0].receipt_no == RECEIPT


def test_the_progress_can_be_printed_and_the_resident_comes_back_to_it(kiosk):
    scan = start_scan(kiosk)
    kiosk.handle(flow.QrScanned(scan.scan_id, RECEIPT))
    kiosk.handle(flow.ProgressAnswered(RECEIPT, ANSWER))
    (job,) = of(kiosk.handle(flow.Tapped("print")), flow.PrintReceipt)
    assert kiosk.screen is Screen.PRINTING and job.layout == "query"
    assert ["回执编号", RECEIPT] in job.content["answer"]["rows"]
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    assert kiosk.screen is Screen.PROGRESS_RESULT and kiosk.view().notice_key == "notice_progress_printed"
    effects = kiosk.handle(flow.Tapped("exit"))
    assert of(effects, flow.SessionWiped) and kiosk.session is None


def test_without_a_qr_camera_progress_goes_straight_to_typing(kiosk):
    kiosk.handle(flow.DeviceStates({"document_camera": False}))
    kiosk.handle(flow.Tapped("start"))
    effects = kiosk.handle(flow.Tapped("progress"))
    assert kiosk.screen is Screen.RECEIPT_ENTRY and not of(effects, flow.ScanQr)


# --- app sign-in ---------------------------------------------------------------------------------

def to_card_prompt(kiosk: flow.KioskFlow) -> None:
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{PRINT_ITEM}"))
    kiosk.handle(flow.Tapped("begin"))
    assert kiosk.screen is Screen.CARD_PROMPT


def sign_in_scan(kiosk: flow.KioskFlow) -> flow.ScanQr:
    effects = kiosk.handle(flow.Tapped("use:app_qr"))
    assert kiosk.screen is Screen.SCAN
    (scan,) = of(effects, flow.ScanQr)
    assert scan.purpose == "signin"
    return scan


def test_app_sign_in_identifies_without_the_face_and_is_wiped_at_the_end(kiosk):
    to_card_prompt(kiosk)
    scan = sign_in_scan(kiosk)
    assert kiosk.view().scan_alternatives == ["id_card", "social_security_card"]
    kiosk.handle(flow.ScanFailed(scan.scan_id, "qr_signin_expired"))
    assert kiosk.view().scan_failed == "qr_signin_expired"
    sign_in_scan_again = of(kiosk.handle(flow.Tapped("rescan")), flow.ScanQr)[0]
    person = sample_cards()[1]
    identity = AppSignInIdentity(person.name, person.id_number, person.gender)
    kiosk.handle(flow.CardRead(identity, "app_qr"))
    assert sign_in_scan_again.cancel.is_set()
    assert kiosk.screen is Screen.CONFIRM  # no consent: the app sign-in is the non-biometric way
    view = kiosk.view()
    assert view.identity_source == "app_qr" and person.id_number not in str(view)
    assert person.name not in str(view)
    effects = kiosk.handle(flow.Tapped("confirm"))
    assert of(effects, flow.FetchDocument)[0].applicant["id_number"] == person.id_number
    kiosk.handle(flow.Tapped("exit"))  # WORKING ignores exit: end through the document failing instead
    kiosk.handle(flow.ServiceFailed("error_platform_unavailable"))
    kiosk.handle(flow.Tapped("home"))
    assert kiosk.session is None and identity.id_number == "" and identity.name == ""


def test_consent_offers_the_app_and_a_failed_sign_in_offers_the_cards(kiosk):
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped(f"item:{PRINT_ITEM}"))
    assert kiosk.screen is Screen.CONSENT
    scan = of(kiosk.handle(flow.Tapped("alt:app_qr")), flow.ScanQr)[0]
    kiosk.handle(flow.ScanFailed(scan.scan_id, "qr_signin_forged"))
    kiosk.handle(flow.Tapped("use:social_security_card"))
    assert kiosk.screen is Screen.CARD_PROMPT and kiosk.view().awaiting == "social_security_card"


def test_a_sign_in_nobody_waits_for_is_wiped_not_used(kiosk):
    to_card_prompt(kiosk)
    scan = sign_in_scan(kiosk)
    kiosk.handle(flow.Tapped("back"))
    assert scan.cancel.is_set() and kiosk.screen is Screen.CARD_PROMPT
    person = sample_cards()[1]
    late = AppSignInIdentity(person.name, person.id_number)
    assert kiosk.handle(flow.CardRead(late, "app_qr")) == []
    assert late.id_number == "" and kiosk.session.identity is None
