"""办不成事反映 in detail (issue 21): the category the resident chose, what happened (optional, the
pinyin keyboard) and a phone to be called back on (optional, the numeric keypad). While a field is
typed it sits at the top with the keyboard at the foot, as on the form (screens/form.py)."""

from __future__ import annotations

import pygame

from kiosk.flow.views import FieldView, HelpReportView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.search import keyboard_module
from screens.widgets import Button, Canvas

INPUT_BOTTOM = 1910  # the keyboard's foot, design px (as the form's)
BOX = {False: 90, True: 110}  # a field's box height; elder mode


def _field(c: Canvas, f: FieldView, t: Text, y: float, focused: bool, elder: bool) -> tuple[list[Button], float]:
    part = f"field:{f.key}"
    y = c.text(t(f.label) + t("form_optional"), y, tokens.TYPE["caption"], colour=theme.MUTED, x=70, width=940, part=part) + 8
    box = BOX[elder]
    x, by, w, bh = (c.px(v) for v in (60, y, 960, box))
    pygame.draw.rect(c.surface, theme.CARD, (x, by, w, bh), border_radius=c.px(12))
    pygame.draw.rect(c.surface, theme.PRIMARY if focused else theme.MUTED, (x, by, w, bh),
                     width=c.px(4 if focused else 2), border_radius=c.px(12))
    size = tokens.TYPE["label"]
    line = c.one_line(f.value or t("form_tap_to_type"), size, 900)
    c.text(line, y + (box - c.text_height(line, size, width=900)) / 2 + 4, size,
           colour=theme.TEXT if f.value else theme.MUTED, x=85, width=910, part=part)
    y += box
    if f.problem:
        y = c.text(t(f.problem), y + 8, tokens.TYPE["caption"], colour=theme.DANGER, x=70, width=940, part=part)
    return [Button(pygame.Rect(x, by, w, bh), part, t(f.label))], y


def draw(c: Canvas, view: HelpReportView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("report_title"))
    elder = bool(view.elder)
    y = c.text(t("report_" + view.report_category) if view.report_category else "", 180,
               tokens.TYPE["body"], bold=True,
               colour=theme.HEADER)
    keys = keyboard_module()
    focused = next((f for f in view.fields if f.key == view.focus), None)
    if focused is not None and keys is not None and c.keyboard is not None:
        kb_top = INPUT_BOTTOM - keys.height(c.keyboard, elder)
        buttons, _ = _field(c, focused, t, y + 20, True, elder)
        row_y = kb_top - 20 - (110 if elder else 100)
        size = tokens.TYPE["body"]
        buttons += [c.button(t("button_back"), "back", (60, row_y, 450, 110 if elder else 100), primary=False,
                             size=size, icon=icons.name_for("actions", "back")),
                    c.button(t("report_send"), "report:send", (570, row_y, 450, 110 if elder else 100), size=size)]
        return buttons + keys.draw(c, c.keyboard, kb_top, elder)
    y = c.text(t("report_detail_hint"), y + 10, tokens.TYPE["caption"], colour=theme.MUTED, width=940) + 20
    buttons: list[Button] = []
    for f in view.fields:
        drawn, y = _field(c, f, t, y, False, elder)
        buttons += drawn
        y += 30
    buttons.append(c.button(t("report_send"), "report:send", (140, max(y + 20, 1000.0), 800, 150),
                            size=tokens.TYPE["heading"]))
    return buttons + footer(c, t, back=True, help_=False)
