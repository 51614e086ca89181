"""The real app, headless, with the real gateway and platform simulator: progress lookup of a real
submission (scanned and typed), and app-QR sign-in with an expired then a good code — both issued by
the platform simulator, redeemed through the gateway — and with the platform out of reach."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pygame
import pytest
import requests

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow.views import ScanView, View
from kiosk.qrcodes import progress_url
from local_api.client import GatewayClient
from screens.demo import ScriptedResident
from screens.i18n import LANGUAGES, messages
from screens.renderer import Renderer

APPLY_ITEM_FORM = {"note": "测试"}


@pytest.fixture
def rig(kiosk_stack) -> dict[str, Any]:
    stack = kiosk_stack()
    return {"app": stack.app, "gateway": GatewayClient.for_settings(stack.settings, stack.url), "settings": stack.settings,
            "resident": ScriptedResident(stack.app)}


def submit(rig: dict[str, Any]) -> str:
    """A real application through the gateway: its receipt number comes from the outbox."""
    card = sample_cards()[0]
    answer = rig["gateway"].submit("application", "gjj-jczm", {"name": card.name, "id_number": card.id_number},
                                   APPLY_ITEM_FORM)
    return str(answer["receipt_no"])


def test_progress_of_a_real_submission_scanned_then_typed(rig):
    app, r = rig["app"], rig["resident"]
    receipt_no = submit(rig)
    rig["gateway"].wait_delivered(receipt_no, timeout_s=20)
    qr = app.terminal.hardware.cameras["qr_camera"]
    qr.app.hold_up(progress_url(receipt_no))
    r.wait_for("attract")
    r.touch("progress")  # from the attract screen, no card needed
    # The held-up code may be read within the frame the scan screen is first drawn in: either is fine
    # here (what the scan screen says is test_the_scan_screen_says_what_to_hold_up_and_where).
    r.wait_until(lambda: app.flow.screen.value in ("scan", "progress_result"), "the scan screen")
    r.wait_for("progress_result", timeout_s=40)
    view = app.view()
    assert view.progress_no == receipt_no and not view.progress_reason
    assert view.progress_status in ("received", "accepted") and view.progress_steps
    assert any(b.target == "print" for b in app.renderer.buttons)
    r.touch("print")
    r.wait_until(lambda: app.flow.screen.value == "progress_result" and app.view().notice_key,
                 "the progress slip printed")
    assert app.view().notice_key == "notice_progress_printed"
    # The same receipt typed on the keypad: this terminal's id is put in front of the digits.
    qr.app.hold_up("")  # the resident holds nothing up now (else the phone shows the slip just printed)
    r.touch("another")
    r.wait_for("scan")
    r.touch("type_receipt")
    r.wait_for("receipt_entry")
    digits = receipt_no.removeprefix(rig["settings"].kiosk.id + "-").replace("-", "")
    for d in digits:
        r.touch(f"pk:{d}")
    r.touch("pk:done")
    r.wait_until(lambda: app.flow.screen.value == "progress_result", "the typed receipt's progress", 30)
    assert app.view().progress_no == receipt_no
    r.touch("exit")
    r.wait_for("attract")
    assert app.flow.session is None


def test_a_foreign_code_then_an_unknown_receipt_are_explained(rig):
    app, r = rig["app"], rig["resident"]
    qr = app.terminal.hardware.cameras["qr_camera"]
    qr.app.hold_up("https://example.com/shop?id=7")
    r.wait_for("attract")
    r.touch("lang:en")
    r.touch("progress")
    r.wait_until(lambda: app.view().scan_failed, "the foreign code refused", 30)
    assert app.view().scan_failed == "qr_foreign_link"
    assert "not a progress code" in messages().text("en", app.view().scan_failed)
    qr.app.hold_up(progress_url("HC-DEMO-001-20200101-000009"))
    r.touch("rescan")
    r.wait_for("progress_result", timeout_s=40)
    view = app.view()
    assert view.progress_reason == "progress_not_found" and view.progress_no == "HC-DEMO-001-20200101-000009"
    assert {"retry", "type_receipt"} <= {b.target for b in app.renderer.buttons}


def to_card_prompt(r) -> None:
    """From the attract screen to the identity step of 社保参保缴费证明打印 (ID card + face, or app QR)."""
    r.wait_for("attract")
    r.touch("start")
    r.wait_for("home")
    r.touch("item:rs-sbjfzm")
    r.wait_for("card_prompt")


def test_app_sign_in_expired_code_then_a_good_one(rig):
    app, r = rig["app"], rig["resident"]
    qr = app.terminal.hardware.cameras["qr_camera"]
    qr.app.hold_up_signin(expires_in_s=-30)  # issued by the platform simulator when it is shown
    sim_url = rig["settings"].platform.url
    to_card_prompt(r)
    r.touch("use:app_qr")
    r.wait_for("scan")
    r.wait_until(lambda: app.view().scan_failed, "the expired code refused", 30)
    assert app.view().scan_failed == "qr_signin_expired"
    targets = {b.target for b in app.renderer.buttons}
    assert {"rescan", "use:id_card", "use:social_security_card"} <= targets  # the other ways, right here
    r.touch("rescan")  # the app shows a fresh code now
    r.wait_for("confirm", timeout_s=40)  # no face check: the app sign-in is a non-biometric way
    view = app.view()
    person = sample_cards()[1]
    assert view.identity_source == "app_qr" and view.applicant_name
    assert person.id_number not in str(view) and person.name not in str(view)
    codes = requests.get(sim_url + "/admin/signin-codes", timeout=5).json()
    assert codes["held"] == 2 and codes["redeemed"] == 1  # the platform issued both and redeemed the good one
    r.touch("confirm")
    r.wait_for("done", timeout_s=40)
    receipt_no = app.view().receipt_no
    assert receipt_no.startswith(rig["settings"].kiosk.id)
    r.touch("rate:1")
    r.wait_for("thanks")
    assert app.flow.session is None


def test_app_sign_in_with_the_platform_out_of_reach_offers_the_cards(rig):
    app, r = rig["app"], rig["resident"]
    sim_url = rig["settings"].platform.url
    to_card_prompt(r)
    # Codes are still issued (the admin door has no faults), but the platform does not answer redeeming.
    requests.post(sim_url + "/admin/faults", json={"status": 503}, timeout=5)
    r.touch("use:app_qr")
    r.wait_until(lambda: app.view().scan_failed, "the sign-in refused", 40)
    assert app.view().scan_failed == "scan_signin_unavailable"
    assert "ID card" in messages().text("en", "scan_signin_unavailable")
    assert {"rescan", "use:id_card", "use:social_security_card"} <= {b.target for b in app.renderer.buttons}
    r.touch("use:id_card")
    r.wait_for("card_prompt")
    assert app.flow.session is not None and app.view().identity_source == ""


def test_a_configured_platform_key_refuses_codes_signed_by_any_other(kiosk_stack):
    from kiosk.crypto import SigningKey
    from kiosk.qrcodes import public_key_b64

    other = public_key_b64(SigningKey.generate("intl").public)
    stack = kiosk_stack(adjust=lambda s: s.model_copy(update={
        "platform": s.platform.model_copy(update={"signin_public_key": other})}))
    app, r = stack.app, ScriptedResident(stack.app)
    to_card_prompt(r)
    r.touch("use:app_qr")
    r.wait_until(lambda: app.view().scan_failed, "the code refused", 40)
    assert app.view().scan_failed == "qr_signin_forged"  # the kiosk refused it before asking the platform
    codes = requests.get(stack.settings.platform.url + "/admin/signin-codes", timeout=5).json()
    assert codes["held"] == 1 and codes["redeemed"] == 0


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def qr_screen_views(language: str) -> dict[str, View]:
    """The QR screens as the real flow produces them, in elder mode."""
    k = flow.KioskFlow(Catalog.load(), Clock(), idle_timeout_s=90, warning_s=20)
    views: dict[str, View] = {}

    def see(name: str, *events: flow.Event) -> None:
        effects: list[Any] = []
        for event in events:
            effects += k.handle(event)
        views[name] = replace(k.view(), notice_key="")
        return effects

    effects = see("attract", flow.Tapped(f"lang:{language}"), flow.Tapped("elder"))
    effects = see("scan", flow.Tapped("progress"))
    scan = next(e for e in effects if isinstance(e, flow.ScanQr))
    see("scan_failed", flow.ScanFailed(scan.scan_id, "qr_signin_too_long"))
    see("receipt_entry", flow.Tapped("type_receipt"), *(flow.Tapped(f"pk:{d}") for d in "2026112"))
    see("progress_unreachable", *(flow.Tapped(f"pk:{d}") for d in "1000001"), flow.Tapped("pk:done"),
        flow.ProgressAnswered("HC-DEMO-001-20261121-000001", {}, "progress_try_later"))
    see("progress_result", flow.Tapped("retry"), flow.ProgressAnswered("HC-DEMO-001-20261121-000001", {
        "receipt_no": "HC-DEMO-001-20261121-000001", "source": "gateway", "status": "queued",
        "status_text": "已受理，等待上报", "steps": []}))
    see("home", flow.Tapped("finish"), flow.Tapped("item:rs-sbjfzm"))
    see("signin_failed", flow.Tapped("use:app_qr"))
    scan = k.scan
    assert scan is not None
    see("signin_failed", flow.ScanFailed(scan.scan_id, "qr_signin_forged"))
    return views


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_qr_screens_meet_a1_in_elder_mode(language):
    pygame.display.init()
    pygame.font.init()
    surface = pygame.Surface((1080, 1920))
    renderer = Renderer(surface)
    for name, view in qr_screen_views(language).items():
        assert view.elder, name
        renderer.canvas.reset_metrics()
        buttons = renderer.render(view)
        assert renderer.canvas.min_text_px >= 30, (name, renderer.canvas.min_text_px)
        assert buttons, name
        for button in buttons:
            assert button.rect.width >= 60 and button.rect.height >= 60, (name, button)
            assert renderer.hit(button.rect.center) == button.target, (name, button.target)
    texts = messages()
    assert "{" not in texts.text(language, "scan_scanning", seconds=30)


@pytest.mark.parametrize("language", ["zh_CN", "zh_TW", "en"])
def test_the_scan_screen_says_what_to_hold_up_and_where(language):
    """What the screen says (and speech reads) while it waits for a receipt's code."""
    pygame.display.init()
    pygame.font.init()
    renderer = Renderer(pygame.Surface((1080, 1920)))
    renderer.render(ScanView(screen="scan", language=language, scan_purpose="progress", scanning=True))
    assert messages().text(language, "scan_hint_progress") in renderer.main_text
