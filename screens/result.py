"""A query's answer on screen (masked at the source), with printing as an option."""

from __future__ import annotations

from kiosk.flow.views import ResultView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: ResultView, t: Text) -> list[Button]:
    c.fill()
    c.header(view.answer_title or view.item_name)
    # A large status mark with the words it stands for: the answer came.
    icons.draw(c.surface, icons.name_for("status", "success"), (c.px(130), c.px(255)), c.px(110), theme.SUCCESS)
    c.text(t("result_title"), 220, tokens.TYPE["heading"], bold=True, colour=theme.SUCCESS, x=210, width=800)
    c.panel((60, 330, 960, 1120))
    y = 360.0
    for label, value in view.answer_rows[:14]:
        below = c.text(label, y, tokens.TYPE["caption"], colour=theme.MUTED, x=100, width=360)
        y = max(below, c.text(value, y, tokens.TYPE["caption"], x=470, width=520)) + 16
    buttons = []
    if view.available.get("printer", True):
        buttons.append(c.button(t("result_print"), "print", (60, 1480, 470, 160), size=tokens.TYPE["heading"],
                                icon=icons.name_for("actions", "print")))
    buttons.append(c.button(t("result_finish"), "finish", (550, 1480, 470, 160), primary=False,
                            size=tokens.TYPE["heading"], icon=icons.name_for("status", "success")))
    return buttons + footer(c, t, back=True)
