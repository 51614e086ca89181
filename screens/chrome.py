"""What several screens share: the language bar, the home/exit footer and the timeout warning."""

from __future__ import annotations

from collections.abc import Callable

import pygame

from screens import theme
from screens.i18n import LANGUAGES
from screens.widgets import Button, Canvas

Text = Callable[..., str]


def language_bar(c: Canvas, t: Text, y: float = 1700) -> list[Button]:
    buttons = []
    width = 300
    left = (1080 - width * 3 - 40) / 2
    for i, lang in enumerate(LANGUAGES):
        buttons.append(c.button(t(f"lang_{lang}"), f"lang:{lang}", (left + i * (width + 20), y, width, 110),
                                primary=False, size=40))
    return buttons


def footer(c: Canvas, t: Text, *, back: bool = False) -> list[Button]:
    buttons = [c.button(t("button_exit"), "exit", (60, 1760, 300, 120), primary=False)]
    if back:
        buttons.append(c.button(t("button_back"), "back", (720, 1760, 300, 120), primary=False))
    return buttons


def warning_overlay(c: Canvas, t: Text, seconds_left: int) -> list[Button]:
    """The WCAG 2.2.1 warning: the only touchable things are 'continue' and 'exit'."""
    shade = pygame.Surface((c.width, c.height), pygame.SRCALPHA)
    shade.fill(theme.OVERLAY)
    c.surface.blit(shade, (0, 0))
    c.panel((90, 600, 900, 700))
    c.text(t("warning_title"), 680, 64, bold=True)
    c.text(t("warning_hint", seconds=seconds_left), 820, 44, colour=theme.MUTED, width=800)
    return [
        c.button(t("warning_extend"), "extend", (150, 1000, 780, 150)),
        c.button(t("button_exit"), "exit", (150, 1170, 780, 100), primary=False, size=40),
    ]


def notice_banner(c: Canvas, text: str) -> None:
    """A banner across the lower screen (e.g. a card that cannot be used); it does not block touches."""
    top = c.px(1480)
    pygame.draw.rect(c.surface, theme.DANGER, (c.px(40), top, c.width - c.px(80), c.px(200)),
                     border_radius=c.px(18))
    c.text(text, 1510, 40, colour=theme.PRIMARY_TEXT, bold=True, width=940)
