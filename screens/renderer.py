"""Draws the flow's view onto a surface and maps touches back to intents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pygame

from screens import attract, card_prompt, confirm, done, home, notice, progress
from screens.chrome import notice_banner, warning_overlay
from screens.i18n import messages
from screens.widgets import Button, Canvas

Page = Callable[[Canvas, dict[str, Any], Callable[..., str]], list[Button]]

PAGES: dict[str, Page] = {
    "attract": attract.draw,
    "home": home.draw,
    "card_prompt": card_prompt.draw,
    "confirm": confirm.draw,
    "working": progress.draw,
    "printing": progress.draw,
    "done": done.draw,
    "thanks": notice.draw,
    "timeout": notice.draw,
    "error": notice.draw,
}


class Renderer:
    """Renders whole frames; remembers the touch targets of the last frame drawn."""

    def __init__(self, surface: pygame.Surface) -> None:
        self.canvas = Canvas(surface)
        self.buttons: list[Button] = []

    def render(self, view: dict[str, Any]) -> list[Button]:
        lang = view["language"]
        table = messages()

        def t(key: str, **values: object) -> str:
            return table.text(lang, key, **values)

        buttons = PAGES[view["screen"]](self.canvas, view, t)
        if view.get("notice_key"):
            notice_banner(self.canvas, t(view["notice_key"]))
        if view.get("warning"):
            buttons = warning_overlay(self.canvas, t, view.get("warning_left_s", 0))
        self.buttons = buttons
        return buttons

    def hit(self, pos: tuple[int, int]) -> str | None:
        """The intent under a touch at ``pos``, if any (topmost first)."""
        for button in reversed(self.buttons):
            if button.rect.collidepoint(pos):
                return button.target
        return None

    def target_centre(self, target: str) -> tuple[int, int]:
        """Where a scripted touch should land to hit ``target`` (used by the demo and tests)."""
        for button in self.buttons:
            if button.target == target:
                return button.rect.center
        raise LookupError(f"no {target!r} on screen; targets: {[b.target for b in self.buttons]}")
