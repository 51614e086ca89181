"""A query's answer on screen (masked at the source), with printing as an option."""

from __future__ import annotations

from kiosk.flow.views import ResultView
from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: ResultView, t: Text) -> list[Button]:
    c.fill()
    c.header(view.answer_title or view.item_name)
    c.panel((60, 200, 960, 1200))
    y = 230.0
    for label, value in view.answer_rows[:14]:
        below = c.text(label, y, 30, colour=theme.MUTED, x=100, width=360)
        y = max(below, c.text(value, y, 34, x=470, width=520)) + 16
    buttons = []
    if view.available.get("printer", True):
        buttons.append(c.button(t("result_print"), "print", (60, 1480, 470, 160), size=46))
    buttons.append(c.button(t("result_finish"), "finish", (550, 1480, 470, 160), primary=False, size=46))
    return buttons + footer(c, t, back=True)
