"""One paging component for every list that grows: departments, themes and 一件事 bundles, items, form
fields, materials, appointment slots.

A page lays its entries out in a column (a grid is a column of rows) inside a band of the screen with
:class:`Band`; the band scrolls by the renderer's scroll offset (``Canvas.scroll_px``, the screen's own
state, not the journey's), so a finger drags and flings it, and :func:`pager` draws the visible
上一页 / 下一页 controls with the position ("3 / 5"). Pages break between entries: a turn brings the
first entry that was not wholly shown to the top. Only entries wholly inside the band are touch
targets; one cut by the band's edge is drawn (so the resident sees there is more) but not touchable.

The band of the frame drawn last is left on the canvas (``Canvas.scrolled``); the renderer reads it
for the drag's limits and for turning pages (``page:prev`` / ``page:next``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache

import pygame

from screens import theme, tokens
from screens.widgets import Button, Canvas

PREV, NEXT = "page:prev", "page:next"
EPS = 1.0  # design px: a scroll this close to a page's start is on that page


def pager_height(elder: bool) -> int:
    """The height of the 上一页 / 下一页 row (design px): ≥ 60 dp targets, larger in elder mode."""
    return 110 if elder else 96


@dataclass(frozen=True)
class Scrolled:
    """A scrolling band: where it is on screen, how tall its content is, where its entries start."""

    top: float
    bottom: float
    content: float
    stops: tuple[float, ...]
    """Each entry's top in content coordinates (ascending)."""
    ends: tuple[float, ...]
    """Each entry's bottom in content coordinates."""

    @property
    def band(self) -> float:
        return self.bottom - self.top

    @cached_property
    def _starts(self) -> tuple[float, ...]:
        starts, i = [0.0], 0
        while starts[-1] + self.band < self.content - EPS:
            start = starts[-1]
            while i < len(self.ends) and self.ends[i] <= start + self.band + EPS:
                i += 1  # entries end in order: the scan goes on where the last page's stopped
            cut = self.stops[i] if i < len(self.stops) else None
            starts.append(cut if cut is not None and cut > start + EPS else start + self.band)
        return tuple(starts)

    @property
    def limit(self) -> float:
        """The largest scroll offset: the last page's start (0 when everything fits). The last page
        begins with an entry, like the others, with room to spare below it."""
        return self._starts[-1]

    def starts(self) -> list[float]:
        """Each page's scroll offset: a page begins with the first entry the one before cut off."""
        return list(self._starts)

    def pages(self) -> int:
        return len(self.starts())

    def page_of(self, scroll: float) -> int:
        """The page (1-based) shown at ``scroll``: the last whose start is at or above it."""
        starts = self.starts()
        if scroll >= self.limit - EPS:
            return len(starts)
        return sum(1 for s in starts if s <= scroll + EPS)

    def turn(self, scroll: float, delta: int) -> float:
        """The scroll offset one page on (``delta`` = 1) or back (-1) from ``scroll``."""
        starts = self.starts()
        if delta > 0:
            return next((s for s in starts if s > scroll + EPS), min(scroll, self.limit))
        return next((s for s in reversed(starts) if s < scroll - EPS), 0.0)


@lru_cache(maxsize=64)
def _scrolled(top: float, bottom: float, heights: tuple[float, ...], gap: float) -> Scrolled:
    """The band's layout (kept: a finger's drag redraws the same list every frame)."""
    offsets, y = [], 0.0
    for h in heights:
        offsets.append(y)
        y += h + gap
    content = max(0.0, y - gap) if heights else 0.0
    return Scrolled(top, bottom, content, tuple(offsets), tuple(o + h for o, h in zip(offsets, heights, strict=True)))


class Band:
    """Entries of the given heights stacked in ``[top, bottom)`` with ``gap`` between, scrolled by the
    canvas's offset. Iterate :meth:`visible` to draw them; the band is noted on the canvas."""

    def __init__(self, c: Canvas, top: float, bottom: float, heights: Sequence[float], gap: float = 20) -> None:
        self.c, self.top, self.bottom = c, top, bottom
        self.scrolled = _scrolled(top, bottom, tuple(heights), gap)
        self.offsets, self.heights = self.scrolled.stops, list(heights)
        self.scroll = min(max(0.0, c.scroll_px), self.scrolled.limit)
        c.scrolled = self.scrolled

    def visible(self) -> Iterator[tuple[int, float, bool]]:
        """(index, design y on screen, wholly inside the band) for each entry that shows at all."""
        for i, (off, h) in enumerate(zip(self.offsets, self.heights, strict=True)):
            y = self.top + off - self.scroll
            if y + h <= self.top or y >= self.bottom:
                continue
            yield i, y, y >= self.top - EPS and y + h <= self.bottom + EPS

    def draw(self, entry: Callable[[int, float], list[Button]]) -> list[Button]:
        """Draw every visible entry with ``entry(index, y)``; a cut entry is drawn clipped to the band
        and gives no targets (nor texts for the layout check: a resident reads it on the next page)."""
        buttons: list[Button] = []
        for i, y, whole in self.visible():
            if whole:
                buttons += entry(i, y)
            else:
                with self.clipped():
                    entry(i, y)
        return buttons

    @contextmanager
    def clipped(self) -> Iterator[None]:
        c = self.c
        blocks, boxes, texts = len(c.text_blocks), len(c.text_boxes), len(c.texts)
        c.surface.set_clip(pygame.Rect(0, c.px(self.top), c.width, c.px(self.bottom) - c.px(self.top)))
        try:
            yield
        finally:
            c.surface.set_clip(None)
            del c.text_blocks[blocks:], c.text_boxes[boxes:], c.texts[texts:]


def pager(c: Canvas, t: Callable[..., str], scrolled: Scrolled | None, y: float) -> list[Button]:
    """上一页, the position ("3 / 5") and 下一页 in a row at design ``y``; nothing when all fits."""
    if scrolled is None or scrolled.pages() <= 1:
        return []
    scroll = min(max(0.0, c.scroll_px), scrolled.limit)
    page, pages = scrolled.page_of(scroll), scrolled.pages()
    h = pager_height(c.elder)
    size, position = tokens.TYPE["label"], tokens.TYPE["body"]
    buttons: list[Button] = []
    for label, target, x, enabled in ((t("page_prev"), PREV, 60, page > 1),
                                      (t("page_next"), NEXT, 700, page < pages)):
        if enabled:
            buttons.append(c.button(label, target, (x, y, 320, h), primary=False, size=size))
        else:  # the end of the list: shown, so the row does not jump, but not a target
            x0, y0, w0, h0 = (c.px(v) for v in (x, y, 320, h))
            radius = c.px(tokens.RADIUS["m"])
            pygame.draw.rect(c.surface, theme.BACKGROUND, (x0, y0, w0, h0), border_radius=radius)
            pygame.draw.rect(c.surface, theme.MUTED, (x0, y0, w0, h0), width=max(1, c.px(2)), border_radius=radius)
            c.text(label, y + (h - c.text_height(label, size, width=300)) / 2, size, colour=theme.MUTED,
                   x=x + 10 + (300 - _width(c, label, size)) / 2, width=300)
    label = f"{page} / {pages}"
    c.text(label, y + (h - c.text_height(label, position, width=260, bold=True)) / 2, position, bold=True,
           x=390 + (300 - _width(c, label, position, bold=True)) / 2, width=300)
    return buttons


def _width(c: Canvas, text: str, size: int, *, bold: bool = False) -> float:
    """Design width of one line of ``text`` (for centring inside a box)."""
    return min(300.0, theme.font(c.px(c.size(size)), bold).size(text)[0] / c.scale)
