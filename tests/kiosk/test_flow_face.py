"""人证比对 for every 身份证+人脸 item, not only certification: consent, capture, platform check, and
the non-biometric ways — in the flow state machine, with no display and an injected clock."""

from __future__ import annotations

import pytest

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen

PRINT_ITEM = "rs-sbjfzm"  # 社保参保缴费证明打印: id_card_face, or a social security card, or the app QR
FACE = b"\xff\xd8face"


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def to_consent(kiosk, code=PRINT_ITEM):
    kiosk.handle(flow.CardRead(sample_cards()[0]))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{code}"))
    kiosk.handle(flow.Tapped("begin"))
    assert kiosk.screen is Screen.CONSENT


def test_every_id_card_face_item_asks_for_consent_whatever_its_kind(catalog, clock):
    kinds = set()
    # 免申即办 items have no application to begin (test_flow_exempt.py)
    for item in (i for i in catalog.items if i.identity == "id_card_face" and not i.exempt_from_application):
        k = flow.KioskFlow(catalog, clock, idle_timeout_s=90, warning_s=20)
        k.handle(flow.CardRead(sample_cards()[0]))
        k.handle(flow.Tapped("browse:all"))
        k.handle(flow.Tapped(f"detail:{item.code}"))
        effects = k.handle(flow.Tapped("begin"))
        assert k.screen is Screen.CONSENT, item.code
        assert not of(effects, (flow.FetchDocument, flow.RunQuery, flow.ListSlots))  # nothing before the face
        view = k.view()
        assert view.alternatives and set(view.alternatives) == set(item.identity_alternatives), item.code
        kinds.add(item.kind)
    assert {"print", "apply", "query", "certification"} <= kinds


def test_print_item_consent_shows_the_item_masked_applicant_and_the_other_ways(kiosk):
    to_consent(kiosk)
    view = kiosk.view()
    assert view.consent_confirms == "print" and view.item_code == PRINT_ITEM
    assert view.alternatives == ["social_security_card", "app_qr"]  # never face-only
    assert sample_cards()[0].id_number not in str(view) and sample_cards()[0].name not in str(view)
    assert view.face_failed == ""


def test_print_item_verified_goes_straight_to_the_document(kiosk):
    to_consent(kiosk)
    touches = kiosk.session.touches
    effects = kiosk.handle(flow.Tapped("consent"))
    assert of(effects, flow.CaptureFace) and kiosk.screen is Screen.WORKING
    effects = kiosk.handle(flow.FaceCaptured(FACE, True))
    verify = of(effects, flow.VerifyIdentity)[0]
    assert verify.item_code == PRINT_ITEM and verify.applicant["id_number"] == sample_cards()[0].id_number
    effects = kiosk.handle(flow.IdentityChecked(True))
    # 同意并打印 was the confirm: the document is fetched with no further touch.
    assert of(effects, flow.FetchDocument)[0].item_code == PRINT_ITEM
    assert kiosk.screen is Screen.WORKING and kiosk.session.touches == touches + 1  # no confirm touch
    kiosk.handle(flow.DocumentFetched({"rows": [], "doc_no": "D1"}))
    effects = kiosk.handle(flow.SubmissionAccepted("HC-DEMO-001-20261121-000020"))
    assert of(effects, flow.PrintReceipt)[0].layout == "certificate"


def test_print_item_not_verified_says_why_and_offers_the_other_ways(kiosk):
    to_consent(kiosk)
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(FACE, True))
    effects = kiosk.handle(flow.IdentityChecked(False, "face_mismatch"))
    assert not of(effects, flow.FetchDocument)
    view = kiosk.view()
    assert kiosk.screen is Screen.CONSENT and view.face_failed == "face_reason_mismatch"
    assert view.notice_key == "notice_face_failed"
    assert view.alternatives == ["social_security_card", "app_qr"]
    assert not kiosk.session.face_verified
    # The resident takes the other way: the social security card, no face.
    kiosk.handle(flow.Tapped("alt:social_security_card"))
    assert kiosk.screen is Screen.CARD_PROMPT and kiosk.view().awaiting == "social_security_card"
    kiosk.handle(flow.CardRead(sample_cards()[1], "social_security_card"))
    assert kiosk.screen is Screen.CONFIRM
    effects = kiosk.handle(flow.Tapped("confirm"))
    assert of(effects, flow.FetchDocument) and not of(effects, flow.CaptureFace)


def test_no_live_face_is_told_plainly_and_can_be_retried(kiosk):
    to_consent(kiosk)
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"", False, "no blink seen"))
    assert kiosk.screen is Screen.CONSENT and kiosk.view().face_failed == "face_reason_not_live"
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"", False, "no well-framed face"))
    assert kiosk.view().face_failed == "face_reason_no_face"
    effects = kiosk.handle(flow.Tapped("consent"))
    assert of(effects, flow.CaptureFace) and not kiosk.session.extra.get("face_failed")
    kiosk.handle(flow.FaceCaptured(FACE, True))
    effects = kiosk.handle(flow.IdentityChecked(True))
    assert of(effects, flow.FetchDocument)


def test_social_security_card_satisfies_the_item_and_skips_the_face(kiosk):
    kiosk.handle(flow.CardRead(sample_cards()[1], "social_security_card"))
    effects = kiosk.handle(flow.Tapped(f"item:{PRINT_ITEM}"))
    assert kiosk.screen is Screen.CONFIRM and not of(effects, flow.CaptureFace)
    effects = kiosk.handle(flow.Tapped("confirm"))
    fetch = of(effects, flow.FetchDocument)[0]
    assert fetch.applicant["id_number"] == sample_cards()[1].id_number
    assert kiosk.session.face_verified is False  # satisfied through the alternative, not the face


def test_social_security_card_laid_on_the_consent_screen_is_taken_instead(kiosk):
    to_consent(kiosk)
    kiosk.handle(flow.CardRead(sample_cards()[1], "social_security_card"))
    assert kiosk.screen is Screen.CONFIRM and kiosk.session.identity_source == "social_security_card"


def test_query_item_consent_carries_the_confirm(kiosk, catalog):
    item = next(i for i in catalog.items if i.kind == "query" and i.identity == "id_card_face")
    to_consent(kiosk, item.code)
    assert kiosk.view().consent_confirms == "query"
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(FACE, True))
    effects = kiosk.handle(flow.IdentityChecked(True))
    assert of(effects, flow.RunQuery)[0].item_code == item.code


def test_apply_item_goes_on_to_its_form_after_the_face(kiosk, catalog):
    item = next(i for i in catalog.items if i.kind == "apply" and i.identity == "id_card_face")
    to_consent(kiosk, item.code)
    assert kiosk.view().consent_confirms == ""
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(FACE, True))
    kiosk.handle(flow.IdentityChecked(True))
    assert kiosk.screen is Screen.FORM


def test_a_new_id_card_must_show_its_own_face(kiosk):
    to_consent(kiosk)
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(FACE, True))
    kiosk.handle(flow.IdentityChecked(True))
    kiosk.handle(flow.ServiceFailed("error_platform_unavailable"))
    assert kiosk.screen is Screen.ERROR
    kiosk.handle(flow.CardRead(sample_cards()[2]))  # someone else's card, a fresh session
    kiosk.handle(flow.Tapped(f"item:{PRINT_ITEM}"))
    assert kiosk.screen is Screen.CONSENT and not kiosk.session.face_verified


def test_without_the_face_camera_the_other_ways_remain(kiosk):
    kiosk.handle(flow.DeviceStates({"camera": False}))
    to_consent(kiosk)
    assert kiosk.unavailable(kiosk.catalog.get(PRINT_ITEM)) == ""  # alternatives keep the item open
    assert kiosk.view().face_possible is False and kiosk.view().alternatives
    effects = kiosk.handle(flow.Tapped("consent"))
    assert not of(effects, flow.CaptureFace) and kiosk.screen is Screen.CONSENT


@pytest.mark.parametrize("reason, key", [("face_mismatch", "face_reason_mismatch"),
                                         ("liveness_failed", "face_reason_not_live"),
                                         ("id_not_found", "face_reason_id_not_found"),
                                         ("photo_unavailable", "face_reason_photo_unavailable"),
                                         ("something new", "face_reason_other")])
def test_the_platforms_reason_is_told_in_plain_words(kiosk, reason, key):
    to_consent(kiosk)
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(FACE, True))
    kiosk.handle(flow.IdentityChecked(False, reason))
    assert kiosk.screen is Screen.CONSENT and kiosk.view().face_failed == key
    assert kiosk.view().alternatives


def apply_items(catalog, with_ssc: bool):
    return [i for i in catalog.items if i.kind == "apply" and i.identity == "id_card_face"
            and ("social_security_card" in i.identity_alternatives) == with_ssc]


def test_offline_a_face_apply_item_offers_the_social_security_card_not_the_face(kiosk, catalog):
    """Apply items keep working offline, but the face is compared at the identity platform: the
    consent screen says so and keeps the card that needs no platform."""
    item = apply_items(catalog, with_ssc=True)[0]
    kiosk.handle(flow.DeviceStates({"platform": False}))
    assert not kiosk.unavailable(item)
    to_consent(kiosk, item.code)
    view = kiosk.view()
    assert view.face_possible is False and view.face_unavailable_key == "face_unavailable_platform"
    assert "social_security_card" in view.alternatives
    assert not of(kiosk.handle(flow.Tapped("consent")), flow.CaptureFace)  # no face taken for nothing
    kiosk.handle(flow.Tapped("alt:social_security_card"))
    assert kiosk.screen is Screen.CARD_PROMPT


def test_offline_a_face_item_without_the_card_alternative_is_marked_unavailable(kiosk, catalog):
    item = apply_items(catalog, with_ssc=False)[0]
    assert not kiosk.unavailable(item)
    kiosk.handle(flow.DeviceStates({"platform": False}))
    assert kiosk.unavailable(item) == "unavail_face_platform"


def test_the_platform_failing_during_the_face_check_leads_back_to_the_other_ways(kiosk):
    to_consent(kiosk)
    assert of(kiosk.handle(flow.Tapped("consent")), flow.CaptureFace)
    assert of(kiosk.handle(flow.FaceCaptured(FACE, True)), flow.VerifyIdentity)
    kiosk.handle(flow.ServiceFailed("error_platform_unavailable"))
    assert kiosk.screen is Screen.CONSENT  # not the dead-end error screen
    view = kiosk.view()
    assert view.face_failed == "face_reason_platform" and view.alternatives
