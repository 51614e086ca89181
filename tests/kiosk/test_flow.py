"""The resident journey as a state machine, with no display and an injected clock."""

from __future__ import annotations

import pytest

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.flow.machine import HANDLERS
from kiosk.flow.views import VIEW_TYPES


def card():
    return sample_cards()[0]


def effects_of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def agree_with_face(kiosk: flow.KioskFlow) -> list:
    """同意并打印 on the consent screen, the camera finds a live face, the platform verifies it."""
    assert kiosk.screen is Screen.CONSENT
    seen = kiosk.handle(flow.Tapped("consent"))
    assert effects_of(seen, flow.CaptureFace)
    seen += kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    assert effects_of(seen, flow.VerifyIdentity)
    seen += kiosk.handle(flow.IdentityChecked(True))
    return seen


def run_print_journey(kiosk: flow.KioskFlow) -> list:
    """Card at attract → item → consent (人证比对) → document → accepted → printed. Returns all effects."""
    seen = []
    seen += kiosk.handle(flow.CardRead(card()))
    seen += kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    seen += agree_with_face(kiosk)
    seen += kiosk.handle(flow.DocumentFetched({"title": "社会保险参保缴费证明", "doc_no": "D1", "rows": []}))
    seen += kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000001"))
    job = effects_of(seen, flow.PrintReceipt)[0].job_id
    seen += kiosk.handle(flow.PrintFinished(job, True))
    return seen


def test_print_item_takes_three_touches_from_attract_with_an_id_card(kiosk):
    effects = run_print_journey(kiosk)
    assert kiosk.screen is Screen.DONE
    assert kiosk.session.touches == 2  # item + 同意并打印 (consent carries the confirm); the rating is the third
    kiosk.handle(flow.Tapped("rate:1"))
    assert kiosk.screen is Screen.THANKS
    fetch = effects_of(effects, flow.FetchDocument)[0]
    assert fetch.item_code == "rs-sbjfzm"
    assert fetch.applicant["id_number"] == card().id_number


def test_consent_screen_shows_only_masked_identity(kiosk):
    kiosk.handle(flow.CardRead(card()))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    view = kiosk.view()
    assert kiosk.screen is Screen.CONSENT and view.consent_confirms == "print"
    full = card().id_number
    assert full not in str(view)
    assert view.applicant_id == full[:4] + "*" * 10 + full[-4:]
    assert card().name not in str(view)


def test_receipt_content_carries_masked_values_only(kiosk):
    effects = run_print_journey(kiosk)
    content = effects_of(effects, flow.PrintReceipt)[0].content
    assert card().id_number not in str(content)
    assert content["receipt_no"] == "HC-DEMO-001-20261121-000001"


def test_rating_is_sent_with_gbt_direction_and_session_is_wiped(kiosk):
    run_print_journey(kiosk)
    assert kiosk.handle(flow.Tapped("rate:5")) and kiosk.view().rating_followup  # 非常不满意: ask why
    effects = kiosk.handle(flow.Tapped("why:slow"))
    rating = effects_of(effects, flow.SendRating)[0]
    assert (rating.receipt_no, rating.level, rating.text) == ("HC-DEMO-001-20261121-000001", 5, "slow")
    assert effects_of(effects, flow.SessionWiped)
    assert kiosk.session is None
    assert not kiosk.view().applicant_id


def test_identity_is_wiped_when_printing_ends(kiosk):
    the_card = card()
    kiosk.handle(flow.CardRead(the_card))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    agree_with_face(kiosk)
    kiosk.handle(flow.DocumentFetched({"rows": []}))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000002"))
    kiosk.handle(flow.PrintFinished(effects_of(effects, flow.PrintReceipt)[0].job_id, True))
    assert the_card.id_number == "" and the_card.name == ""


def test_item_without_card_asks_for_card_then_for_face_consent(kiosk):
    kiosk.handle(flow.Tapped("start"))
    assert kiosk.screen is Screen.HOME
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    assert kiosk.screen is Screen.CARD_PROMPT
    kiosk.handle(flow.CardRead(card()))
    assert kiosk.screen is Screen.CONSENT


def test_idle_warns_then_ends_session_and_forgets(kiosk, clock):
    kiosk.handle(flow.CardRead(card()))
    clock.now += 89
    kiosk.handle(flow.Tick())
    assert not kiosk.warning
    clock.now += 2
    kiosk.handle(flow.Tick())
    assert kiosk.warning
    assert kiosk.view().warning_left_s >= 18
    clock.now += 20
    effects = kiosk.handle(flow.Tick())
    assert kiosk.screen is Screen.TIMEOUT
    assert effects_of(effects, flow.SessionWiped)
    assert kiosk.session is None
    clock.now += kiosk.BRIEF_S
    kiosk.handle(flow.Tick())
    assert kiosk.screen is Screen.ATTRACT


def test_warning_can_be_extended_ten_times_with_one_touch_each(kiosk, clock):
    kiosk.handle(flow.CardRead(card()))
    for _ in range(10):
        clock.now += 91
        kiosk.handle(flow.Tick())
        assert kiosk.warning
        kiosk.handle(flow.Tapped("extend"))
        assert not kiosk.warning
    assert kiosk.screen is Screen.HOME
    assert kiosk.session.extensions == 10


def test_while_warning_shows_other_targets_are_ignored(kiosk, clock):
    kiosk.handle(flow.CardRead(card()))
    clock.now += 91
    kiosk.handle(flow.Tick())
    assert kiosk.handle(flow.Tapped("item:rs-sbjfzm")) == []
    assert kiosk.screen is Screen.HOME


def test_no_timeout_while_printing(kiosk, clock):
    kiosk.handle(flow.CardRead(card()))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    agree_with_face(kiosk)
    clock.now += 500
    assert kiosk.handle(flow.Tick()) == []
    assert kiosk.screen is Screen.WORKING


def test_platform_unreachable_shows_reason_and_home_forgets(kiosk):
    kiosk.handle(flow.CardRead(card()))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    agree_with_face(kiosk)
    kiosk.handle(flow.ServiceFailed("error_platform_unavailable"))
    assert kiosk.screen is Screen.ERROR
    assert kiosk.view().error_key == "error_platform_unavailable"
    kiosk.handle(flow.Tapped("home"))
    assert kiosk.screen is Screen.ATTRACT and kiosk.session is None


def test_print_failure_is_reported_on_done_screen(kiosk):
    kiosk.handle(flow.CardRead(card()))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    agree_with_face(kiosk)
    kiosk.handle(flow.DocumentFetched({"rows": []}))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000003"))
    job = effects_of(effects, flow.PrintReceipt)[0].job_id
    kiosk.handle(flow.PrintFinished("someone-else", True))
    assert kiosk.screen is Screen.PRINTING  # a stale job's answer does not move the flow
    kiosk.handle(flow.PrintFinished(job, False, "printer_paper_out"))
    view = kiosk.view()
    assert view.screen == "done" and view.printed is False and view.print_reason == "printer_paper_out"


def test_exit_wipes_and_returns_to_attract(kiosk):
    the_card = card()
    kiosk.handle(flow.CardRead(the_card))
    effects = kiosk.handle(flow.Tapped("exit"))
    assert effects_of(effects, flow.SessionWiped)
    assert kiosk.screen is Screen.ATTRACT
    assert the_card.id_number == ""


def test_card_laid_during_printing_is_not_taken_into_the_session(kiosk):
    kiosk.handle(flow.CardRead(card()))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    agree_with_face(kiosk)
    stranger = sample_cards()[1]
    kiosk.handle(flow.CardRead(stranger))
    assert stranger.id_number == ""
    assert kiosk.view().applicant_id.endswith(card().id_number[-4:])


def test_language_switch_changes_item_names(kiosk):
    kiosk.handle(flow.Tapped("lang:en"))
    names = [name for _code, name, _dept in kiosk.view().items]
    assert "Social insurance contribution certificate" in names


def test_rejected_card_shows_a_banner_that_fades(kiosk, clock):
    kiosk.handle(flow.CardRejected("notice_card_invalid"))
    assert kiosk.view().notice_key == "notice_card_invalid"
    assert kiosk.screen is Screen.ATTRACT and kiosk.session is None  # nobody was identified
    clock.now += kiosk.NOTICE_S + 0.1
    kiosk.handle(flow.Tick())
    assert kiosk.view().notice_key == ""


@pytest.mark.parametrize("card_type, number, expected", [
    ("resident", "11010519491231002X", "resident_id"),
    ("J", "830000199001010026", "taiwan_permit"),
    ("J", "810000199001010011", "hk_macao_permit"),
    ("Y", "933156199001010014", "foreign_permanent"),
])
def test_applicant_carries_the_document_type(card_type, number, expected):
    assert flow.id_type(card_type, number) == expected


def test_session_end_carries_anonymous_kind_and_outcome(kiosk, clock):
    kiosk.handle(flow.Tapped("start"))
    wiped = effects_of(kiosk.handle(flow.Tapped("exit")), flow.SessionWiped)[0]
    assert (wiped.item_kind, wiped.outcome) == ("none", "abandoned")
    kiosk.handle(flow.CardRead(card()))
    clock.now += 1000
    wiped = effects_of(kiosk.handle(flow.Tick()), flow.SessionWiped)[0]
    assert wiped.outcome == "timeout"
    assert card().id_number not in repr(wiped)


def test_every_screen_has_its_handler_in_the_dispatch_table():
    assert set(HANDLERS) == set(Screen)
    assert set(VIEW_TYPES) <= {s.value for s in Screen}
