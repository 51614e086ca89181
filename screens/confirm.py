"""Shows the item and the masked identity read from the card; one touch to go on."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("confirm_title"))
    c.panel((60, 260, 960, 640))
    y = 300.0
    for label, value in ((t("confirm_item"), view.item_name),
                         (t("confirm_name"), view.applicant_name),
                         (t("confirm_id"), view.applicant_id)):
        c.text(label, y, 36, colour=theme.MUTED, x=110, width=860)
        y = c.text(value, y + 55, 52, bold=True, x=110, width=860) + 40
    # Say what the touch does: 查询 looks something up, 确认认证 certifies, 确认打印 prints.
    kind = view.item_kind
    label = t(f"confirm_button_{kind}") if kind in ("query", "certification") else t("confirm_button")
    return [c.button(label, "confirm", (140, 1050, 800, 200), size=60)] + footer(c, t, back=True)
