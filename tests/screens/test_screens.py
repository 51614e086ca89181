"""Every screen renders headless, in every language, with real glyphs and touchable targets."""

from __future__ import annotations

import pygame
import pytest

from kiosk.flow.views import view_of
from kiosk.fonts import cjk_font_path
from screens import theme
from screens.i18n import LANGUAGES, messages
from screens.renderer import PAGES, Renderer

VIEW = {
    "language": "zh_CN",
    "warning": False,
    "warning_left_s": 0,
    "items": [("rs-sbjfzm", "社保参保缴费证明打印", "人社"), ("gjj-jczm", "公积金缴存证明打印", "公积金")],
    "applicant_name": "张*",
    "applicant_id": "1101**********002X",
    "item_name": "社保参保缴费证明打印",
    "item_code": "rs-sbjfzm",
    "receipt_no": "HC-DEMO-001-20261121-000001",
    "printed": True,
    "print_reason": "",
    "error_key": "error_platform_unavailable",
    "simulated_reader": True,
}



def test_every_language_has_every_key():
    table = messages().table
    keys = set(table["zh_CN"])
    for lang in LANGUAGES:
        assert set(table[lang]) == keys, f"{lang} differs: {set(table[lang]) ^ keys}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("screen", sorted(PAGES))
def test_screen_renders_text_and_targets(surface, screen, language):
    renderer = Renderer(surface)
    buttons = renderer.render(view_of(screen, **{**VIEW, "language": language}))
    colours = {surface.get_at((x, y))[:3] for x in range(0, 1080, 9) for y in range(0, 1920, 9)}
    assert len(colours) > 5, "screen looks blank"
    for button in buttons:
        assert button.rect.width >= 60 and button.rect.height >= 60, (screen, button)
        assert renderer.hit(button.rect.center) == button.target
    if screen not in ("working", "printing"):
        assert buttons, f"{screen} offers nothing to touch"


def test_chinese_is_drawn_as_glyphs_not_boxes(surface):
    fnt = pygame.font.Font(str(cjk_font_path()), 48)
    a = pygame.image.tobytes(fnt.render("社", True, (0, 0, 0), (255, 255, 255)), "RGB")
    b = pygame.image.tobytes(fnt.render("保", True, (0, 0, 0), (255, 255, 255)), "RGB")
    assert a != b  # missing glyphs render as identical tofu boxes


def test_warning_overlay_offers_only_continue_and_exit(surface):
    renderer = Renderer(surface)
    buttons = renderer.render(view_of("home", **{**VIEW, "warning": True, "warning_left_s": 17}))
    assert {b.target for b in buttons} == {"extend", "exit"}


def test_text_contrast_meets_4_5_to_1():
    def luminance(rgb):
        def channel(c):
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (channel(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    def ratio(a, b):
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    pairs = [(theme.TEXT, theme.BACKGROUND), (theme.MUTED, theme.BACKGROUND), (theme.HEADER_TEXT, theme.HEADER),
             (theme.PRIMARY_TEXT, theme.PRIMARY), (theme.SECONDARY_TEXT, theme.SECONDARY),
             (theme.DANGER, theme.BACKGROUND), (theme.TEXT, theme.CARD)]
    for fg, bg in pairs:
        assert ratio(fg, bg) >= 4.5, (fg, bg, ratio(fg, bg))


def test_closing_punctuation_never_starts_a_line(surface):
    from screens.widgets import NO_LINE_START, wrap

    fnt = pygame.font.Font(str(cjk_font_path()), 40)
    text = "未能打印：打印机缺纸。请凭回执编号在“闽政通”查询或到窗口领取。" * 3
    for width in range(300, 900, 37):
        for line in wrap(text, fnt, width)[1:]:
            assert line[0] not in NO_LINE_START, (width, line)


@pytest.mark.parametrize("language", LANGUAGES)
def test_button_labels_fit_inside_their_buttons(surface, language):
    renderer = Renderer(surface)
    for screen in PAGES:
        for button in renderer.render(view_of(screen, **{**VIEW, "language": language})):
            # Just outside the button's left and right edges there is only background, no spilled ink.
            for y in range(button.rect.top + 4, button.rect.bottom - 4, 3):
                for x in (button.rect.left - 3, button.rect.right + 2):
                    if 0 <= x < surface.get_width():
                        assert surface.get_at((x, y))[:3] in (theme.BACKGROUND, theme.CARD), (screen, button)


def test_latin_words_are_never_split_in_mixed_text(surface):
    from screens.widgets import wrap

    fnt = pygame.font.Font(str(cjk_font_path()), 40)
    text = "人社 · Social insurance contribution certificate"
    for width in range(250, 900, 41):
        lines = wrap(text, fnt, width)
        words = " ".join(lines).split()
        assert {"Social", "insurance", "contribution", "certificate"} <= set(words), (width, lines)
