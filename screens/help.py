"""帮办代办 (call a member of staff) and 办不成事反映 (report that something could not be done)."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text
from screens.messages import message_box
from screens.widgets import Button, Canvas

GROUPS = ("elderly", "disabled", "other")
REPORTS = ("cannot_handle", "too_slow", "system_fault", "other")


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("help_title"))
    c.text(t("help_hint"), 190, 36, width=940)
    buttons = []
    for i, group in enumerate(GROUPS):
        buttons.append(c.button(t("help_" + group), f"help:{group}", (60 + i * 330, 330, 300, 170), size=40))
    c.text(t("report_title"), 580, 44, bold=True, colour=theme.HEADER)
    c.text(t("report_hint"), 650, 32, colour=theme.MUTED, width=940)
    for i, category in enumerate(REPORTS):
        col, row = i % 2, i // 2
        buttons.append(c.button(t("report_" + category), f"report:{category}",
                                (60 + col * 490, 760 + row * 170, 470, 150), primary=False, size=38))
    if view.help_no:
        message_box(c, t("help_number", number=view.help_no), "success", 1120)
    buttons.append(c.button(t("button_back"), "back", (240, 1560, 600, 160), size=52))
    return buttons
