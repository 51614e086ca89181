"""Attract loop: invites a touch or an ID card."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text, language_bar
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("app_title"))
    if view.out_of_service:
        # Operators took the terminal out of service: say so plainly, offer nothing to touch.
        message = view.out_of_service
        c.text(t("out_of_service_title"), 600, 72, bold=True, colour=theme.DANGER)
        c.text(t("out_of_service") if message == "out_of_service" else message, 780, 48, width=900)
        return []
    # Each text starts below the one before, however many lines elder mode or English made it.
    y = c.text(t("attract_title"), 420, 84, bold=True, colour=theme.HEADER)
    if not view.elder:  # elder mode's simpler page: the slogan is decoration, the hint is not
        y = c.text(t("attract_slogan"), max(560, y + 20), 48, colour=theme.MUTED)
    c.text(t("attract_hint"), max(760, y + 40), 44, width=860)
    buttons = [c.button(t("button_start"), "start", (190, 1000, 700, 200), size=64),
               c.button(t("elder_on"), "elder", (190, 1230, 340, 120), primary=False, size=40),
               c.button(t("button_help"), "help", (550, 1230, 340, 120), primary=False, size=36),
               # The hint's second way in: a receipt's progress, with no card and no session to start.
               c.button(t("attract_progress"), "progress", (190, 1560, 700, 130 if view.elder else 110),
                        primary=False, size=36)]
    if view.simulated_reader:
        buttons.append(c.button(t("button_sim_card"), "sim:card", (290, 1420, 500, 110), primary=False,
                                size=36))
    return buttons + language_bar(c, t)
