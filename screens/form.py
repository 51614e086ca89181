"""The application form, generated from the catalog's field definitions.

Card fields are filled in and locked (never retyped); a problem shows under its field as the
resident types. The fields are a paged band (screens/paging.py): every field, its message and
下一步 are reachable however long the form and however large the text (elder mode). While a field
is typed, the keyboard (or the date picker) sits at the foot of the screen, the field at the top,
and 退出 / 返回 / 下一步 right above the keyboard, so it never covers the field or the way out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.flow.views import FieldView, FormView
from screens import datepicker, icons, paging, theme, tokens
from screens.chrome import Text, footer
from screens.search import keyboard_module
from screens.widgets import Button, Canvas

LABEL = tokens.TYPE["caption"]  # a field's label and its problem
VALUE = tokens.TYPE["label"]  # what a field holds, and a choice's label
INPUT_BOTTOM = 1910  # the keyboard's (or date picker's) foot, design px
GROUP_PAD = 12  # above and below a group's heading
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
        if all(c.label_fits("● " + label, VALUE, width, s["choice"]) for _, label in f.choices):
            return cols
    return 1


def _block_height(c: Canvas, f: FieldView, t: Text, s: dict[str, int]) -> float:
    """How tall a field is drawn: its label, its box or choices, and its message."""
    h = c.text_height(_label(f, t), LABEL, width=940) + 8
    if f.type == "choice":
        rows = -(-max(1, len(f.choices)) // _columns(c, f, s))
        h += rows * s["choice"] + (rows - 1) * 10
    else:
        h += s["box"]
    if f.problem:
        h += 8 + c.text_height(t("problem_" + f.problem), LABEL, width=940)
    return h


def _field(c: Canvas, f: FieldView, t: Text, y: float, focus: str, s: dict[str, int]) -> list[Button]:
    """Draw one field from design ``y``; its targets."""
    buttons: list[Button] = []
    part = f"field:{f.key}"
    y = c.text(_label(f, t), y, LABEL, colour=theme.MUTED, x=70, width=940, part=part) + 8
    if f.type == "choice":
        cols = _columns(c, f, s)
        width = (960 - (cols - 1) * 10) / cols
        for i, (value, label) in enumerate(f.choices):
            chosen = f.value == value
            col, row = i % cols, i // cols
            buttons.append(c.button(("● " if chosen else "") + label, f"choice:{f.key}:{value}",
                                    (60 + col * (width + 10), y + row * (s["choice"] + 10), width, s["choice"]),
                                    primary=chosen, size=VALUE))
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
        line = c.one_line(shown, VALUE, 900)
        c.text(line, y + (s["box"] - c.text_height(line, VALUE, width=900)) / 2 + 4, VALUE,
               colour=theme.TEXT if f.value else theme.MUTED, x=85, width=910, part=part)
        if not f.locked:
            buttons.append(Button(pygame.Rect(x, by, w, bh), f"field:{f.key}", f.label))
        y += s["box"]
    if f.problem:
        c.text(t("problem_" + f.problem), y + 8, LABEL, colour=theme.DANGER, x=70, width=940, part=part)
    return buttons


@dataclass(frozen=True)
class Group:
    """A group's heading in the form's band: what the card filled in, and what the resident fills in."""

    title: str
    icon: str | None


def groups(view: FormView, t: Text) -> list[Group | FieldView]:
    """The band's entries: the card's fields under their heading, then the resident's under theirs (one
    group, unheaded, when the form has only one kind)."""
    card = [f for f in view.fields if f.locked]
    own = [f for f in view.fields if not f.locked]
    if not card or not own:
        return list(view.fields)
    return [Group(t("review_section_applicant"), icons.name_for("actions", "card")), *card,
            Group(t("review_section_fields"), icons.name_for("kinds", "apply")), *own]


def _group_height(c: Canvas, g: Group) -> float:
    return c.text_height(g.title, tokens.TYPE["label"], bold=True, width=880) + 2 * GROUP_PAD


def _entry(c: Canvas, e: Group | FieldView, t: Text, y: float, height: float, focus: str,
           s: dict[str, int]) -> list[Button]:
    if not isinstance(e, Group):
        return _field(c, e, t, y, focus, s)
    side = tokens.ICON["inline"]
    area = pygame.Rect(c.px(60), c.px(y), c.px(960), c.px(y + height) - c.px(y))
    pygame.draw.rect(c.surface, theme.SECONDARY, area, border_radius=c.px(tokens.RADIUS["s"]))
    line = c.text_height("国", tokens.TYPE["label"], bold=True)
    icons.draw(c.surface, e.icon, (c.px(80 + side / 2), c.px(y + GROUP_PAD + line / 2)), c.px(side), theme.ICON)
    c.text(e.title, y + GROUP_PAD, tokens.TYPE["label"], bold=True, colour=theme.TEXT, x=80 + side + 16, width=880)
    return []


def draw(c: Canvas, view: FormView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("form_title"))
    # The item applied for, with its department's mark.
    side = tokens.ICON["inline"]
    line = c.text_height("国", tokens.TYPE["heading"], bold=True)
    icons.draw(c.surface, icons.for_target(f"item:{view.item_code}"), (c.px(60 + side / 2), c.px(175 + line / 2)),
               c.px(side), theme.ICON)
    top = max(c.text(view.item_name, 175, tokens.TYPE["heading"], bold=True, colour=theme.HEADER, x=60 + side + 16,
                     width=960 - side - 16), 175 + side) + 15
    s = _sizes(bool(view.elder))
    state = c.keyboard if view.focus and keyboard_module() is not None else None
    focused = next((f for f in view.fields if f.key == view.focus), None)
    if state is not None and focused is not None:
        return _typing(c, view, t, focused, state, top, s)
    entries = groups(view, t)
    pager_y = NEXT_TOP - 15 - paging.pager_height(bool(view.elder))
    heights = [_group_height(c, e) if isinstance(e, Group) else _block_height(c, e, t, s) for e in entries]
    band = paging.Band(c, top, pager_y - 15, heights, gap=s["gap"])
    buttons = band.draw(lambda i, y: _entry(c, entries[i], t, y, heights[i], view.focus, s))
    buttons += paging.pager(c, t, band.scrolled, pager_y)
    buttons.append(c.button(t("button_next"), "next", (140, NEXT_TOP, 800, 150), size=tokens.TYPE["heading"]))
    return buttons + footer(c, t, back=True)


def _typing(c: Canvas, view: FormView, t: Text, f: FieldView, state: object, top: float,
            s: dict[str, int]) -> list[Button]:
    """The field being typed at the top, the keyboard at the foot, the way out right above it."""
    elder = bool(view.elder)
    keys = datepicker if isinstance(state, datepicker.DatePickerState) else keyboard_module()
    height = keys.height(elder) if keys is datepicker else keys.height(state, elder)
    kb_top = INPUT_BOTTOM - height
    index = [x.key for x in view.fields].index(f.key) + 1
    y = c.text(t("form_field_position", index=index, count=len(view.fields)), top, tokens.TYPE["caption"],
               colour=theme.MUTED)
    buttons = _field(c, f, t, y + 10, view.focus, s)
    row_y = kb_top - 20 - s["row"]
    size = tokens.TYPE["body"]
    buttons += [c.button(t("button_exit"), "exit", (60, row_y, 300, s["row"]), primary=False, size=size,
                         icon=icons.name_for("actions", "exit")),
                c.button(t("button_back"), "back", (390, row_y, 300, s["row"]), primary=False, size=size,
                         icon=icons.name_for("actions", "back")),
                c.button(t("button_next"), "next", (720, row_y, 300, s["row"]), size=size)]
    return buttons + keys.draw(c, state, kb_top, elder)
