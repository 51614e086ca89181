"""The application form, generated from the catalog's field definitions.

Card fields are filled in and locked (never retyped); a problem shows under its field as the
resident types. The fields are a paged band (screens/paging.py): every field, its message and
下一步 are reachable however long the form and however large the text (elder mode). While a field
is typed, the keyboard (or the date picker) sits at the foot of the screen, the field at the top,
and 退出 / 返回 / 下一步 right above the keyboard, so it never covers the field or the way out.
"""

from __future__ import annotations

import pygame

from kiosk.flow.views import FieldView, FormView
from screens import datepicker, paging, theme
from screens.chrome import Text, footer
from screens.search import keyboard_module
from screens.widgets import Button, Canvas

INPUT_BOTTOM = 1910  # the keyboard's (or date picker's) foot, design px
NEXT_TOP = 1580  # 下一步, under the band and its pager; the footer is under it


def _sizes(elder: bool) -> dict[str, int]:
    """Design px: text box, choice button, way-out row, gap between fields."""
    if elder:
        return {"box": 104, "choice": 120, "cols": 2, "row": 110, "gap": 34}
    return {"box": 85, "choice": 100, "cols": 3, "row": 100, "gap": 28}


def _label(f: FieldView, t: Text) -> str:
    label = f.label + ("" if f.required else t("form_optional"))
    return f"{label} · {t('form_from_card')}" if f.locked else label


def _columns(c: Canvas, f: FieldView, s: dict[str, int]) -> int:
    """How many choices side by side: fewer when a label would not fit its button whole."""
    for cols in range(s["cols"], 0, -1):
        width = (960 - (cols - 1) * 10) / cols
        if all(c.label_fits("● " + label, 34, width, s["choice"]) for _, label in f.choices):
            return cols
    return 1


def _block_height(c: Canvas, f: FieldView, t: Text, s: dict[str, int]) -> float:
    """How tall a field is drawn: its label, its box or choices, and its message."""
    h = c.text_height(_label(f, t), 30, width=940) + 8
    if f.type == "choice":
        rows = -(-max(1, len(f.choices)) // _columns(c, f, s))
        h += rows * s["choice"] + (rows - 1) * 10
    else:
        h += s["box"]
    if f.problem:
        h += 8 + c.text_height(t("problem_" + f.problem), 30, width=940)
    return h


def _field(c: Canvas, f: FieldView, t: Text, y: float, focus: str, s: dict[str, int]) -> list[Button]:
    """Draw one field from design ``y``; its targets."""
    buttons: list[Button] = []
    part = f"field:{f.key}"
    y = c.text(_label(f, t), y, 30, colour=theme.MUTED, x=70, width=940, part=part) + 8
    if f.type == "choice":
        cols = _columns(c, f, s)
        width = (960 - (cols - 1) * 10) / cols
        for i, (value, label) in enumerate(f.choices):
            chosen = f.value == value
            col, row = i % cols, i // cols
            buttons.append(c.button(("● " if chosen else "") + label, f"choice:{f.key}:{value}",
                                    (60 + col * (width + 10), y + row * (s["choice"] + 10), width, s["choice"]),
                                    primary=chosen, size=34))
        rows = -(-max(1, len(f.choices)) // cols)
        y += rows * s["choice"] + (rows - 1) * 10
    else:
        x, by, w, bh = (c.px(v) for v in (60, y, 960, s["box"]))
        focused = f.key == focus
        pygame.draw.rect(c.surface, theme.SECONDARY if f.locked else theme.CARD, (x, by, w, bh),
                         border_radius=c.px(12))
        pygame.draw.rect(c.surface, theme.PRIMARY if focused else theme.MUTED, (x, by, w, bh),
                         width=c.px(4 if focused else 2), border_radius=c.px(12))
        shown = f.value or ("" if f.locked else t("form_tap_to_type"))
        line = c.one_line(shown, 36, 900)
        c.text(line, y + (s["box"] - c.text_height(line, 36, width=900)) / 2 + 4, 36,
               colour=theme.TEXT if f.value else theme.MUTED, x=85, width=910, part=part)
        if not f.locked:
            buttons.append(Button(pygame.Rect(x, by, w, bh), f"field:{f.key}", f.label))
        y += s["box"]
    if f.problem:
        c.text(t("problem_" + f.problem), y + 8, 30, colour=theme.DANGER, x=70, width=940, part=part)
    return buttons


def draw(c: Canvas, view: FormView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("form_title"))
    top = c.text(view.item_name, 175, 36, bold=True, colour=theme.HEADER) + 15
    s = _sizes(bool(view.elder))
    state = c.keyboard if view.focus and keyboard_module() is not None else None
    focused = next((f for f in view.fields if f.key == view.focus), None)
    if state is not None and focused is not None:
        return _typing(c, view, t, focused, state, top, s)
    fields = view.fields
    pager_y = NEXT_TOP - 15 - paging.pager_height(bool(view.elder))
    band = paging.Band(c, top, pager_y - 15, [_block_height(c, f, t, s) for f in fields], gap=s["gap"])
    buttons = band.draw(lambda i, y: _field(c, fields[i], t, y, view.focus, s))
    buttons += paging.pager(c, t, band.scrolled, pager_y)
    buttons.append(c.button(t("button_next"), "next", (140, NEXT_TOP, 800, 150), size=52))
    return buttons + footer(c, t, back=True)


def _typing(c: Canvas, view: FormView, t: Text, f: FieldView, state: object, top: float,
            s: dict[str, int]) -> list[Button]:
    """The field being typed at the top, the keyboard at the foot, the way out right above it."""
    elder = bool(view.elder)
    keys = datepicker if isinstance(state, datepicker.DatePickerState) else keyboard_module()
    height = keys.height(elder) if keys is datepicker else keys.height(state, elder)
    kb_top = INPUT_BOTTOM - height
    index = [x.key for x in view.fields].index(f.key) + 1
    y = c.text(t("form_field_position", index=index, count=len(view.fields)), top, 30, colour=theme.MUTED)
    buttons = _field(c, f, t, y + 10, view.focus, s)
    row_y = kb_top - 20 - s["row"]
    buttons += [c.button(t("button_exit"), "exit", (60, row_y, 300, s["row"]), primary=False, size=40),
                c.button(t("button_back"), "back", (390, row_y, 300, s["row"]), primary=False, size=40),
                c.button(t("button_next"), "next", (720, row_y, 300, s["row"]), size=40)]
    return buttons + keys.draw(c, state, kb_top, elder)
