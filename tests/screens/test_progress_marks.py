"""A progress lookup's answer carries a large status mark beside the status in words (issue 24): done is a
green tick, a case the platform sent back or that never left the terminal a warning triangle (see staff),
anything under way an "i" — in the status's own colour, in every language and in elder mode too, so the
meaning does not rest on the words alone nor on the colour alone."""

from __future__ import annotations

import pygame
import pytest

from kiosk.flow.views import view_of
from screens import theme
from screens.i18n import messages
from screens.renderer import Renderer

CASES = [("completed", theme.SUCCESS), ("rejected", theme.WARNING), ("expired", theme.WARNING),
         ("in_review", theme.HEADER), ("queued", theme.HEADER)]


def inked(surface: pygame.Surface, area: pygame.Rect, colour: tuple[int, int, int]) -> int:
    """How many pixels of ``area`` are drawn in ``colour`` (or within a few steps of it)."""
    area = area.clip(surface.get_rect())
    return sum(1 for x in range(area.left, area.right, 2) for y in range(area.top, area.bottom, 2)
               if max(abs(a - b) for a, b in zip(surface.get_at((x, y))[:3], colour, strict=True)) <= 8)


@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
@pytest.mark.parametrize("language", ["zh_CN", "zh_TW", "en"])
@pytest.mark.parametrize(("status", "colour"), CASES, ids=[c[0] for c in CASES])
def test_the_status_has_its_mark_beside_it_in_its_colour(surface, status, colour, language, elder):
    renderer = Renderer(surface)
    renderer.render(view_of("progress_result", language=language, elder=elder,
                            progress_no="HC-DEMO-001-20261121-000001", progress_status=status))
    words = messages().text(language, f"progress_status_{status}")
    [(block, )] = [(rect, ) for text, rect, _ in renderer.canvas.texts if text == words]
    # The mark: left of the words, level with them, drawn in the status's colour (and no other status's).
    mark = pygame.Rect(40, block.top - 60, block.left - 50, block.height + 120)
    assert inked(surface, mark, colour) > 200, f"no {status} mark left of {words!r}"
    others = {c for _, c in CASES} - {colour}
    assert all(inked(surface, mark, other) < 20 for other in others)
    assert surface.get_rect().contains(block)


def test_a_lookup_that_failed_has_no_status_mark(surface):
    """Why it failed is a message (its own sign); no tick or triangle pretends there is a status."""
    renderer = Renderer(surface)
    renderer.render(view_of("progress_result", language="zh_CN", progress_no="HC-DEMO-001-20261121-000001",
                            progress_reason="progress_try_later"))
    page = surface.get_rect()
    assert inked(surface, page, theme.SUCCESS) < 20 and inked(surface, page, theme.WARNING) < 20
