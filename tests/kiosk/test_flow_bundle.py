"""一件事 in the flow state machine (kiosk/flow/bundle.py): one identity, one form, materials once,
one submission per item carrying the bundle, per-item outcomes, the bundle's receipt."""

from __future__ import annotations

import uuid
from decimal import Decimal

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen, bundle
from kiosk.flow.views import MASK, mirror_view


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def value_for(f) -> str:
    match f.type:
        case "citizen_id":
            return "11010519491231002X"
        case "mobile":
            return "13950000000"
        case "bank_account":
            return "6222020200112233"
        case "social_credit_code":
            return "91350100M000100Y43"
        case "date":
            return "2024-01-15"
        case "integer" | "amount":
            return str(int(max(f.min_value if f.min_value is not None else Decimal(1), Decimal(1))))
    return "测试"


def to_form(kiosk, code, *, card=True):
    """From the life events to the form, identified once with the ID card and the face."""
    effects = kiosk.handle(flow.CardRead(sample_cards()[0])) if card else kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:themes"))
    effects = kiosk.handle(flow.Tapped(f"bundle:{code}"))
    assert kiosk.screen is Screen.BUNDLE
    effects = kiosk.handle(flow.Tapped("start"))
    assert kiosk.screen is Screen.CONSENT, kiosk.screen
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    effects = kiosk.handle(flow.IdentityChecked(True))
    assert kiosk.screen is Screen.FORM
    return effects


def fill_and_capture(kiosk):
    item = kiosk.session.item
    for f in item.fields:
        if f.prefill:
            continue
        if f.type == "choice":
            kiosk.handle(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}"))
        else:
            kiosk.handle(flow.Tapped(f"field:{f.key}"))
            kiosk.handle(flow.TextEntered(value_for(f)))
    kiosk.handle(flow.Tapped("next"))
    captures = []
    for i, _ in enumerate(item.materials):
        captures += of(kiosk.handle(flow.Tapped(f"capture:{i}")), flow.CapturePage)
        kiosk.handle(flow.PageCaptured(i, f"page-{i}".encode(), 10, 10))
    if item.materials:
        kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.BUNDLE_REVIEW, (kiosk.screen, kiosk.notice)
    return captures


def submit_all(kiosk, failing=()):
    """Submit on the review; answer each item as the gateway would. Returns every effect."""
    effects = kiosk.handle(flow.Tapped("submit"))
    every = list(effects)
    serial = 0
    while kiosk.screen is Screen.WORKING:
        last = effects[-1]
        if isinstance(last, flow.FetchDocument):
            effects = kiosk.handle(flow.DocumentFetched({"title": "证明", "rows": [], "doc_no": "D1"}))
        elif last.item_code in failing:
            effects = kiosk.handle(flow.ServiceFailed("error_not_stored"))
        else:
            serial += 1
            effects = kiosk.handle(flow.SubmissionAccepted(f"HC-DEMO-001-20261121-{serial:06d}"))
        every += effects
    return every


def test_birth_is_one_identity_one_form_shared_materials_and_one_submission_per_item(kiosk, catalog):
    effects = to_form(kiosk, "birth")
    item = kiosk.session.item
    assert item.identity == "id_card_face" and item.identity_alternatives == ("app_qr",)  # every item takes it
    keys = [f.key for f in item.fields]
    assert len(keys) == len(set(keys)) and keys.count("child_name") == 1
    names = [m.name.zh_CN for m in item.materials]
    assert names.count("出生医学证明") == 1
    captures = fill_and_capture(kiosk)
    assert len(captures) == len(item.materials)  # each material taken once
    view = kiosk.view()
    assert [(p.code, p.department) for p in view.parts] == [
        (i.code, kiosk.department(i)) for i in catalog.bundle_items("birth")]
    effects = submit_all(kiosk)
    submits = of(effects, flow.Submit)
    spec = catalog.bundles["birth"]
    assert [s.item_code for s in submits] == list(spec.items)
    assert {s.bundle_code for s in submits} == {"birth"}
    assert len({s.bundle_id for s in submits}) == 1 and uuid.UUID(submits[0].bundle_id)
    assert len({s.request_id for s in submits}) == len(submits)
    for s in submits:
        own = catalog.get(s.item_code)
        assert set(s.form) == {f.key for f in own.fields}  # its share of the form, under its own keys
        assert len(s.materials) == len(own.materials)
    cert = item.materials[[m.name.zh_CN for m in item.materials].index("出生医学证明")]
    assert cert is not None
    shared_page = f"page-{names.index('出生医学证明')}".encode()
    carrying = [s.item_code for s in submits if any(m.data == shared_page for m in s.materials)]
    assert carrying == ["ga-csdj", "yb-xsecb", "yb-syfy"]  # scanned once, handed to each that needs it
    slips = of(effects, flow.PrintReceipt)
    assert len(slips) == 1 and slips[0].layout == "bundle"
    rows = slips[0].content["items"]
    assert [r["receipt_no"] for r in rows] == [f"HC-DEMO-001-20261121-{n:06d}" for n in range(1, 6)]
    kiosk.handle(flow.PrintFinished(slips[0].job_id, True))
    assert kiosk.screen is Screen.BUNDLE_RESULT and kiosk.session.identity is None
    mirrored = mirror_view(kiosk.view())  # the operators' mirror: no resident's receipt numbers
    assert {p.receipt_no for p in mirrored.parts} == {MASK} and all(p.receipt_no for p in kiosk.view().parts)
    kiosk.handle(flow.Tapped("finish"))
    assert kiosk.screen is Screen.DONE


def test_one_items_failure_is_that_items_and_the_others_go_on(kiosk):
    to_form(kiosk, "birth")
    fill_and_capture(kiosk)
    effects = submit_all(kiosk, failing=("ga-csdj",))
    assert len(of(effects, flow.Submit)) == 5
    slip = of(effects, flow.PrintReceipt)[0]
    states = {r["item_name"]: r["state"] for r in slip.content["items"]}
    assert states["出生登记"] == "failed" and list(states.values()).count("accepted") == 4
    kiosk.handle(flow.PrintFinished(slip.job_id, True))
    parts = {p.code: p for p in kiosk.view().parts}
    assert parts["ga-csdj"].state == "failed" and parts["ga-csdj"].reason_key == "error_not_stored"
    assert all(p.state == "accepted" and p.receipt_no for c, p in parts.items() if c != "ga-csdj")


def test_school_asks_two_different_questions_under_one_id_and_prints_the_certificate(kiosk, catalog):
    to_form(kiosk, "school")
    item = kiosk.session.item
    assert {"basis", "basis__jy_xxbm"} <= {f.key for f in item.fields}
    fill_and_capture(kiosk)
    effects = submit_all(kiosk)
    fetches = of(effects, flow.FetchDocument)
    assert [f.item_code for f in fetches] == ["rs-sbjfzm"]  # the print item: fetched, then a print request
    submits = {s.item_code: s for s in of(effects, flow.Submit)}
    assert submits["rs-sbjfzm"].kind == "print_request" and submits["rs-sbjfzm"].bundle_code == "school"
    assert "basis" in submits["jy-xxbm"].form and "basis" in submits["ga-jzzbl"].form
    job = of(effects, flow.PrintReceipt)[0]
    assert job.layout == "bundle"
    effects = kiosk.handle(flow.PrintFinished(job.job_id, True))
    certificate = of(effects, flow.PrintReceipt)[0]  # after the bundle's receipt
    assert certificate.layout == "certificate" and certificate.content["document"]["doc_no"] == "D1"
    kiosk.handle(flow.PrintFinished(certificate.job_id, False, "printer_paper_out"))
    assert kiosk.screen is Screen.BUNDLE_RESULT and kiosk.view().printed is True  # the receipt came out


def test_without_a_printer_the_result_says_so_and_offers_the_qr(kiosk):
    to_form(kiosk, "employment")
    fill_and_capture(kiosk)
    kiosk.handle(flow.DeviceStates({"printer": False}))
    effects = submit_all(kiosk)
    assert not of(effects, flow.PrintReceipt) and kiosk.screen is Screen.BUNDLE_RESULT
    view = kiosk.view()
    assert view.printed is False and view.print_reason == "printer_unavailable" and view.result_url


def test_a_bundle_opens_from_search_and_home_too_and_back_returns(kiosk):
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("search"))
    kiosk.handle(flow.Tapped("bundle:retirement"))
    assert kiosk.screen is Screen.BUNDLE and kiosk.view().bundle_code == "retirement"
    kiosk.handle(flow.Tapped("detail:gjj-txtq"))
    assert kiosk.screen is Screen.DETAIL and kiosk.view().item_code == "gjj-txtq"
    kiosk.handle(flow.Tapped("back"))
    assert kiosk.screen is Screen.BUNDLE and kiosk.view().bundle_code == "retirement"
    kiosk.handle(flow.Tapped("back"))
    assert kiosk.screen is Screen.SEARCH
    kiosk.handle(flow.Tapped("home"))
    kiosk.handle(flow.Tapped("bundle:nonexistent"))
    assert kiosk.screen is Screen.HOME


def test_a_single_item_after_a_bundle_is_reviewed_as_itself(kiosk, catalog):
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("browse:themes"))
    kiosk.handle(flow.Tapped("bundle:employment"))
    kiosk.handle(flow.Tapped("home"))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped("detail:rs-jydj"))
    kiosk.handle(flow.Tapped("begin"))
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    kiosk.handle(flow.IdentityChecked(True))
    assert kiosk.screen is Screen.FORM and bundle.run_of(kiosk) is None
    fill_and_capture_single = kiosk.session.item
    for f in fill_and_capture_single.fields:
        if not f.prefill:
            kiosk.handle(flow.Tapped(f"field:{f.key}"))
            kiosk.handle(flow.TextEntered(value_for(f)))
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.REVIEW
    submits = of(kiosk.handle(flow.Tapped("submit")), flow.Submit)
    assert submits[0].bundle_id == "" and submits[0].bundle_code == ""


def test_the_result_follows_each_items_delivery_until_it_is_delivered(kiosk, clock):
    to_form(kiosk, "employment")
    fill_and_capture(kiosk)
    effects = submit_all(kiosk, failing=("rs-zgcb",))
    slip = of(effects, flow.PrintReceipt)[0]
    effects = kiosk.handle(flow.PrintFinished(slip.job_id, True))
    assert kiosk.screen is Screen.BUNDLE_RESULT
    asked = of(effects, flow.CheckDeliveries)[0].receipts
    parts = {p.code: p for p in kiosk.view().parts}
    assert set(asked) == {parts["rs-jydj"].receipt_no, parts["gjj-zgkh"].receipt_no}  # not the refused one
    first, second = parts["rs-jydj"].receipt_no, parts["gjj-zgkh"].receipt_no
    kiosk.handle(flow.DeliveriesChecked({first: "delivered", second: "queued"}))
    parts = {p.code: p for p in kiosk.view().parts}
    assert (parts["rs-jydj"].delivery, parts["gjj-zgkh"].delivery, parts["rs-zgcb"].delivery) == \
        ("delivered", "queued", "")
    assert not of(kiosk.handle(flow.Tick()), flow.CheckDeliveries)  # not before CHECK_S
    clock.now += bundle.CHECK_S
    again = of(kiosk.handle(flow.Tick()), flow.CheckDeliveries)
    assert again and again[0].receipts == (second,)  # only what is still on its way
    kiosk.handle(flow.DeliveriesChecked({second: "delivered"}))
    clock.now += bundle.CHECK_S
    assert not of(kiosk.handle(flow.Tick()), flow.CheckDeliveries)  # everything delivered: no more asking
