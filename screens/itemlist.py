"""The scrollable item list (all 292 items, a department, a life event, search results).

Built for 60 fps while a finger drags it: each row is rendered once into a cached surface and
only the rows inside the visible band are blitted; the scroll offset lives in the renderer (it is
the screen's own state, not the resident's journey).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pygame

from kiosk.flow.views import ListView
from screens import theme
from screens.chrome import footer
from screens.widgets import Button, Canvas

ROW_H, ELDER_ROW_H, GAP = 130, 180, 14
_CACHE: OrderedDict[tuple[Any, ...], pygame.Surface] = OrderedDict()
_CACHE_MAX = 800


def row_height(elder: bool) -> int:
    return ELDER_ROW_H if elder else ROW_H


def content_height(view: ListView) -> int:
    """Design px of the whole list, for the renderer's scroll limits."""
    return len(view.list) * (row_height(bool(view.elder)) + GAP)


def _row(c: Canvas, entry: tuple[str, str, str, str], reason: str, elder: bool, width: int) -> pygame.Surface:
    key = (entry, reason, elder, width, c.scale)
    surf = _CACHE.get(key)
    if surf is not None:
        _CACHE.move_to_end(key)
        return surf
    _code, name, department, unavailable = entry
    h = c.px(row_height(elder))
    surf = pygame.Surface((width, h))
    surf.fill(theme.BACKGROUND)
    pygame.draw.rect(surf, theme.CARD, (0, 0, width, h), border_radius=c.px(16))
    pygame.draw.rect(surf, theme.CARD_EDGE, (0, 0, width, h), width=max(2, c.px(2)), border_radius=c.px(16))
    size = c.size(40)
    small = c.size(30)
    fnt = theme.font(c.px(size), True)
    title = name
    while fnt.size(title)[0] > width - c.px(40) and len(title) > 2:
        title = title[:-2] + "…" if not title.endswith("…") else title[:-3] + "…"
    surf.blit(fnt.render(title, True, theme.TEXT if not unavailable else theme.MUTED), (c.px(24), c.px(14)))
    sub = theme.font(c.px(small))
    line = department + (f" · {reason}" if unavailable else "")
    surf.blit(sub.render(line, True, theme.DANGER if unavailable else theme.MUTED),
              (c.px(24), h - c.px(small) - c.px(22)))
    c._note(small)
    c._note(size)
    _CACHE[key] = surf
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)
    return surf


def draw_list(c: Canvas, view: ListView, t: Any, top: float, bottom: float) -> list[Button]:
    """Draw the visible rows between design y ``top`` and ``bottom``; one target per visible row."""
    entries = view.list
    elder = bool(view.elder)
    step = row_height(elder) + GAP
    scroll = int(c.scroll_px)
    area = pygame.Rect(0, c.px(top), c.width, c.px(bottom) - c.px(top))
    c.surface.set_clip(area)
    buttons: list[Button] = []
    first = max(0, scroll // step)
    width = c.width - c.px(120)
    for index in range(first, len(entries)):
        y = top + index * step - scroll
        if y >= bottom:
            break
        entry = entries[index]
        reason = t(entry[3]) if entry[3] else ""
        surf = _row(c, entry, reason, elder, width)
        c.surface.blit(surf, (c.px(60), c.px(y)))
        rect = pygame.Rect(c.px(60), c.px(y), width, c.px(row_height(elder))).clip(area)
        if rect.height >= c.px(60):  # a sliver at the edge is not a target
            buttons.append(Button(rect, f"detail:{entry[0]}"))
    c.surface.set_clip(None)
    if not entries:
        c.text(t("list_empty"), top + 40, 36, colour=theme.MUTED)
    elif content_height(view) > bottom - top:  # a scroll bar says there is more
        total = content_height(view)
        bar_h = max(c.px(60), int(area.height * area.height / c.px(total)))
        bar_y = area.top + int((area.height - bar_h) * min(1.0, scroll / max(1, total - (bottom - top))))
        pygame.draw.rect(c.surface, theme.MUTED, (c.width - c.px(40), bar_y, c.px(10), bar_h),
                         border_radius=c.px(5))
    return buttons


def draw(c: Canvas, view: ListView, t: Any) -> list[Button]:
    c.fill()
    c.header(view.list_title or t("browse_all"))
    c.text(t("list_hint", count=len(view.list)), 175, 32, colour=theme.MUTED)
    buttons = draw_list(c, view, t, 240, 1740)
    return buttons + footer(c, t, back=True)
