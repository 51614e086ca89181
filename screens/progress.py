"""Working (talking to the platform) and printing: nothing to touch, just what is happening."""

from __future__ import annotations

import pygame

from kiosk.flow.views import View
from screens import guidance, motion, theme, tokens
from screens.chrome import Text
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    printing = view.screen == "printing"
    c.header(t("app_title"))
    c.text(view.item_name, 300, tokens.TYPE["heading"], bold=True, colour=theme.HEADER)
    c.text(t("printing_title" if printing else "working_title"), 700, tokens.TYPE["title"], bold=True)
    if printing:
        y = c.text(t("printing_hint"), 860, tokens.TYPE["body"], colour=theme.MUTED)
        # Where the slip comes out on this cabinet (screens/guidance.py).
        guidance.draw(c, t, "printer", max(y + 40, 1000), 560)
        return []
    # Waiting for the platform: three dots; with motion on, a wave runs through them (screens/motion.py).
    cx, cy = c.width // 2, c.px(1250)
    wave = motion.wave(c.anim_ms)
    for i in range(3):
        lift = wave[i]
        pygame.draw.circle(c.surface, theme.PRIMARY, (cx + (i - 1) * c.px(90), cy - c.px(30 * lift)),
                           c.px(24 + 6 * lift))
    return []
