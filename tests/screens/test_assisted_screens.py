"""Assisted mode on screen, by touches (the real flow and renderer, every frame layout-checked): the staff
sign-in (a refused pass, then signed in), the banner with the staff number on every screen of a resident's
代办, the resident's consent and the 委托书 capture, and the banner gone once the staff member ends the
session — in 简体, 繁體 and English, standard and elder mode. ``KIOSK_SCREEN_PNGS=/dir`` saves the frames."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pygame
import pytest
from resident import Resident
from test_contrast import ink_contrast

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.catalog.loading import Catalog
from screens.assisted import BANNER_PX
from screens.i18n import messages

STAFF_NO = "0427"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def preview_png() -> bytes:
    page = pygame.Surface((300, 420))
    page.fill((210, 210, 210))
    out = io.BytesIO()
    pygame.image.save(page, out, "p.png")
    return out.getvalue()


@pytest.mark.parametrize("elder", [True, False], ids=["elder", "standard"])
@pytest.mark.parametrize("language", ["zh_TW", "en", "zh_CN"])
def test_staff_sign_in_consent_and_the_banner(surface, catalog, language, elder):
    t = messages()
    r = Resident(surface, catalog)
    saved = os.environ.get("KIOSK_SCREEN_PNGS")

    def frame(name: str) -> None:
        if saved:
            pygame.image.save(surface, str(Path(saved) / f"assisted-{name}-{language}-{elder}.png"))

    def texts() -> list[str]:
        """What the frame says: its texts and its buttons' labels."""
        return [text for text, _rect, _part in r.renderer.canvas.texts] + [b.label for b in r.renderer.buttons]

    def banner_shown() -> bool:
        # In the screen's language (the attract screen after a visit is the next resident's: 简体 again).
        banner = t.text(r.view().language, "staff_banner", staff_no=STAFF_NO)
        found = [rect for text, rect, _part in r.renderer.canvas.texts if text == banner]
        if not found:
            return False
        assert found[0].bottom <= r.renderer.canvas.px(BANNER_PX + 6), found[0]  # above the header's title
        ratio, _ink, _bg = ink_contrast(surface, found[0])
        assert ratio >= 7.0, ratio
        return True

    r.touch(f"lang:{language}")
    assert r.screen == "attract" and t.text(language, "staff_signin_button") in texts() and not banner_shown()
    frame("attract")
    r.touch("staff:signin")
    assert r.screen == "staff_signin" and t.text(language, "staff_signin_hint") in texts()
    assert t.text(language, "staff_signin_title") in r.renderer.main_text  # what speech says first
    frame("signin")
    r.event(flow.ScanFailed(r.flow.scan.scan_id, "staff_pass_refused"))
    assert t.text(language, "staff_pass_refused") in texts() and "rescan" in r.targets()
    frame("signin-refused")
    r.touch("rescan")
    r.event(flow.StaffSignedIn(r.flow.scan.scan_id, STAFF_NO, "a1b2c3d4"))
    assert r.screen == "home" and banner_shown() and "staff:end" in r.targets()
    if elder:
        r.touch("elder")
        assert r.view().elder and banner_shown()
    frame("home")
    # A resident's visit: the banner on every screen of it.
    r.event(flow.CardRead(sample_cards()[0]))
    r.touch("item:rs-sbjfzm")
    assert r.screen == "consent" and banner_shown()
    r.touch("consent")
    assert r.screen == "working" and banner_shown()
    r.event(flow.FaceCaptured(b"\xff\xd8face", True))
    r.event(flow.IdentityChecked(True))
    r.event(flow.DocumentFetched({"title": "证明", "doc_no": "D1", "rows": []}))
    assert r.screen == "assisted_consent" and banner_shown()
    said = t.text(language, "assisted_consent_text", staff_no=STAFF_NO)
    assert said in texts() and {"assisted:consent", "assisted:poa", "back"} <= set(r.targets())
    assert sample_cards()[0].name not in " ".join(texts())  # the resident is named masked only
    frame("consent")
    r.touch("assisted:poa")
    assert t.text(language, "poa_hint") in texts() and "assisted:capture" in r.targets()
    assert "assisted:poa_submit" not in r.targets()  # nothing captured: nothing to submit
    frame("poa")
    r.touch("assisted:capture")
    r.event(flow.PageCaptured(900, b"\xff\xd8poa", 1000, 1400, preview_png()))
    assert {"assisted:capture", "assisted:poa_submit"} <= set(r.targets()) and banner_shown()
    frame("poa-taken")
    r.touch("back")
    r.touch("assisted:consent")
    assert r.screen == "working" and banner_shown()
    # The staff member ends the session: everything forgotten, the banner gone.
    r.event(flow.SubmissionAccepted("HC-DEMO-001-20261121-000007"))
    r.event(flow.PrintFinished(r.flow.session.print_job, True))
    r.touch("home")
    assert r.screen == "attract" and banner_shown() and "staff:end" in r.targets()
    frame("attract-staff")
    r.touch("staff:end")
    assert r.screen == "attract" and not banner_shown() and "staff:signin" in r.targets()
    assert r.view().staff_no == "" and r.flow.session is None
    assert not r.problems, r.problems
