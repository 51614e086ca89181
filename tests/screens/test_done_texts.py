"""The done screen says what is true for the item kind, and its 好差评 levels carry equal weight."""

from __future__ import annotations

import itertools

import pygame
import pytest

from kiosk.flow.views import View
from screens import theme
from screens.i18n import LANGUAGES, messages
from screens.renderer import Renderer

RECEIPT = "HC-DEMO-001-20261121-123456-0001"



def done(kind: str, language: str = "zh_CN", elder: bool = False, printed: bool | None = True, **more) -> View:
    return View(screen="done", language=language, elder=elder, item_kind=kind, item_name="测试事项",
                receipt_no=RECEIPT if kind in ("print", "apply", "certification") else "", printed=printed, **more)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
@pytest.mark.parametrize("printed", [True, False], ids=["printed", "not_printed"])
def test_the_five_levels_have_one_style_one_size_in_the_national_order(surface, language, elder, printed):
    renderer = Renderer(surface)
    buttons = renderer.render(done("apply", language, elder, printed, print_reason="printer_unavailable",
                                   result_url="https://example.invalid/p" if not printed else ""))
    rates = [b for b in buttons if b.target.startswith("rate:")]
    assert [b.target for b in rates] == [f"rate:{i}" for i in range(1, 6)]  # 非常满意 first … 非常不满意 last
    assert all(b.rect.top > a.rect.bottom for a, b in itertools.pairwise(rates))  # one under the other
    assert len({b.rect.size for b in rates}) == 1 and rates[0].rect.height >= 60
    assert all(b.rect.bottom <= surface.get_height() for b in buttons)
    fills = {surface.get_at((b.rect.left + 12, b.rect.top + 12))[:3] for b in rates}
    edges = {surface.get_at((b.rect.left + 1, b.rect.centery))[:3] for b in rates}
    assert len(fills) == 1 and len(edges) == 1  # none stands out: no primary colour for the "good" ones
    size = renderer.canvas.size(40)
    fnt = theme.font(renderer.canvas.px(size), True)
    table = messages()
    for level, b in enumerate(rates, 1):
        label = table.text(language, f"rate_{level}")
        fill = surface.get_at((b.rect.left + 12, b.rect.top + 12))[:3]
        band = range(b.rect.centery - b.rect.height * 3 // 10, b.rect.centery + b.rect.height * 3 // 10, 2)
        ink = [x for x in range(b.rect.left + 20, b.rect.right - 20) for y in band
               if surface.get_at((x, y))[:3] != fill]
        drawn = max(ink) - min(ink) + 1
        alone = fnt.render(label, True, (0, 0, 0), (255, 255, 255))
        cols = [x for x in range(alone.get_width()) for y in range(0, alone.get_height(), 2)
                if alone.get_at((x, y))[:3] != (255, 255, 255)]
        expected = max(cols) - min(cols) + 1
        # Drawn whole on one line at the common size (非常不满意 not broken, Dissatisfied not shrunk).
        assert abs(drawn - expected) <= 2, (language, label, drawn, expected)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_done_text_is_true_for_the_kind(surface, language):
    renderer = Renderer(surface)
    table = messages()
    certificate = table.text(language, "printing_hint")
    for kind, take in (("guide", "take_guide"), ("query", "take_query"), ("apply", "take_apply"),
                       ("appointment", "take_appointment"), ("certification", "take_certification"),
                       ("print", "take_print")):
        renderer.render(done(kind, language))
        said = renderer.main_text
        assert table.text(language, take) in said, (kind, said)
        assert certificate not in said  # 证明和回执 only where both come out
    renderer.render(done("guide", language, printed=False, print_reason="printer_unavailable"))
    assert not renderer.main_text.startswith(table.text(language, "done_title_guide"))  # not "printed"
    renderer.render(done("query", language, printed=None))  # looked at on screen, nothing printed
    assert "?" not in renderer.main_text and table.text(language, "take_query") not in renderer.main_text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_certification_says_it_succeeded_and_when_the_next_is_due(surface, language):
    renderer = Renderer(surface)
    renderer.render(done("certification", language, next_due="2027-11-21"))
    table = messages()
    said = renderer.main_text
    assert said.startswith(table.text(language, "done_title_certification"))
    assert ("21 Nov 2027" if language == "en" else "2027年11月21日") in said


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_query_confirm_button_says_look_up(surface, language):
    renderer = Renderer(surface)
    renderer.render(View(screen="confirm", language=language, item_kind="query", item_name="测试"))
    assert renderer.target_centre("confirm")
    pixels_query = pygame.image.tobytes(surface, "RGB")
    renderer.render(View(screen="confirm", language=language, item_kind="print", item_name="测试"))
    assert pygame.image.tobytes(surface, "RGB") != pixels_query
    assert messages().text(language, "confirm_button_query") != messages().text(language, "confirm_button")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reason", ["printer_unavailable", "printer_paper_out", "printer_cover_open", "print_unknown"])
def test_why_a_slip_was_not_printed_is_said_in_the_residents_language(surface, language, reason):
    """A resident reading English is not told 缺纸: the reason comes from the messages, never the
    printer's technician words."""
    renderer = Renderer(surface)
    renderer.render(done("print", language, printed=False, print_reason=reason))
    said = messages().text(language, f"reason_{reason}")
    assert said in renderer.main_text  # what the screen says (and speaks)
    if language == "en":
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in said)
