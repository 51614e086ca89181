"""What several screens share: the language bar, the home/exit footer and the timeout warning."""

from __future__ import annotations

from collections.abc import Callable

import pygame

from kiosk.flow.views import View
from screens import icons, theme, tokens
from screens.i18n import LANGUAGES
from screens.widgets import Button, Canvas

Text = Callable[..., str]


def language_bar(c: Canvas, t: Text, y: float = 1700) -> list[Button]:
    buttons = []
    width = 300
    left = (1080 - width * 3 - 40) / 2
    for i, lang in enumerate(LANGUAGES):
        buttons.append(c.button(t(f"lang_{lang}"), f"lang:{lang}", (left + i * (width + 20), y, width, 110),
                                primary=False, size=tokens.TYPE["body"]))
    return buttons


FOOTER_TOP = 1760  # design px: where the footer's buttons start


def footer(c: Canvas, t: Text, *, back: bool = False, help_: bool = True) -> list[Button]:
    """Exit, 帮办代办 / 办不成事反映 (on every screen) and back."""
    buttons = [c.button(t("button_exit"), "exit", (60, FOOTER_TOP, 300, 120), primary=False, icon=_icon("exit"))]
    if help_:
        buttons.append(c.button(t("button_help"), "help", (390, FOOTER_TOP, 300, 120), primary=False,
                                size=tokens.TYPE["label"], icon=_icon("help")))
    if back:
        buttons.append(c.button(t("button_back"), "back", (720, FOOTER_TOP, 300, 120), primary=False,
                                icon=_icon("back")))
    return buttons


def tools(c: Canvas, t: Text, view: View, y: float = 175) -> list[Button]:
    """Repeat the spoken text, speech on/off and elder mode: under the header on the main screens."""
    speech, size = view.speech, tokens.TYPE["caption"]
    return [
        c.button(t("button_repeat"), "speak:repeat", (60, y, 300, 90), primary=False, size=size, icon=_icon("repeat")),
        c.button(t("speech_on" if speech else "speech_off"), "speech", (390, y, 300, 90), primary=False, size=size,
                 icon=_icon("speech_on" if speech else "speech_off")),
        c.button(t("elder_off" if view.elder else "elder_on"), "elder", (720, y, 300, 90),
                 primary=False, size=size, icon=_icon("elder")),
    ]


def _icon(action: str) -> str | None:
    """A common action's icon (config/icons.toml); drawn beside the label, never instead of it."""
    return icons.name_for("actions", action)


def warning_overlay(c: Canvas, t: Text, seconds_left: int) -> list[Button]:
    """The WCAG 2.2.1 warning: the only touchable things are 'continue' and 'exit'."""
    shade = pygame.Surface((c.width, c.height), pygame.SRCALPHA)
    shade.fill(theme.OVERLAY)
    c.surface.blit(shade, (0, 0))
    c.panel((90, 600, 900, 700))
    c.text(t("warning_title"), 680, tokens.TYPE["title"], bold=True)
    c.text(t("warning_hint", seconds=seconds_left), 820, tokens.TYPE["body"], colour=theme.MUTED, width=800)
    return [
        c.button(t("warning_extend"), "extend", (150, 1000, 780, 150)),
        c.button(t("button_exit"), "exit", (150, 1170, 780, 100), primary=False, size=tokens.TYPE["body"],
                 icon=_icon("exit")),
    ]
