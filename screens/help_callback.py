"""A call-back after hours (issue 21): the mobile number on the keypad, a time window, send.

The keys are the flow's own (``pk:``, as on the receipt-number screen), so what was typed lives in the
session and goes with it; the number is declared personal (the desk's and operators' mirror masks it).
"""

from __future__ import annotations

from kiosk.flow.help_desk import WINDOWS
from kiosk.flow.views import HelpCallbackView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.keyboard import DIGIT_ROWS, LABELS, KeyPainter
from screens.messages import message_box
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: HelpCallbackView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("callback_title"))
    y = c.text(t("callback_hint"), 180, tokens.TYPE["label"], width=940)
    c.panel((90, y + 15, 900, 130))
    phone = view.callback_phone
    c.text(phone or "1__________", y + 30, tokens.TYPE["title"], bold=True, colour=theme.TEXT if phone else theme.MUTED)
    y += 160
    if view.callback_problem:
        y = message_box(c, t(view.callback_problem), "error", y) + 10
    labels = LABELS.get(view.language, LABELS["zh_CN"])
    p = KeyPainter(c, None, bool(view.elder))
    unit, gap = 220, 16
    x0 = (1080 - 4 * unit - 3 * gap) / 2
    row_h = p.s["key_h"] + 20
    top = y + 10
    for r, row in enumerate(DIGIT_ROWS):
        for i, ch in enumerate(row):
            p.key(ch, f"pk:{ch}", x0 + i * (unit + gap), top + r * row_h, unit)
    p.key("0", "pk:0", x0, top + 3 * row_h, unit * 3 + gap * 2)
    side = x0 + 3 * (unit + gap)
    p.key(labels["BKSP"], "pk:BKSP", side, top, unit, special=True)
    p.key(labels["CLEAR"], "pk:CLEAR", side, top + row_h, unit, special=True)
    buttons = list(p.buttons)
    y = top + 4 * row_h + 10
    y = c.text(t("callback_window"), y, tokens.TYPE["label"], bold=True)
    width = (960 - 2 * 20) / 3
    for i, window in enumerate(WINDOWS):
        chosen = window == view.callback_window
        label = ("✓ " if chosen else "") + t(f"callback_win_{window}")
        buttons.append(c.button(label, f"win:{window}", (60 + i * (width + 20), y + 10, width, 120),
                                primary=chosen, size=tokens.TYPE["label"]))
    buttons.append(c.button(t("callback_send"), "cb:send", (60, y + 160, 960, 130), size=tokens.TYPE["body"],
                            icon=icons.name_for("actions", "callback")))
    return buttons + footer(c, t, back=True, help_=False)
