"""Typing the receipt number on a keypad, for a receipt whose code cannot be scanned.

The resident types the 18 digits after the terminal id (8-digit date, 6-digit batch, 4-digit serial); the keys are
the flow's own (``pk:``) so what was typed lives in the session and goes with it. The keys look
like the on-screen keyboard's (screens/keyboard.py's painter).
"""

from __future__ import annotations

from kiosk.flow.views import ReceiptEntryView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.keyboard import DIGIT_ROWS, LABELS, KeyPainter
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: ReceiptEntryView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("receipt_entry_title"))
    y = c.text(t("receipt_entry_hint"), 190, tokens.TYPE["label"], width=920)
    y = max(y + 20, 400.0)  # elder mode's larger hint pushes the field and keypad down
    box_h = 150 if view.elder else 130
    c.panel((90, y, 900, box_h))
    digits = view.receipt_digits
    shown, size = digits or "________-______-____", tokens.TYPE["title"]
    c.text(shown, y + (box_h - c.text_height(shown, size, width=880, bold=True)) / 2, size, bold=True,
           colour=theme.TEXT if digits else theme.MUTED, width=880)
    left = view.receipt_digits_left
    y += box_h + 10
    if left:
        y = c.text(t("receipt_entry_left", n=left), y, tokens.TYPE["label"], colour=theme.MUTED)
    labels = LABELS.get(view.language, LABELS["zh_CN"])
    p = KeyPainter(c, None, bool(view.elder))
    unit, gap, top = 220, 20, max(y + 20, 640.0)
    x0 = (1080 - 4 * unit - 3 * gap) / 2
    row_h = p.s["key_h"] + 30
    for r, row in enumerate(DIGIT_ROWS):
        for i, ch in enumerate(row):
            p.key(ch, f"pk:{ch}", x0 + i * (unit + gap), top + r * row_h, unit, enabled=left > 0)
    p.key("0", "pk:0", x0, top + 3 * row_h, unit * 3 + gap * 2, enabled=left > 0)
    side = x0 + 3 * (unit + gap)
    p.key(labels["BKSP"], "pk:BKSP", side, top, unit, special=True)
    p.key(labels["CLEAR"], "pk:CLEAR", side, top + row_h, unit, special=True)
    buttons = list(p.buttons)
    buttons.append(c.button(t("receipt_entry_search"), "pk:done", (side, top + 2 * row_h, unit, 2 * row_h - 30),
                            size=tokens.TYPE["body"], icon=icons.name_for("actions", "search")))
    scan_y = min(top + 4 * row_h + 20, 1620)
    buttons.append(c.button(t("receipt_entry_scan"), "scan", (140, scan_y, 800, 120), primary=False,
                            size=tokens.TYPE["body"], icon=icons.name_for("actions", "scan")))
    return buttons + footer(c, t, back=True)
