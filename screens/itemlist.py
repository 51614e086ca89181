"""The scrollable item list (all the items, a department, a life event, search results).

Each row shows its department's icon at its left (a 一件事 bundle's own icon), then the item's whole name
and the department under it; the icon never replaces a word.

Built for 60 fps while a finger drags it: each row is rendered once into a cached surface and
only the rows inside the visible band are blitted; the scroll offset lives in the renderer (it is
the screen's own state, not the resident's journey); screens/paging.py pages it.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any

import pygame

from kiosk.flow.views import ListView
from screens import icons, paging, theme, tokens
from screens.chrome import footer
from screens.widgets import Button, Canvas, wrap

ROW_H, ELDER_ROW_H, GAP = 130, 180, 14
PAD = tokens.SPACE["m"]  # design px: the row's inner margin
ICON_GAP = 20            # design px between the icon and the texts
_CACHE: OrderedDict[tuple[Any, ...], pygame.Surface] = OrderedDict()
# Rows drawn once and kept while they scroll by. A row is ≈ 0.5–0.8 MB of pixels, so the bound is
# what a day of residents costs (P9, issue 25): 800 rows (every item × language × elder mode) grew the
# app by ≈ 400 MB; 64 covers several screens of a list a finger drags back and forth (P2).
_CACHE_MAX = 64


def open_rows() -> int:
    """How many drawn rows are kept."""
    return len(_CACHE)


def forget_rows() -> None:
    """Drop the drawn rows (a session ended: the next resident's list is drawn afresh)."""
    _CACHE.clear()
    _layout.cache_clear()
    _text_rects.cache_clear()


def row_height(elder: bool) -> int:
    """The height of a row whose texts fit on one line each (longer names make taller rows)."""
    return ELDER_ROW_H if elder else ROW_H


def icon_side(elder: bool) -> int:
    """The row icon's size (design px): the inline icon, enlarged with the text in elder mode."""
    side = tokens.ICON["inline"]
    return int(side * tokens.ELDER_SCALE) if elder else side


def text_left(elder: bool) -> int:
    """Where a row's texts start (design px from the row's left edge): right of its icon."""
    return PAD + icon_side(elder) + ICON_GAP


def row_icon(target: str) -> str | None:
    """The icon of a row's target: a bundle's own, an item's department's (``detail:<code>``)."""
    kind, _, code = target.partition(":")
    return icons.for_target(target if kind == "bundle" else f"item:{code}")


@lru_cache(maxsize=4096)
def _layout(name: str, line: str, elder: bool, width: int, scale: float) -> tuple[int, int, tuple[str, ...],
                                                                                   tuple[str, ...], int]:
    """Title size, sub-line size, the wrapped title and sub lines and the row's height (device px):
    a long name (English, 繁體) wraps onto more lines instead of being cut off."""
    size, small = tokens.type_size("body", elder), tokens.type_size("caption", elder)
    inner = width - round((text_left(elder) + PAD) * scale)
    fnt, sub = theme.font(round(size * scale), True), theme.font(round(small * scale))
    title, lines = wrap(name, fnt, inner), wrap(line, sub, inner)
    body = len(title) * fnt.get_linesize() + len(lines) * sub.get_linesize()
    return size, small, tuple(title), tuple(lines), max(round(row_height(elder) * scale), body + round(36 * scale))


def _row(c: Canvas, entry: tuple[str, str, str, str], reason: str, elder: bool, width: int) -> pygame.Surface:
    key = (entry, reason, elder, width, c.scale, id(theme.active()))
    surf = _CACHE.get(key)
    if surf is not None:
        _CACHE.move_to_end(key)
        return surf
    _code, name, department, unavailable = entry
    size, small, title, lines, h = _layout(name, _sub_line(department, reason), elder, width, c.scale)
    surf = pygame.Surface((width, h))
    surf.fill(theme.BACKGROUND)
    radius = c.px(tokens.RADIUS["m"])
    pygame.draw.rect(surf, theme.CARD, (0, 0, width, h), border_radius=radius)
    pygame.draw.rect(surf, theme.CARD_EDGE, (0, 0, width, h), width=max(2, c.px(2)), border_radius=radius)
    side = icon_side(elder)
    icons.draw(surf, row_icon(_target(entry)), (c.px(PAD + side / 2), h // 2), c.px(side),
               theme.MUTED if unavailable else theme.ICON)
    fnt, sub = theme.font(c.px(size), True), theme.font(c.px(small))
    left = c.px(text_left(elder))
    y = c.px(14)
    for text in title:
        surf.blit(fnt.render(text, True, theme.TEXT if not unavailable else theme.MUTED), (left, y))
        y += fnt.get_linesize()
    y = h - c.px(22) - len(lines) * sub.get_linesize()
    for text in lines:
        surf.blit(sub.render(text, True, theme.DANGER if unavailable else theme.MUTED), (left, y))
        y += sub.get_linesize()
    _CACHE[key] = surf
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)
    return surf


def _sub_line(department: str, reason: str) -> str:
    return department + (f" · {reason}" if reason else "")


BUNDLE_PREFIX = "bundle:"  # a search hit that is a 一件事 bundle: its row opens the bundle, labelled as one


def _target(entry: tuple[str, str, str, str]) -> str:
    """What a touch on the row opens: the item's detail, or the bundle."""
    return entry[0] if entry[0].startswith(BUNDLE_PREFIX) else f"detail:{entry[0]}"


def _shown(entry: tuple[str, str, str, str], t: Any) -> tuple[str, str, str, str]:
    """The row as drawn: a bundle's sub-line is the 一件事 label instead of a department."""
    return (entry[0], entry[1], t("list_bundle_label"), entry[3]) if entry[0].startswith(BUNDLE_PREFIX) else entry


def _note_texts(c: Canvas, entry: tuple[str, str, str, str], reason: str, elder: bool, width: int,
                left: int, top: int) -> None:
    """Tell the canvas what the row's texts are and where (the layout test and the A1 size check)."""
    size, small, *_, h = _layout(entry[1], _sub_line(entry[2], reason), elder, width, c.scale)
    c._note(size)
    c._note(small)
    # As asked of the type scale (the visual-language check reads it): the name is body, the line under it caption.
    c.type_asked.append((tokens.TYPE["body"], entry[1]))
    c.type_asked.append((tokens.TYPE["caption"], _sub_line(entry[2], reason)))
    box = pygame.Rect(left + c.px(text_left(elder)), top, width - c.px(text_left(elder) + PAD), h)
    for rect in _text_rects(entry[1], _sub_line(entry[2], reason), elder, width, c.scale):
        c.text_boxes.append((rect.move(box.left, top), box))


@lru_cache(maxsize=4096)
def _text_rects(name: str, line: str, elder: bool, width: int, scale: float) -> tuple[pygame.Rect, ...]:
    """Where a row's text lines are, relative to the row's text box (device px)."""
    size, small, title, lines, h = _layout(name, line, elder, width, scale)
    fnt, sub = theme.font(round(size * scale), True), theme.font(round(small * scale))
    rects, y = [], round(14 * scale)
    for text in title:
        rects.append(pygame.Rect(0, y, fnt.size(text)[0], fnt.get_height()))
        y += fnt.get_linesize()
    y = h - round(22 * scale) - len(lines) * sub.get_linesize()
    for text in lines:
        rects.append(pygame.Rect(0, y, sub.size(text)[0], sub.get_height()))
        y += sub.get_linesize()
    return tuple(rects)


_LAST: list[Any] = [None, None]  # (key, (reasons, heights)) of the list drawn last


def _heights(c: Canvas, entries: list[tuple[str, str, str, str]], t: Any, elder: bool,
             width: int) -> tuple[list[str], list[float]]:
    """Each row's reason text and height (design px), kept while the same list is redrawn (a drag)."""
    key = (id(entries), len(entries), elder, width, c.scale, t("list_empty"))
    if _LAST[0] == key and _LAST[1][0] is entries:
        return _LAST[1][1], _LAST[1][2]
    reasons = [t(entry[3]) if entry[3] else "" for entry in entries]
    heights = [_layout(e[1], _sub_line(_shown(e, t)[2], r), elder, width, c.scale)[4] / c.scale
               for e, r in zip(entries, reasons, strict=True)]
    _LAST[0], _LAST[1] = key, (entries, reasons, heights)
    return reasons, heights


def draw_list(c: Canvas, view: ListView, t: Any, top: float, bottom: float) -> list[Button]:
    """The rows between design y ``top`` and ``bottom`` (the pager's row included, at the bottom);
    one target per row wholly shown."""
    entries = view.list
    elder = bool(view.elder)
    if not entries:
        c.text(t("list_empty"), top + 40, tokens.TYPE["label"], colour=theme.MUTED)
        return []
    pager_h = paging.pager_height(elder)
    width = c.width - c.px(120)
    reasons, heights = _heights(c, entries, t, elder, width)
    band = paging.Band(c, top, bottom - pager_h - 10, heights, gap=GAP)

    def row(index: int, y: float) -> list[Button]:
        entry, reason = _shown(entries[index], t), reasons[index]
        surf = _row(c, entry, reason, elder, width)
        c.surface.blit(surf, (c.px(60), c.px(y)))
        _note_texts(c, entry, reason, elder, width, c.px(60), c.px(y))
        target = _target(entry)
        c.button_icons[target] = row_icon(target) or ""
        return [Button(pygame.Rect(c.px(60), c.px(y), width, surf.get_height()), target,
                       " · ".join(x for x in (entry[1], _sub_line(entry[2], reason)) if x))]

    buttons = band.draw(row)
    scrolled = band.scrolled
    if scrolled.limit:  # a scroll bar says where in the list the band is
        area_top, area_h = c.px(band.top), c.px(band.bottom) - c.px(band.top)
        bar_h = max(c.px(60), int(area_h * scrolled.band / scrolled.content))
        bar_y = area_top + int((area_h - bar_h) * band.scroll / scrolled.limit)
        pygame.draw.rect(c.surface, theme.MUTED, (c.width - c.px(40), bar_y, c.px(10), bar_h),
                         border_radius=c.px(5))
    return buttons + paging.pager(c, t, scrolled, bottom - pager_h)


def draw(c: Canvas, view: ListView, t: Any) -> list[Button]:
    c.fill()
    c.header(view.list_title or t("browse_all"))
    c.text(t("list_hint", count=len(view.list)), 175, tokens.TYPE["caption"], colour=theme.MUTED)
    buttons = draw_list(c, view, t, 240, 1740)
    return buttons + footer(c, t, back=True)
