"""Search: the query, quick chips (or the on-screen pinyin keyboard when it is installed) and results."""

from __future__ import annotations

from typing import Any

import pygame

from kiosk.flow.views import ListView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.itemlist import draw_list
from screens.widgets import Button, Canvas

KEYBOARD_BOTTOM = 1910  # the keyboard sits at the screen's foot; the results use the space above it


def keyboard_module() -> Any:
    """screens/keyboard.py when it exists (built alongside); None keeps search usable through chips."""
    try:
        # lazy: the keyboard pulls in the input method; the first frame (P1) draws no keyboard
        from screens import keyboard
    except ImportError:
        return None
    return keyboard


def draw(c: Canvas, view: ListView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("browse_search"))
    with_kb = c.keyboard is not None and keyboard_module() is not None
    box_h = 120 if view.elder else 100  # elder: the buttons beside it hold two lines of large text
    box = pygame.Rect(c.px(60), c.px(180), c.px(400 if with_kb else 960), c.px(box_h))
    pygame.draw.rect(c.surface, theme.CARD, box, border_radius=c.px(14))
    pygame.draw.rect(c.surface, theme.PRIMARY, box, width=c.px(4), border_radius=c.px(14))
    query = view.query
    width = 360 if with_kb else 900
    body = tokens.TYPE["body"]
    shown = c.one_line(query or t("search_placeholder"), body, width)
    c.text(shown, 180 + (box_h - c.text_height(shown, body, width=width)) / 2, body,
           colour=theme.TEXT if query else theme.MUTED, x=90, width=width)
    buttons: list[Button] = []
    kb_state = c.keyboard
    kb = keyboard_module() if kb_state is not None else None
    if kb is not None:
        top = KEYBOARD_BOTTOM - kb.height(kb_state, bool(view.elder))
        buttons += draw_list(c, view, t, 180 + box_h + 20, top - 20)
        buttons += kb.draw(c, kb_state, top, bool(view.elder))
        return buttons + _small_footer(c, t, box_h)
    chips = view.search_chips
    chip_h = tokens.TARGET_MIN["elder" if view.elder else "standard"] + 5  # 95, 115 in elder mode
    for i, chip in enumerate(chips):
        col, row = i % 4, i // 4
        buttons.append(c.button(chip, f"q:{chip}", (60 + col * 245, 200 + box_h + row * (chip_h + 15), 225, chip_h),
                                primary=False, size=tokens.TYPE["label"]))
    rows = (len(chips) + 3) // 4
    buttons += draw_list(c, view, t, 220 + box_h + rows * (chip_h + 15), 1740)
    return buttons + footer(c, t, back=True)


def _small_footer(c: Canvas, t: Text, h: float) -> list[Button]:
    """With the keyboard up the footer moves out of its way: exit, help and back sit beside the query."""
    size = tokens.TYPE["caption"]
    return [c.button(t(f"button_{key}"), key, (x, 180, 170, h), primary=False, size=size,
                     icon=icons.name_for("actions", key))
            for key, x in (("exit", 480), ("help", 665), ("back", 850))]
