"""Working (talking to the platform) and printing: nothing to touch, just what is happening."""

from __future__ import annotations

import pygame

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    printing = view.screen == "printing"
    c.header(t("app_title"))
    c.text(view.item_name, 300, 48, bold=True, colour=theme.HEADER)
    c.text(t("printing_title" if printing else "working_title"), 700, 60, bold=True)
    if printing:
        c.text(t("printing_hint"), 860, 44, colour=theme.MUTED)
    # A static progress mark (no animation: a frame only changes when the state does).
    cx, cy = c.width // 2, c.px(1250)
    for i in range(3):
        pygame.draw.circle(c.surface, theme.PRIMARY, (cx + (i - 1) * c.px(90), cy), c.px(24))
    return []
