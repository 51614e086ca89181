"""The application form, generated from the catalog's field definitions.

Card fields are filled in and locked (never retyped); a problem shows next to its field as the
resident types. The on-screen keyboard (screens/keyboard.py) opens under the focused field.
"""

from __future__ import annotations

import pygame

from kiosk.flow.views import FormView
from screens import theme
from screens.chrome import Text, footer
from screens.search import keyboard_module
from screens.widgets import Button, Canvas

KEYBOARD_TOP = 1000


def draw(c: Canvas, view: FormView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("form_title"))
    c.text(view.item_name, 175, 36, bold=True, colour=theme.HEADER)
    buttons: list[Button] = []
    kb = keyboard_module() if c.keyboard is not None and view.focus else None
    bottom = KEYBOARD_TOP - 20 if kb else 1560
    fields = view.fields
    if view.focus:  # while typing show the focused field at the top, the rest follows
        fields = sorted(fields, key=lambda f: f.key != view.focus)
    y = 250.0
    elder = view.elder
    for f in fields:
        h = 150 if f.type != "choice" else 190
        if y + h > bottom:
            break
        c.text(f.label + ("" if f.required else t("form_optional")), y, 30, colour=theme.MUTED, x=70,
               width=940)
        box = (60, y + 45, 960, 85)
        if f.type == "choice":
            width = 960 / max(1, len(f.choices)) - 10
            for i, (value, label) in enumerate(f.choices[:4]):
                chosen = f.value == value
                buttons.append(c.button(("● " if chosen else "") + label, f"choice:{f.key}:{value}",
                                        (60 + i * (width + 10), y + 45, width, 100), primary=chosen, size=34))
        else:
            x, by, w, bh = (c.px(v) for v in box)
            focused = f.key == view.focus
            pygame.draw.rect(c.surface, theme.SECONDARY if f.locked else theme.CARD, (x, by, w, bh),
                             border_radius=c.px(12))
            pygame.draw.rect(c.surface, theme.PRIMARY if focused else theme.MUTED, (x, by, w, bh),
                             width=c.px(4 if focused else 2), border_radius=c.px(12))
            shown = f.value
            c.text(shown or t("form_tap_to_type"), y + 60, 36, colour=theme.TEXT if shown else theme.MUTED,
                   x=85, width=900)
            if not f.locked:
                buttons.append(Button(pygame.Rect(x, by, w, bh), f"field:{f.key}"))
            else:
                c.text(t("form_from_card"), y + 60, 30, colour=theme.MUTED, x=760, width=240)
        if f.problem:
            c.text(t("problem_" + f.problem), y + h - 15, 30, colour=theme.DANGER, x=70, width=940)
            y += 40
        y += h + (20 if elder else 0)
    if kb is not None:
        buttons += kb.draw(c, c.keyboard, KEYBOARD_TOP, bool(elder))
        return buttons
    buttons.append(c.button(t("button_next"), "next", (140, 1580, 800, 150), size=52))
    return buttons + footer(c, t, back=True)
