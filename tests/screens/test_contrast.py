"""Contrast on rendered pixels (WCAG 2.2 1.4.3 / 1.4.6 / 1.4.11; TARGETS.md A1), every screen the flow
reaches, in both modes and every language: text ≥ 4.5:1 (7:1 in elder mode) against what it is drawn
on, and every control's boundary ≥ 3:1 against what surrounds it.

Nothing is read from the palette: the frame is drawn and its pixels are measured. A text block's
background is its most common colour and its ink the pixel that differs most from it (anti-aliased
edges are in between, the glyph's core is the colour drawn).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pygame
import pytest
from test_accessibility import contrast, every_screen_view

from screens.i18n import LANGUAGES
from screens.renderer import Renderer


def ink_contrast(surface: pygame.Surface, rect: pygame.Rect, step: int = 2) -> tuple[float, tuple, tuple]:
    """The contrast between ``rect``'s most common colour and the colour that differs most from it."""
    rect = rect.clip(surface.get_rect())
    colours = Counter(surface.get_at((x, y))[:3] for x in range(rect.left, rect.right, step)
                      for y in range(rect.top, rect.bottom, step))
    background = colours.most_common(1)[0][0]
    ink = max(colours, key=lambda c: contrast(c, background))
    return contrast(ink, background), ink, background


def boundary_contrast(surface: pygame.Surface, rect: pygame.Rect) -> float:
    """The weakest contrast between a control's edge (just inside) and its surroundings (just
    outside) over the sides that are on screen (the second weakest when all four are); each side's
    figure is the median of five points
    along it, away from the corners (a neighbour's text touching one point does not decide it)."""
    w, h = surface.get_size()
    sides: list[list[float]] = [[], [], [], []]
    for t in (0.2, 0.35, 0.5, 0.65, 0.8):
        x, y = rect.left + int(rect.width * t), rect.top + int(rect.height * t)
        pairs = (((rect.left + 1, y), (rect.left - 3, y)), ((rect.right - 2, y), (rect.right + 2, y)),
                 ((x, rect.top + 1), (x, rect.top - 3)), ((x, rect.bottom - 2), (x, rect.bottom + 2)))
        for side, (inside, outside) in zip(sides, pairs, strict=True):
            if 0 <= outside[0] < w and 0 <= outside[1] < h:
                side.append(contrast(surface.get_at(inside)[:3], surface.get_at(outside)[:3]))
    medians = sorted(sorted(side)[len(side) // 2] for side in sides if side)
    # With all four sides on screen, one may be cut by a scrolling list's edge (its last row, half in
    # view) or touched along by the text above it: three sides still draw the shape.
    return (medians[1] if len(medians) == 4 else medians[0]) if medians else 21.0


def frames(language: str, elder: bool):
    for name, view in every_screen_view(language).items():
        yield name, replace(view, elder=elder)
    yield "home+message", replace(every_screen_view(language)["home"], elder=elder, notice_key="notice_help_sent")
    yield "form+message", replace(every_screen_view(language)["form"], elder=elder, notice_key="notice_fix_fields")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_text_and_control_boundaries_contrast_on_every_screen(surface, language, elder):
    renderer = Renderer(surface)
    need = 7.0 if elder else 4.5
    problems = []
    for name, view in frames(language, elder):
        buttons = renderer.render(view)
        for block in renderer.canvas.text_blocks:
            ratio, ink, background = ink_contrast(surface, block)
            if ratio < need:
                problems.append(f"{name}: text at {block} {ink} on {background} is {ratio:.2f}:1")
        for button in buttons:
            # The label: the button's own middle band, where its text is drawn.
            band = button.rect.inflate(-min(24, button.rect.width // 4), -button.rect.height // 3)
            ratio, ink, fill = ink_contrast(surface, band)
            if ink != fill and ratio < need:
                problems.append(f"{name}: label of {button.target} {ink} on {fill} is {ratio:.2f}:1")
            edge = boundary_contrast(surface, button.rect)
            if edge < 3.0:
                problems.append(f"{name}: boundary of {button.target} is {edge:.2f}:1")
    assert not problems, "\n".join(problems[:30])
