"""Every item kind end to end in the flow state machine, with no display and an injected clock."""

from __future__ import annotations

from typing import get_args

import pytest

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.catalog.model import CardField
from kiosk.flow import Screen
from kiosk.flow.identity import PREFILL, prefilled


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def pick(catalog, kind, identity=("id_card",), materials=None):
    """The first item of ``kind`` with no fee (fee items pay before they submit: test_flow_payment.py)."""
    for item in catalog.items:
        if item.kind == kind and item.identity in identity and item.payment == "none" and \
                (materials is None or bool(item.materials) == materials):
            return item
    raise LookupError(kind)


def open_item(kiosk, item, card=True):
    if card:
        kiosk.handle(flow.CardRead(sample_cards()[0] if card is True else card))
    else:
        kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{item.code}"))
    assert kiosk.screen is Screen.DETAIL
    return kiosk.handle(flow.Tapped("begin"))


def agree_with_face(kiosk, verified=True, reason=""):
    """Consent on the consent screen; the camera finds a live face; the platform answers."""
    assert kiosk.screen is Screen.CONSENT
    effects = kiosk.handle(flow.Tapped("consent"))
    assert of(effects, flow.CaptureFace) and kiosk.screen is Screen.WORKING
    effects += kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    assert of(effects, flow.VerifyIdentity)
    return effects + kiosk.handle(flow.IdentityChecked(verified, reason))


def test_guide_prints_the_guide_without_identity(kiosk, catalog):
    item = pick(catalog, "guide", ("none",))
    effects = open_item(kiosk, item, card=False)
    job = of(effects, flow.PrintReceipt)[0]
    assert job.layout == "guide" and job.content["item_name"] == item.name.get("zh_CN")
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    assert kiosk.screen is Screen.DONE


def test_query_identifies_asks_the_platform_shows_and_prints(kiosk, catalog):
    item = pick(catalog, "query")
    open_item(kiosk, item)
    assert kiosk.screen is Screen.CONFIRM
    effects = kiosk.handle(flow.Tapped("confirm"))
    assert of(effects, flow.RunQuery)[0].applicant["id_number"] == sample_cards()[0].id_number
    kiosk.handle(flow.QueryAnswered({"title": "结果", "rows": [["姓名", "张*"], ["状态", "正常"]]}))
    assert kiosk.screen is Screen.RESULT and ("状态", "正常") in kiosk.view().answer_rows
    effects = kiosk.handle(flow.Tapped("print"))
    job = of(effects, flow.PrintReceipt)[0]
    assert job.layout == "query"
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    assert kiosk.screen is Screen.DONE


def test_apply_prefills_from_card_checks_fields_takes_pages_and_submits(kiosk, catalog):
    item = pick(catalog, "apply", ("id_card", "id_card_face"), materials=True)
    the_card = sample_cards()[0]
    open_item(kiosk, item, the_card)
    assert item.identity == "id_card_face" and kiosk.screen is Screen.CONSENT  # 人证比对 before the form
    agree_with_face(kiosk)
    assert kiosk.screen is Screen.FORM
    fields = {f.key: f for f in kiosk.view().fields}
    locked = [f for f in fields.values() if f.locked]
    assert locked and all(f.value for f in locked)  # pre-filled, never retyped
    assert the_card.id_number not in str(kiosk.view()) and the_card.name not in str(kiosk.view())
    # Empty required fields: told what to fix, stays on the form.
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.FORM and kiosk.view().notice_key == "notice_fix_fields"
    assert any(f.problem == "required" for f in kiosk.view().fields)
    for f in item.fields:
        if f.prefill:
            assert kiosk.handle(flow.Tapped(f"field:{f.key}")) == []  # a card field cannot be edited
            continue
        if f.type == "choice":
            kiosk.handle(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}"))
            continue
        kiosk.handle(flow.Tapped(f"field:{f.key}"))
        kiosk.handle(flow.TextEntered("nonsense!" if f.type == "mobile" else "x"))
        if f.type == "mobile":
            shown = next(x for x in kiosk.view().fields if x.key == f.key)
            assert shown.problem == "mobile"  # told next to the field as the resident types
            kiosk.handle(flow.TextEntered("13950000000"))
    effects = kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.MATERIALS
    for asked in of(effects, flow.FetchLicences):  # 数据互认: the library holds none of them (test_flow_exempt.py)
        kiosk.handle(flow.LicencesFetched(asked.item_code))
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.view().notice_key == "notice_materials_missing"
    for i, material in enumerate(item.materials):
        effects = kiosk.handle(flow.Tapped(f"capture:{i}"))
        assert of(effects, flow.CapturePage)[0].material == i
        kiosk.handle(flow.ServiceFailed("notice_page_not_found"))  # nothing under the camera: retake
        assert kiosk.view().notice_key == "notice_page_not_found"
        kiosk.handle(flow.PageCaptured(i, b"\xff\xd8jpeg", 1000, 1400))
    effects = kiosk.handle(flow.Tapped("retake:0"))
    assert of(effects, flow.CapturePage) and 0 not in kiosk.view().pages
    kiosk.handle(flow.PageCaptured(0, b"\xff\xd8jpeg2", 1000, 1400))
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.REVIEW
    effects = kiosk.handle(flow.Tapped("submit"))
    submit = of(effects, flow.Submit)[0]
    assert submit.kind == "application" and len(submit.materials) == len(item.materials)
    assert submit.applicant["id_number"] == the_card.id_number
    assert "jpeg" not in repr(submit)  # the repr never carries page bytes into a log
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000009"))
    job = of(effects, flow.PrintReceipt)[0]
    assert job.layout == "receipt" and the_card.id_number not in str(job.content)
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    assert kiosk.screen is Screen.DONE and the_card.id_number == ""  # wiped once the paper is out


def test_apply_works_while_the_platform_is_down(kiosk, catalog):
    kiosk.handle(flow.DeviceStates({"platform": False}))
    item = pick(catalog, "apply", ("id_card",), materials=True)
    assert item.identity == "id_card" and kiosk.unavailable(item) == ""  # stored now, forwarded later
    with_card = next(i for i in catalog.items if i.kind == "apply" and i.identity == "id_card_face"
                     and "social_security_card" in i.identity_alternatives)
    assert kiosk.unavailable(with_card) == ""  # the social security card identifies without the platform
    query = pick(catalog, "query")
    assert kiosk.unavailable(query) == "unavail_platform"
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("browse:all"))
    entry = next(e for e in kiosk.view().list if e[0] == query.code)
    assert entry[3] == "unavail_platform"
    kiosk.handle(flow.Tapped(f"detail:{query.code}"))
    assert kiosk.handle(flow.Tapped("begin")) == [] and kiosk.screen is Screen.DETAIL


def test_appointment_lists_slots_books_and_prints_the_slip(kiosk, catalog):
    item = pick(catalog, "appointment")
    effects = open_item(kiosk, item)
    assert of(effects, flow.ListSlots)
    kiosk.handle(flow.SlotsListed([{"slot_id": "a@1", "date": "2026-11-23", "time": "09:00", "available": 0},
                                   {"slot_id": "a@2", "date": "2026-11-23", "time": "09:30", "available": 2}]))
    assert kiosk.screen is Screen.SLOTS
    assert kiosk.handle(flow.Tapped("slot:a@1")) == []  # a full slot cannot be booked
    effects = kiosk.handle(flow.Tapped("slot:a@2"))
    assert of(effects, flow.BookSlot)[0].slot_id == "a@2"
    effects = kiosk.handle(flow.AppointmentBooked({"appointment_ref": "HCYY1", "starts_at": "2026-11-23T09:30"}))
    job = of(effects, flow.PrintReceipt)[0]
    assert job.layout == "appointment" and job.content["slot"] == "2026-11-23 09:30"
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    effects = kiosk.handle(flow.Tapped("rate:1"))
    assert not of(effects, flow.SendRating)  # a booking reference is not a rateable receipt
    assert kiosk.screen is Screen.THANKS


def test_certification_asks_consent_and_always_offers_another_way(kiosk, catalog):
    item = pick(catalog, "certification", ("id_card_face",))
    open_item(kiosk, item)
    assert kiosk.screen is Screen.CONSENT
    assert set(kiosk.view().item_identity) & {"social_security_card", "app_qr"}
    effects = kiosk.handle(flow.Tapped("consent"))
    assert of(effects, flow.CaptureFace)
    kiosk.handle(flow.FaceCaptured(b"", False, "no blink"))
    assert kiosk.screen is Screen.CONSENT and kiosk.view().notice_key == "notice_face_failed"
    kiosk.handle(flow.Tapped("consent"))
    effects = kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    verify = of(effects, flow.VerifyIdentity)[0]
    assert "\\xff" not in repr(verify) and sample_cards()[0].id_number not in repr(verify)
    kiosk.handle(flow.IdentityChecked(True))
    assert kiosk.screen is Screen.CONFIRM
    effects = kiosk.handle(flow.Tapped("confirm"))
    assert of(effects, flow.Submit)[0].form["face_verified"] is True


def test_certification_offers_the_app_not_a_card_in_place_of_the_face(kiosk, catalog):
    """A proof-of-life check: the app's own live check is the non-biometric way; a card alone is not."""
    item = pick(catalog, "certification", ("id_card_face",))
    open_item(kiosk, item)
    assert kiosk.view().alternatives == ["app_qr"]
    kiosk.handle(flow.Tapped("alt:social_security_card"))
    assert kiosk.screen is not Screen.CARD_PROMPT


def test_pulling_the_social_security_card_ends_the_session(kiosk, catalog):
    item = pick(catalog, "print", ("id_card_face",))
    assert "social_security_card" in item.identity_alternatives
    open_item(kiosk, item)
    kiosk.handle(flow.Tapped("alt:social_security_card"))
    kiosk.handle(flow.CardRead(sample_cards()[1], "social_security_card"))
    effects = kiosk.handle(flow.CardRemoved("social_security_card"))
    assert of(effects, flow.SessionWiped) and of(effects, flow.CancelPrints)
    assert kiosk.session is None and kiosk.view().notice_key == "notice_card_pulled"


def test_printer_out_marks_paper_items_and_apply_ends_with_the_qr(kiosk, catalog):
    kiosk.handle(flow.DeviceStates({"printer": False}))
    assert kiosk.unavailable(catalog.get("rs-sbjfzm")) == "unavail_printer"
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    assert kiosk.screen is Screen.DETAIL and kiosk.view().item_unavailable == "unavail_printer"
    item = pick(catalog, "apply", ("id_card", "id_card_face"), materials=False)
    kiosk.handle(flow.Tapped("home"))
    open_item(kiosk, item, card=False)
    agree_with_face(kiosk)
    for f in item.fields:
        if not f.prefill and f.type == "choice":
            kiosk.handle(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}"))
        elif not f.prefill:
            kiosk.handle(flow.Tapped(f"field:{f.key}"))
            kiosk.handle(flow.TextEntered({"mobile": "13950000000", "date": "2020-01-01", "amount": "1",
                                           "integer": "1"}.get(f.type, "测试")))
    kiosk.handle(flow.Tapped("next"))
    kiosk.handle(flow.Tapped("submit"))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000010"))
    assert not of(effects, flow.PrintReceipt)
    view = kiosk.view()
    assert view.screen == "done" and view.printed is False and view.result_url


def test_help_and_report_are_reachable_and_come_back(kiosk):
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:departments"))
    kiosk.handle(flow.Tapped("help"))
    assert kiosk.screen is Screen.HELP
    assert of(kiosk.handle(flow.Tapped("help:elderly")), flow.RequestHelp)[0].what == "help"
    kiosk.handle(flow.HelpQueued("HC-DEMO-001-20261121-000011"))
    assert kiosk.view().notice_key == "notice_help_no_help"  # with its number (issue 21)
    kiosk.handle(flow.Tapped("report:system_fault"))
    assert kiosk.screen is Screen.HELP_REPORT  # what happened and a phone, both optional (issue 21)
    report = of(kiosk.handle(flow.Tapped("report:send")), flow.RequestHelp)[0]
    assert (report.what, report.category) == ("report", "system_fault")
    assert kiosk.screen is Screen.HELP
    kiosk.handle(flow.Tapped("back"))
    assert kiosk.screen is Screen.CATEGORIES


def test_elder_mode_is_slower_and_ends_with_the_session(kiosk, clock):
    kiosk.handle(flow.Tapped("elder"))
    assert kiosk.screen is Screen.HOME and kiosk.view().elder
    assert len(kiosk.view().items) <= 4  # simpler layout
    clock.now += 91
    kiosk.handle(flow.Tick())
    assert not kiosk.warning  # twice the time in elder mode
    clock.now += 90
    kiosk.handle(flow.Tick())
    assert kiosk.warning
    kiosk.handle(flow.Tapped("exit"))
    assert not kiosk.view().elder


def test_search_by_pinyin_and_chips(kiosk):
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("search"))
    assert kiosk.view().list == []
    kiosk.handle(flow.TextEntered("sbjf"))
    assert any(code == "rs-sbjfzm" for code, *_ in kiosk.view().list)
    kiosk.handle(flow.Tapped("q:公积金"))
    assert kiosk.view().query == "公积金" and kiosk.view().list


def test_bad_rating_asks_why_before_thanking(kiosk):
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("item:rs-sbjfzm"))
    agree_with_face(kiosk)
    kiosk.handle(flow.DocumentFetched({"rows": []}))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000012"))
    kiosk.handle(flow.PrintFinished(of(effects, flow.PrintReceipt)[0].job_id, True))
    kiosk.handle(flow.Tapped("rate:4"))
    assert kiosk.screen is Screen.DONE and kiosk.view().rating_followup
    assert kiosk.handle(flow.Tapped("why:nonsense")) == []
    rating = of(kiosk.handle(flow.Tapped("why:unclear")), flow.SendRating)[0]
    assert (rating.level, rating.text) == (4, "unclear")


@pytest.mark.parametrize("target", ["", "item:", "detail:nope", "slot:x", "choice:a:b", "capture:99", "rate:9",
                                    "why:slow", "field:zzz", "use:", "alt:", "q:", "lang:xx", "begin", "submit"])
def test_nonsense_targets_on_every_screen_never_crash(kiosk, catalog, target):
    item = pick(catalog, "apply", ("id_card", "id_card_face"), materials=True)
    open_item(kiosk, item)
    for screen_target in (target, "back", target):  # the consent screen too
        kiosk.handle(flow.Tapped(screen_target))
        kiosk.view()
    open_item(kiosk, item)
    agree_with_face(kiosk)
    for screen_target in ("next", "back", target, "help", "back", target):
        kiosk.handle(flow.Tapped(screen_target))
        kiosk.view()


def test_every_card_field_the_catalog_may_name_has_a_prefill_reader():
    """数据互认: each catalog ``prefill`` key is read from the identity through one explicit table."""
    assert set(PREFILL) == set(get_args(CardField))
    card = sample_cards()[0]
    assert prefilled(card, "name") == card.name and prefilled(card, "birth_date") == card.birth_date.isoformat()
    assert prefilled(card, "valid_to") == (card.valid_to.isoformat() if card.valid_to else "")
