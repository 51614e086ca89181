"""Shows the item and the masked identity read from the card; one touch to go on."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

# The confirm button's icon by item kind (its label says the same): look up, certify, or print.
CONFIRM_ICONS = {"query": ("actions", "search"), "certification": ("status", "success")}


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("confirm_title"))
    rows = ((t("confirm_item"), view.item_name), (t("confirm_name"), view.applicant_name),
            (t("confirm_id"), view.applicant_id))
    # The card grows with what it holds (a long name in elder mode takes two lines); the button stays below it.
    height = 40 + sum(55 + c.text_height(value, tokens.TYPE["heading"], width=860, bold=True) + 40
                      for _, value in rows)
    c.panel((60, 260, 960, max(640, height)))
    y = 300.0
    for label, value in rows:
        c.text(label, y, tokens.TYPE["label"], colour=theme.MUTED, x=110, width=860)
        y = c.text(value, y + 55, tokens.TYPE["heading"], bold=True, x=110, width=860) + 40
    top = max(1050, 260 + height + 60)
    # Say what the touch does: 查询 looks something up, 确认认证 certifies, 确认打印 prints.
    kind = view.item_kind
    label = t(f"confirm_button_{kind}") if kind in ("query", "certification") else t("confirm_button")
    icon = icons.name_for(*CONFIRM_ICONS.get(kind, ("actions", "print")))  # what the touch does, as a picture
    return [c.button(label, "confirm", (140, top, 800, 200), size=tokens.TYPE["title"], icon=icon)] + \
        footer(c, t, back=True)
