"""The scripted journeys of ``kiosk demo``: one per item kind, plus offline, printer out, timeout,
elder mode, 繁體, English, progress lookup by scanning a receipt, app-QR sign-in and a pulled social
security card. Each drives a real :class:`KioskApp` by touches at widget positions
(and, for typing, the text the on-screen keyboard would produce) and returns what it saw."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pygame
import requests

from kiosk.catalog.loading import Catalog, ServiceItem
from kiosk.flow.exempt import answer_pending
from kiosk.flow.views import (
    ExemptView,
    MaterialsView,
    PaymentView,
    ProgressResultView,
    ResultView,
    ScanView,
    SlotsView,
    View,
    shared,
)
from kiosk.qrcodes import staff_pass_payload

if TYPE_CHECKING:
    from screens.demo import ScriptedResident

DEMO_ITEM = "rs-sbjfzm"

# A valid sample answer per field type, as a resident would type it.
SAMPLE_VALUES = {"text": "厦门市海沧区", "mobile": "13950000000", "date": "2020-01-01", "amount": "100",
                 "integer": "2", "bank_account": "6222020200112233445", "citizen_id": "11010519491231002X",
                 "social_credit_code": "91350200MA2XXXXX0A"}


V = TypeVar("V", bound=View)

def pick(catalog: Catalog, kind: str, identity: tuple[str, ...] = ("id_card", "none"),
         materials: bool | None = None) -> ServiceItem:
    """The first item of ``kind`` whose default identity is one of ``identity``."""
    for item in catalog.items:  # fee items pay before they submit: their own journey (``payment``)
        if item.kind == kind and item.identity in identity and item.payment == "none" and \
                (materials is None or bool(item.materials) == materials):
            return item
    for item in catalog.items:
        if item.kind == kind:
            return item
    raise LookupError(kind)


def shown(r: ScriptedResident, kind: type[V]) -> V:
    """The flow's view of the screen shown, as the screen's own view ``kind`` (its parts at their
    defaults while another screen shows)."""
    view = r.app.flow.view()
    return view if isinstance(view, kind) else kind(**shared(view))


def find(r: ScriptedResident, item: ServiceItem) -> None:
    """Home → search → type the item's name → its detail."""
    r.touch("search")
    r.wait_for("search")
    r.type_text(item.name.get("zh_CN"))
    r.app.step()
    r.save("search-typed")
    r.touch(f"detail:{item.code}")
    r.wait_for("detail")


def lay_card(r: ScriptedResident) -> None:
    """Lay the test ID card on the reader (after the last one was taken away) and wait until it is read."""
    r.wait_until(lambda: not r.app.terminal.sample_card_on_pad, "the card pad to be clear", 10)
    r.app.insert_sample_card()
    r.wait_until(lambda: r.app.flow.session is not None and r.app.flow.session.identity is not None,
                 "the ID card to be read")


def face_check(r: ScriptedResident, then: str) -> dict[str, Any]:
    """人证比对: on the consent screen, agree; the simulated face camera finds a blinking face and the
    platform verifies it; wait for ``then``. Returns the ways offered instead of the face and the outcome."""
    r.wait_for("consent")
    alternatives = [b.target for b in r.app.renderer.buttons if b.target.startswith("alt:")]
    r.touch("consent")
    r.wait_for(then, timeout_s=40)
    session = r.app.flow.session
    return {"non_biometric_offered": alternatives, "face_verified": bool(session and session.face_verified)}


def rate_and_leave(r: ScriptedResident, level: int = 1) -> str:
    """Rate on the done screen; returns what the thanks screen says (its spoken text)."""
    r.touch(f"rate:{level}")
    r.wait_for("thanks")
    return r.app.renderer.main_text


def print_item(r: ScriptedResident, *, language: str = "", elder: bool = False) -> dict[str, Any]:
    """The skeleton's journey: ID card at attract → item → 同意并打印 (face check) → print → rate."""
    r.wait_for("attract")
    if language:
        r.touch(f"lang:{language}")
    if elder:
        r.touch("elder")
        r.wait_for("home")
    lay_card(r)
    r.wait_for("home")
    r.touch(f"item:{DEMO_ITEM}")
    face = face_check(r, "done")  # the consent carries the confirm: straight on to the print
    seen = {"printed": bool(r.app.flow.view().printed), "receipt_no": r.app.flow.view().receipt_no,
            **face}
    seen["thanks_text"] = rate_and_leave(r)
    seen["thanks_language"] = r.app.flow.view().language
    return seen


def guide(r: ScriptedResident) -> dict[str, Any]:
    item = pick(r.app.flow.catalog, "guide", ("none",))
    r.wait_for("attract")
    r.touch("start")
    r.wait_for("home")
    find(r, item)
    r.touch("begin")
    r.wait_for("done")
    seen = {"item": item.code, "printed": bool(r.app.flow.view().printed)}
    rate_and_leave(r)
    return seen


def query(r: ScriptedResident) -> dict[str, Any]:
    item = pick(r.app.flow.catalog, "query", ("id_card",))
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    find(r, item)
    r.touch("begin")
    r.wait_for("confirm")
    r.touch("confirm")
    r.wait_for("result")
    rows = len(shown(r, ResultView).answer_rows)
    r.touch("print")
    r.wait_for("done")
    seen = {"item": item.code, "answer_rows": rows, "printed": bool(r.app.flow.view().printed)}
    rate_and_leave(r)
    return seen


def apply(r: ScriptedResident, *, expect_offline: bool = False,
          identity: tuple[str, ...] = ("id_card", "id_card_face")) -> dict[str, Any]:
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    return apply_from_home(r, expect_offline=expect_offline, identity=identity)


def fill_form(r: ScriptedResident, item: ServiceItem) -> None:
    """Touch the first choice of each choice field and type a sample into each other required field the
    card did not fill."""
    for f in item.fields:
        if f.prefill:
            continue
        if f.type == "choice":
            r.touch(f"choice:{f.key}:{f.choices[0].value}")
        elif f.required:
            r.touch(f"field:{f.key}")
            r.type_text(SAMPLE_VALUES.get(f.type, "测试"))
            r.touch_if_shown("kb:done")


def capture_materials(r: ScriptedResident, item: ServiceItem) -> None:
    """On the materials screen: take a page of every required material, each seen taken."""
    r.wait_for("materials")
    for i, material in enumerate(item.materials):
        if not material.optional:
            r.touch(f"capture:{i}")
            r.wait_until(lambda i=i: shown(r, MaterialsView).pages.get(i), f"page {i} taken")


def apply_from_home(r: ScriptedResident, *, expect_offline: bool = False,
                    identity: tuple[str, ...] = ("id_card", "id_card_face")) -> dict[str, Any]:
    """An application with its form and materials, from the home screen with the card already read."""
    item = pick(r.app.flow.catalog, "apply", identity, materials=True)
    find(r, item)
    r.touch("begin")
    if item.identity == "id_card_face":
        face_check(r, "form")
    r.wait_for("form")
    prefilled = sum(1 for f in item.fields if f.prefill)
    fill_form(r, item)
    r.touch("next")
    capture_materials(r, item)
    r.app.step()
    r.save("materials-taken")
    pages = sum(shown(r, MaterialsView).pages.values())  # what the resident confirmed
    r.touch("next")
    r.wait_for("review")
    if expect_offline:
        r.save("review-offline")
    r.touch("submit")
    r.wait_for("done")
    view = r.app.flow.view()
    seen = {"item": item.code, "prefilled_fields": prefilled, "receipt_no": view.receipt_no,
            "printed": bool(view.printed), "pages_confirmed": pages}
    rate_and_leave(r)
    return seen


def payment(r: ScriptedResident, code: str = "ga-hzsl") -> dict[str, Any]:
    """普通护照申领 with its fee: the form, the photo receipt, review, the fee (¥120.00 and its basis), the
    payment QR code; the resident's phone pays at the payment platform (the simulator's /admin door
    plays the phone); the terminal hears it from the gateway and prints the receipt with the bill."""
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    item = r.app.flow.catalog.get(code)
    assert item is not None and item.payment != "none"
    find(r, item)
    r.touch("begin")
    if item.identity == "id_card_face":
        face_check(r, "form")
    r.wait_for("form")
    fill_form(r, item)
    r.touch("next")
    if item.materials:
        capture_materials(r, item)
        r.touch("next")
    r.wait_for("review")
    r.touch("submit")
    r.wait_for("payment")
    fee = shown(r, PaymentView)
    r.touch("pay")
    r.wait_until(lambda: shown(r, PaymentView).pay_phase == "qr", "the payment QR code", 20)
    r.app.step()
    r.save("payment-qr")
    session = r.app.flow.session
    assert session is not None
    order_no = str(session.extra["pay"]["order_no"])
    platform = r.app.settings.platform.url
    paid = requests.post(f"{platform}/admin/payments/{order_no}/pay", json={}, timeout=5)
    paid.raise_for_status()
    r.wait_for("done", timeout_s=40)
    view = r.app.flow.view()
    seen = {"item": item.code, "amount": fee.amount_text, "amount_words": fee.amount_words,
            "fee_purpose": fee.fee_purpose, "order_no": order_no, "paid_text": view.paid_text,
            "receipt_no": view.receipt_no, "printed": bool(view.printed), "bill_no": paid.json()["bill"]["number"]}
    rate_and_leave(r)
    return seen


def appointment(r: ScriptedResident) -> dict[str, Any]:
    item = pick(r.app.flow.catalog, "appointment", ("id_card",))
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    find(r, item)
    r.touch("begin")
    r.wait_for("slots")
    slot = next(s for s in shown(r, SlotsView).slots if s[2] > 0)
    r.touch(f"slot:{slot[0]}")
    r.wait_for("done")
    seen = {"item": item.code, "booking": r.app.flow.view().receipt_no,
            "printed": bool(r.app.flow.view().printed)}
    rate_and_leave(r)
    return seen


def certification(r: ScriptedResident) -> dict[str, Any]:
    item = pick(r.app.flow.catalog, "certification", ("id_card_face",))
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    find(r, item)
    r.touch("begin")
    r.wait_for("consent")
    alternatives = [b.target for b in r.app.renderer.buttons if b.target.startswith("alt:")]
    r.touch("consent")
    r.wait_for("confirm", timeout_s=40)
    r.touch("confirm")
    r.wait_for("done")
    view = r.app.flow.view()
    seen = {"item": item.code, "non_biometric_offered": alternatives, "receipt_no": view.receipt_no,
            "printed": bool(view.printed)}
    rate_and_leave(r)
    return seen


def printer_out(r: ScriptedResident) -> dict[str, Any]:
    """The printer runs out of paper: the print item says so and offers another way; an application
    still goes through and its receipt comes as a QR code on the screen."""
    sim = r.app.terminal.hardware.printer_simulator
    assert sim is not None
    sim.set_state(paper="out")
    r.wait_until(lambda: not r.app.flow.available.get("printer", True), "printer marked unavailable", 15)
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    r.touch("browse:all")
    r.wait_for("list")
    r.touch(f"detail:{DEMO_ITEM}")
    r.wait_for("detail")
    reason = r.app.flow.view().item_unavailable
    r.touch("back")
    r.wait_for("list")
    r.touch("back")
    r.wait_for("home")
    seen = apply_from_home(r)
    return {"print_item_unavailable": reason, **seen}


def timeout(r: ScriptedResident) -> dict[str, Any]:
    """Nobody touches: the warning comes, then the session ends and is wiped."""
    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    r.advance(r.app.flow.idle_timeout_s + 1)
    r.wait_until(lambda: r.app.flow.warning, "timeout warning")
    r.save("warning")
    r.touch("extend")
    r.advance(r.app.flow.idle_timeout_s + r.app.flow.warning_s + 2)
    r.wait_for("timeout")
    return {"extended": 1, "session_wiped": r.app.flow.session is None}


def offline_apply(r: ScriptedResident) -> dict[str, Any]:
    r.wait_until(lambda: not r.app.flow.available.get("platform", True), "platform marked unreachable", 20)
    # An item the ID card alone identifies for: a face is compared at the (unreachable) identity
    # platform, so face items offer only the social security card offline (tests/kiosk/test_flow_face.py).
    return apply(r, expect_offline=True, identity=("id_card",))


def progress_lookup(r: ScriptedResident) -> dict[str, Any]:
    """办件进度查询: a print item first (a real submission, its receipt printed with the progress QR),
    then a resident with that receipt scans it at the attract screen — no card — and prints the progress."""
    seen = print_item(r)
    r.touch("home")  # leave the thanks notice at once
    r.wait_for("attract")
    r.touch("progress")
    # The simulated camera may read the receipt within the very turn of the loop that opened the scan.
    r.wait_until(lambda: r.app.flow.screen.value in ("scan", "working", "progress_result"), "the scan")
    r.wait_for("progress_result", timeout_s=40)
    view = shown(r, ProgressResultView)
    looked_up = {"looked_up": view.progress_no, "status": view.progress_status,
                 "steps": len(view.progress_steps), "reason": view.progress_reason}
    if any(b.target == "print" for b in r.app.renderer.buttons):
        r.touch("print")
        r.wait_until(lambda: r.app.flow.screen.value == "progress_result" and r.app.flow.view().notice_key,
                     "the progress slip printed")
        r.save("progress-printed")
    r.touch("exit")
    r.wait_for("attract")
    return {**seen, **looked_up, "session_wiped": r.app.flow.session is None}


def app_sign_in(r: ScriptedResident) -> dict[str, Any]:
    """扫码登录: the resident first shows an expired code (told so, with the cards offered), refreshes it
    in the app and scans again; no face check, then the print item as usual. Both codes are issued by
    the platform simulator (as the government app gets them) and the good one is redeemed there,
    through the gateway."""

    phone = r.app.terminal.hardware.cameras["qr_camera"].app
    phone.hold_up_signin(expires_in_s=-60)  # issued by the platform when the phone shows it
    r.wait_for("attract")
    r.touch("start")
    r.wait_for("home")
    r.touch(f"item:{DEMO_ITEM}")
    r.wait_for("card_prompt")
    r.touch("use:app_qr")
    r.wait_until(lambda: shown(r, ScanView).scan_failed, "the expired code to be refused", 30)
    refused = shown(r, ScanView).scan_failed
    r.save("signin-expired")
    r.touch("rescan")
    r.wait_for("confirm", timeout_s=40)
    source = r.app.flow.view().identity_source
    codes = requests.get(f"{r.app.settings.platform.url}/admin/signin-codes", timeout=5).json()
    r.touch("confirm")
    r.wait_for("done", timeout_s=40)
    view = r.app.flow.view()
    seen = {"refused_first": refused, "identity_source": source, "receipt_no": view.receipt_no,
            "printed": bool(view.printed), "codes_issued_by_platform": codes.get("held", 0),
            "codes_redeemed_by_platform": codes.get("redeemed", 0)}
    rate_and_leave(r)
    return seen


def card_pulled(r: ScriptedResident) -> dict[str, Any]:
    """A social security card in the simulated reader (pyscard, a private pcscd, a virtual card) starts
    the session; the resident pulls it while filling in the form: the session ends and is wiped."""
    sim = r.app.terminal.hardware.ssc_simulator
    if sim is None:
        raise LookupError("the simulated social security card reader did not start (see the log)")
    item = r.app.flow.catalog.get("rs-jydj") or pick(r.app.flow.catalog, "apply", ("social_security_card",))
    r.wait_for("attract")
    sim.insert()
    r.wait_for("home", timeout_s=30)
    find(r, item)
    r.touch("begin")
    r.wait_for("form")
    field = next(f for f in item.fields if not f.prefill and f.type == "mobile")
    r.touch(f"field:{field.key}")
    r.type_text(SAMPLE_VALUES["mobile"])
    r.save("form-typing")
    sim.pull()
    r.wait_for("attract", timeout_s=30)
    view = r.app.flow.view()
    r.save("card-pulled")
    return {"item": item.code, "notice": view.notice_key, "session_wiped": r.app.flow.session is None}


# -- audio mode: a blind resident's journey, by the keypad and the announcements alone --------------

AUDIO_APPLY = "yb-gjbd"  # 家庭共济绑定: a choice, an ID number (with its X) and a mobile number typed on the keypad


def heard(r: ScriptedResident) -> str:
    """The last announcement (what the resident just heard)."""
    transcript = r.app.speaker.transcript
    return transcript[-1].text if transcript else ""


def press_until(r: ScriptedResident, key: int, said: str, limit: int = 80) -> str:
    """Press ``key`` until an announcement has ``said`` in it (as a resident listens for an entry);
    past the last page, ← goes back to the first. Returns that announcement."""
    r.app.step()
    if said in heard(r):
        return heard(r)
    for _ in range(limit):
        r.press(key)
        if said in heard(r):
            return heard(r)
        if key == pygame.K_DOWN and heard(r) == r.app.audio.t("a11y_end"):
            r.press(pygame.K_RIGHT)  # the end of this page: the next one
            if said in heard(r):
                return heard(r)
    raise LookupError(f"never heard {said!r}; last: {heard(r)!r}")


def type_on_keypad(r: ScriptedResident, text: str) -> None:
    """Digits on the 12-key pad; * is the ID number's X; # finishes the field."""
    for ch in text:
        r.press(pygame.K_ASTERISK if ch == "X" else getattr(pygame, f"K_KP{ch}"))
    r.press(pygame.K_HASH)


def audio_print(r: ScriptedResident) -> dict[str, Any]:
    """社保参保缴费证明打印 by keys: help key → start → the item → card → consent by Enter → print → rate."""
    catalog = r.app.flow.catalog
    name = catalog.get(DEMO_ITEM).name.get("zh_CN")
    r.wait_for("attract")
    r.press(pygame.K_F1)  # the keypad's help key starts audio mode
    press_until(r, pygame.K_DOWN, r.app.audio.t("button_start"))
    r.press(pygame.K_RETURN)
    r.wait_for("home")
    press_until(r, pygame.K_DOWN, name)
    r.press(pygame.K_RETURN)
    r.wait_for("card_prompt")
    lay_card(r)  # the card reader's place was announced
    r.wait_for("consent")
    r.press(pygame.K_RETURN)  # the focus starts on 同意并打印
    r.wait_for("done", timeout_s=40)
    seen = {"printed": bool(r.app.flow.view().printed), "receipt_no": r.app.flow.view().receipt_no}
    press_until(r, pygame.K_DOWN, r.app.audio.t("rate_1"))
    r.press(pygame.K_RETURN)
    r.wait_for("thanks")
    return seen


def audio_apply(r: ScriptedResident) -> dict[str, Any]:
    """家庭共济绑定 by keys: departments → 医保 → the item → face check → the form typed on the keypad."""
    catalog = r.app.flow.catalog
    item = catalog.get(AUDIO_APPLY)
    t = r.app.audio.t
    r.wait_for("attract")
    r.press(pygame.K_F1)
    r.press(pygame.K_RETURN)  # the focus starts on 开始办理
    r.wait_for("home")
    lay_card(r)
    press_until(r, pygame.K_DOWN, t("browse_departments"))
    r.press(pygame.K_RETURN)
    r.wait_for("categories")
    press_until(r, pygame.K_DOWN, catalog.departments[item.department_code].name.get("zh_CN"))
    r.press(pygame.K_RETURN)
    r.wait_for("list")
    press_until(r, pygame.K_DOWN, item.name.get("zh_CN"))
    r.press(pygame.K_RETURN)
    r.wait_for("detail")
    press_until(r, pygame.K_DOWN, t("detail_begin"))
    r.press(pygame.K_RETURN)
    r.wait_for("consent")
    r.press(pygame.K_RETURN)
    r.wait_for("form", timeout_s=40)
    for f in item.fields:
        if f.prefill:
            continue
        if f.type == "choice":
            press_until(r, pygame.K_DOWN, f.choices[0].label.get("zh_CN"))
            r.press(pygame.K_RETURN)
        else:
            press_until(r, pygame.K_DOWN, f.label.get("zh_CN"))
            r.press(pygame.K_RETURN)
            type_on_keypad(r, SAMPLE_VALUES[f.type])
    press_until(r, pygame.K_DOWN, t("button_next"))
    r.press(pygame.K_RETURN)
    r.wait_for("review")
    press_until(r, pygame.K_DOWN, t("review_submit"))
    r.press(pygame.K_RETURN)
    r.wait_for("done", timeout_s=40)
    seen = {"item": item.code, "receipt_no": r.app.flow.view().receipt_no,
            "printed": bool(r.app.flow.view().printed)}
    press_until(r, pygame.K_DOWN, t("rate_1"))
    r.press(pygame.K_RETURN)
    r.wait_for("thanks")
    return seen


def audio(r: ScriptedResident) -> dict[str, Any]:
    """A blind resident, twice: the print item, then an application with a form; keys only."""
    printed = audio_print(r)
    r.wait_for("attract", timeout_s=20)
    applied = audio_apply(r)
    return {**printed, "apply": applied}


def assisted(r: ScriptedResident) -> dict[str, Any]:
    """帮办代办: a technician issues a staff pass (a helper token labelled with the staff number, through the
    gateway's technician door); the staff member shows it to the QR camera at the attract screen and the
    banner with the staff number shows from then on; the resident's card, the print item, the face check,
    and the resident consents on screen; the platform receives the staff number as 代办人 with the consent.
    Then the staff member ends the session and everything is forgotten."""
    technician = (Path(r.app.settings.gateway.data_dir) / "first-token.txt").read_text().strip()
    issued = requests.post(f"{r.app.terminal.gateway_url}/api/v1/tokens", timeout=10,
                           headers={"Authorization": f"Bearer {technician}"}, json={"role": "helper", "label": "0427"})
    issued.raise_for_status()
    phone = r.app.terminal.hardware.cameras["qr_camera"].app
    phone.hold_up(staff_pass_payload(str(issued.json()["token"])))
    r.wait_for("attract")
    r.touch("staff:signin")
    r.wait_for("home", timeout_s=40)
    staff_no = r.app.flow.view().staff_no
    lay_card(r)
    r.touch(f"item:{DEMO_ITEM}")
    face = face_check(r, "assisted_consent")
    r.touch("assisted:consent")
    r.wait_for("done", timeout_s=40)
    view = r.app.flow.view()
    receipt_no = view.receipt_no

    def at_platform() -> dict[str, Any] | None:
        held = requests.get(f"{r.app.settings.platform.url}/admin/received", timeout=5).json()["applications"]
        return next((a["body"] for a in held if a["body"].get("receipt_no") == receipt_no), None)
    r.wait_until(at_platform, "the assisted submission at the platform", 20)
    body = at_platform() or {}
    rate_and_leave(r)
    r.touch("home")
    r.wait_for("attract")
    r.save("attract-staff")
    r.touch("staff:end")
    r.wait_until(lambda: not r.app.flow.view().staff_no, "the staff session to end")
    return {"staff_no": staff_no, "receipt_no": receipt_no, "printed": bool(view.printed), **face,
            "agent_at_platform": body.get("assisted", {}).get("agent_staff_no"),
            "consent_at_platform": body.get("assisted", {}).get("consent", {}).get("kind"),
            "staff_session_ended": r.app.flow.staff is None and r.app.flow.session is None}
def bundle_journey(r: ScriptedResident, code: str) -> dict[str, Any]:
    """一件事 end to end: the life events → the bundle's intro → one identity (ID card and face) → one form →
    each material once → the review of what goes to which department → one submission per item, each
    with the bundle's id → one receipt listing every item → the result per item → rate."""
    # lazy: the bundle's view is this journey's alone (the other journeys do not need it)
    from kiosk.flow.views import BundleView

    r.wait_for("attract")
    lay_card(r)
    r.wait_for("home")
    r.touch("browse:themes")
    r.wait_for("categories")
    r.touch(f"bundle:{code}")
    r.wait_for("bundle")
    r.save("bundle-intro")
    intro = shown(r, BundleView)
    r.touch("start")
    face = face_check(r, "form")
    session = r.app.flow.session
    assert session is not None and session.item is not None
    item = session.item
    for f in item.fields:  # every field of every item, each once
        if f.prefill or not f.required:
            continue
        if f.type == "choice":
            r.touch(f"choice:{f.key}:{f.choices[0].value}")
        elif f.type == "date":  # the date picker: a year back from today
            r.touch(f"field:{f.key}")
            r.touch("date:year:-1")
            r.touch("date:done")
        else:
            r.touch(f"field:{f.key}")
            r.type_text(SAMPLE_VALUES.get(f.type, "测试"))
            r.touch_if_shown("kb:done")
    r.touch("next")
    if item.materials:
        capture_materials(r, item)
        r.touch("next")
    r.wait_for("bundle_review")
    r.save("bundle-review")
    r.touch("submit")
    r.wait_for("bundle_result", timeout_s=60)
    r.save("bundle-result")
    result = shown(r, BundleView)
    seen = {"bundle": code, "items": [p.code for p in intro.parts],
            "departments": {p.code: p.department for p in intro.parts},
            "fields_asked": [f.key for f in item.fields], "materials_asked": len(item.materials),
            "states": {p.code: p.state for p in result.parts},
            "receipts": {p.code: p.receipt_no for p in result.parts},
            "printed": bool(r.app.flow.view().printed), "receipt_no": r.app.flow.view().receipt_no, **face}
    r.touch("finish")
    r.wait_for("done")
    rate_and_leave(r)
    return seen


def home_after_card(r: ScriptedResident, timeout_s: float = 20.0) -> None:
    """A card laid at attract: home — or, for a holder the platform granted something without applying, its
    notice first (it may come up before a script sees home): read, and continue to home."""
    r.wait_until(lambda: r.app.flow.screen.value in ("home", "exempt"), "the 'home' screen", timeout_s)
    past_notice(r, timeout_s)
    r.wait_for("home", timeout_s)


def past_notice(r: ScriptedResident, timeout_s: float = 20.0) -> None:
    """After a card: wait for the platform's 免申即办 answer; if its notice came up, read it and continue
    (one touch), as a resident would, so the next touch lands where the script means it to."""
    r.wait_until(lambda: not answer_pending(r.app.flow), "the platform's answer about benefits", timeout_s)
    r.app.step()
    if r.app.flow.screen.value == "exempt":
        r.touch("continue")


def exempt(r: ScriptedResident) -> dict[str, Any]:
    """免申即办: the test card at attract; the platform says what it granted without an application and the
    notice shows it (您已自动享受…); one touch continues. Then that item's detail: 无需申请, its status
    instead of an application, and its decision printed."""
    r.wait_for("attract")
    # The third test card's holder: the platform simulator grants her 生育津贴 (local_api/sim/benefits.py).
    r.wait_until(lambda: not r.app.terminal.sample_card_on_pad, "the card pad to be clear", 10)
    r.app.insert_sample_card(2)
    r.wait_for("exempt", timeout_s=20)
    notice = shown(r, ExemptView)
    seen: dict[str, Any] = {"notice": [(b.name, b.status, b.day) for b in notice.benefits]}
    r.touch("continue")
    r.wait_for("home")
    code = next((i.code for i in r.app.flow.catalog.items if i.exempt_from_application
                 and i.name.get(notice.language) == notice.benefits[0].name), "")
    item = r.app.flow.catalog.get(code)
    assert item is not None, "the notice names no exempt item of the catalog"
    find(r, item)
    seen["offers_application"] = "begin" in [b.target for b in r.app.renderer.buttons]
    r.touch("exempt:status")
    r.wait_for("exempt", timeout_s=20)
    seen["status"] = [b.status for b in shown(r, ExemptView).benefits]
    r.touch("print")
    r.wait_for("done")
    seen["item"], seen["printed"] = item.code, bool(r.app.flow.view().printed)
    rate_and_leave(r)
    return seen


def remote_help(r: ScriptedResident) -> dict[str, Any]:
    """帮办 at night (issue 21): the station is unstaffed, the resident asks for the remote desk, a staff
    member (a helper token, over the gateway's HTTP like the desk page) accepts, the resident consents,
    the desk points at a button and sends a prepared message, the resident ends the help."""
    # lazy: the desk's side of the script only
    from kiosk.opening_hours import OpeningHours

    app = r.app
    app.flow.help_hours = OpeningHours.parse("")  # nobody on site, whatever the hour of the demo
    gateway = app.terminal.gateway_url
    r.wait_for("attract")
    r.touch("start")
    r.wait_for("home")
    r.touch("help")
    r.wait_for("help")
    r.touch("help:remote")
    r.wait_until(lambda: app.flow.view().desk == "waiting", "the remote help request's number")
    number = app.flow.view().help_no
    r.save("help-requested")
    r.touch("back")
    r.wait_for("home")
    tech = (app.settings.data_path / "first-token.txt").read_text().strip()
    created = requests.post(gateway + "/api/v1/tokens", headers={"Authorization": f"Bearer {tech}"},
                            json={"role": "helper", "label": "0427"}, timeout=10)
    desk = requests.Session()
    desk.headers["Authorization"] = f"Bearer {created.json()['token']}"
    base = f"{gateway}/api/v1/helpdesk/requests/{number}"
    r.wait_until(lambda: desk.post(base + "/accept", timeout=10).status_code == 200, "the desk to accept")
    r.wait_until(lambda: app.flow.view().desk == "asking", "the consent")
    r.save("desk-asks-consent")
    r.touch("desk:consent")
    r.wait_until(lambda: app.flow.view().desk == "live", "help under way")
    x, y = app.renderer.target_centre("browse:all")
    scale = app.renderer.canvas.scale
    width, height = app.display.surface.get_size()
    desk.post(base + "/point", json={"x": x / width, "y": y / height}, timeout=10)
    r.wait_until(lambda: desk.get(base, timeout=10).json()["drawn_point"] >= 1, "the highlight in the kiosk's frame")
    r.save("desk-points")
    desk.post(base + "/message", json={"key": "desk_msg_tap_here"}, timeout=10)
    r.wait_until(lambda: app.flow.view().desk_message_key == "desk_msg_tap_here", "the desk's message")
    r.save("desk-message")
    state = desk.get(base, timeout=10).json()
    r.touch("desk:end")
    r.wait_until(lambda: app.flow.view().desk == "", "the help to end")
    r.save("help-ended")
    r.touch("exit")
    return {"help_no": number, "staff": "0427", "design_point": [round(x / scale), round(y / scale)],
            "point_ms": state["point_ms"], "ended_by": "resident"}


JOURNEYS: dict[str, Callable[..., dict[str, Any]]] = {
    "print": print_item,
    "guide": guide,
    "query": query,
    "apply": apply,
    "appointment": appointment,
    "certification": certification,
    "offline_apply": offline_apply,
    "printer_out": printer_out,
    "timeout": timeout,
    "elder": lambda r: print_item(r, elder=True),
    "zh_TW": lambda r: print_item(r, language="zh_TW"),
    "en": lambda r: print_item(r, language="en"),
    "progress": progress_lookup,
    "app_qr": app_sign_in,
    "card_pulled": card_pulled,
    "payment": payment,
    "audio": audio,
    "assisted": assisted,
    "bundle_birth": lambda r: bundle_journey(r, "birth"),
    "exempt": exempt,
    "remote_help": remote_help,
}
OFFLINE = {"offline_apply"}
FAKE_CLOCK = {"timeout"}
NEEDS_SSC = {"card_pulled"}  # journeys that need sim://ssc-reader (a private pcscd: root, pcscd, vpcd)
