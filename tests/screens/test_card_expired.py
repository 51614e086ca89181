"""The card prompt after an expired document: which card, until when, where to renew — in every language,
in elder mode too, with nothing clipped or drawn under a button."""

from __future__ import annotations

import os
from pathlib import Path

import pygame
import pytest

from kiosk.flow.views import mirror_view, view_of
from screens.i18n import messages
from screens.renderer import Renderer

ITEM = {"zh_CN": "港澳台居民居住证签注记录打印", "zh_TW": "港澳臺居民居住證簽註記錄列印",
        "en": "Certificate of social insurance contributions for a residence permit holder"}
DATES = {"zh_CN": "2026年3月1日", "zh_TW": "2026年3月1日", "en": "2026-03-01"}



def expired_view(language: str, document: str, *, elder: bool = True):
    return view_of("card_prompt", language=language, elder=elder, item_name=ITEM[language],
                   item_identity=["id_card_face", "social_security_card", "app_qr"],
                   expired_document=document, expired_on="2026-03-01")


@pytest.mark.parametrize("document", ["J", "resident", "Y", "social_security_card"])
@pytest.mark.parametrize("language", ["zh_CN", "zh_TW", "en"])
@pytest.mark.parametrize("elder", [True, False])
def test_expired_notice_fits_and_says_when_and_where(surface, tmp_path, language, document, elder):
    renderer = Renderer(surface)
    buttons = renderer.render(expired_view(language, document, elder=elder))
    if os.environ.get("KIOSK_SCREEN_PNGS"):  # to look at them: KIOSK_SCREEN_PNGS=/some/dir
        pygame.image.save(surface, str(Path(os.environ["KIOSK_SCREEN_PNGS"]) / f"expired-{language}-{document}-{elder}.png"))
    t = messages()
    # What speech reads (and the screen draws): the title, the document, its date and the renewal advice.
    spoken = renderer.main_text
    assert t.text(language, "card_expired_title") in spoken
    assert DATES[language] in spoken
    assert t.text(language, f"document_{document}") in spoken
    renew = {"J": "renew_J", "resident": "renew_resident", "Y": "renew_foreign",
             "social_security_card": "renew_social_security_card"}[document]
    assert t.text(language, renew) in spoken
    # Nothing clipped: every text block on the screen, none under a button, buttons inside too.
    screen = surface.get_rect()
    blocks = renderer.canvas.text_blocks
    assert len(blocks) >= 5  # header, item, title, what expired, renewal, other ways
    for block in blocks:
        assert screen.contains(block), block
        for button in buttons:
            assert not block.colliderect(button.rect), (block, button.target)
    for button in buttons:
        assert screen.contains(button.rect)
    # The other accepted ways stay on offer (never only the refused card).
    assert {"use:social_security_card", "use:app_qr"} <= {b.target for b in buttons}
    if elder:
        assert renderer.canvas.min_text_px >= 32


def test_mirror_shows_that_a_card_expired_but_not_its_date(surface):
    view = expired_view("zh_CN", "J")
    mirrored = mirror_view(view)
    assert mirrored.expired_document == "J" and "2026" not in mirrored.expired_on
    Renderer(surface).render(mirrored)  # draws without the date


def test_a_card_prompt_without_an_expired_card_asks_for_one(surface):
    renderer = Renderer(surface)
    renderer.render(view_of("card_prompt", language="en", item_name="X", item_identity=["id_card"]))
    assert "expired" not in renderer.main_text
