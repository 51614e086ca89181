"""Asks for the ID card before an item that needs identity."""

from __future__ import annotations

import pygame

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("card_title"))
    below = c.text(view.item_name, 230, 48, bold=True, colour=theme.HEADER)
    accepted = view.item_identity
    awaiting = view.awaiting
    hint = {"social_security_card": "card_hint_ssc", "app_qr": "card_hint_qr"}.get(awaiting, "card_hint")
    c.text(t(hint), max(320, below + 10), 40, width=880)  # under the name, however many lines it took
    # Every accepted way to identify is offered, never only one (A5: no biometric-only path).
    others: list[str] = [a for a in ("social_security_card", "app_qr") if a in accepted and a != awaiting]
    if awaiting and ("id_card" in accepted or "id_card_face" in accepted):
        others.insert(0, "id_card")
    # The reader pad sits below the screen: an arrow points at it.
    cx, top = c.width // 2, c.px(900)
    pygame.draw.rect(c.surface, theme.SECONDARY, (cx - c.px(260), top, c.px(520), c.px(330)),
                     border_radius=c.px(24))
    pygame.draw.rect(c.surface, theme.PRIMARY, (cx - c.px(200), top + c.px(50), c.px(400), c.px(230)),
                     width=c.px(6), border_radius=c.px(16))
    pygame.draw.polygon(c.surface, theme.PRIMARY, [(cx - c.px(70), c.px(1330)), (cx + c.px(70), c.px(1330)),
                                                   (cx, c.px(1450))])
    buttons = [c.button(t("id_" + a), f"use:{a}", (60 + i * 330, 1500, 300, 120), primary=False, size=32)
               for i, a in enumerate(others[:3])]
    if view.simulated_reader:
        buttons.append(c.button(t("button_sim_card"), "sim:card", (290, 1640, 500, 100), primary=False,
                                size=36))
    return buttons + footer(c, t, back=True)
