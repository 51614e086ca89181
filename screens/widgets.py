"""Drawing helpers and the touch targets screens return. Drawing never changes state."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pygame

from screens import icons, linebreak, theme, tokens


@dataclass(frozen=True)
class Button:
    """A touch target: where it is and which intent a touch on it means."""

    rect: pygame.Rect
    target: str
    label: str = ""
    """What the button says (as drawn); speech reads it in audio mode (screens/a11y.py)."""


# Line breaking (禁则, quoted names kept whole, Latin words never split) is screens/linebreak.py's.
NO_LINE_START = linebreak.NO_LINE_START


def wrap(text: str, fnt: pygame.font.Font, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (screens/linebreak.py)."""
    return linebreak.wrap(text, fnt, width)


class Canvas:
    """A surface plus the scale, so screens lay out in 1080-px design units."""

    def __init__(self, surface: pygame.Surface) -> None:
        self.surface = surface
        self.width, self.height = surface.get_size()
        self.scale = self.width / theme.BASE_WIDTH
        self.elder = False  # 适老化: larger text, never below ELDER_MIN_PX design px
        # The screen's own state the renderer hands the pages: the list's scroll offset (design px) and
        # the on-screen keyboard's state (screens/keyboard.py's KeyboardState; None while it is closed).
        self.scroll_px = 0.0
        self.keyboard: Any = None
        self.min_text_px = 10_000  # the smallest text drawn since reset_metrics (the accessibility test reads it)
        self.text_blocks: list[pygame.Rect] = []  # this frame's text blocks, device px (the layout test reads them)
        # This frame's texts with the box each had to stay in: (text, box) for wrapped texts (the box is
        # the width they were given) and for button labels (the button); device px, for the layout tests.
        self.text_boxes: list[tuple[pygame.Rect, pygame.Rect]] = []
        # The band this frame scrolls (screens/paging.py's Scrolled), set by the page that drew it.
        self.scrolled: Any = None
        # This frame's texts as drawn, in drawing order: (text, block in device px, the target of the
        # control it belongs to or ""). Audio mode reads them besides the buttons (screens/a11y.py), so
        # what is spoken is what is drawn.
        self.texts: list[tuple[str, pygame.Rect, str]] = []
        # The target under the finger (touch feedback): its button is drawn pressed ("" for none).
        self.pressed = ""
        # This terminal (set by the app from settings): the station's name and hours for the attract
        # screen, where each device sits on the cabinet (settings [cabinet]) for the device guidance.
        self.place = ""
        self.hours = ""
        self.cabinet: dict[str, str] = {}
        # Motion (screens/motion.py): the animation clock in ms; None draws still frames (reduced motion,
        # audio mode, the tests and the screenshots).
        self.anim_ms: int | None = None
        # This frame's type and icons, for the visual-language test (tests/screens/test_visual_language.py):
        # each text's design size as asked (before elder enlargement; None when the caller fitted it
        # itself), and each control's target with the icon it was given ("" for none).
        self.type_asked: list[tuple[int | None, str]] = []
        self.button_icons: dict[str, str] = {}
        # The palette this canvas draws with (settings [ui] contrast; screens/visual.py): each frame starts
        # by making screens/theme.py's colour names its roles (:meth:`fill`).
        self.palette: tokens.Palette = tokens.STANDARD

    def reset_metrics(self) -> None:
        self.min_text_px = 10_000

    def size(self, size: int) -> int:
        """The design size of text asked at ``size``, after elder mode's enlargement."""
        return max(int(size * tokens.ELDER_SCALE), theme.ELDER_MIN_PX) if self.elder else size

    def _note(self, design_size: int) -> None:
        self.min_text_px = min(self.min_text_px, design_size)

    def px(self, value: float) -> int:
        return round(value * self.scale)

    def fill(self, colour: tuple[int, ...] | None = None) -> None:
        """Start a frame in this canvas's palette: clear the surface (the page's background unless
        ``colour`` is given) and the text blocks noted for the last frame."""
        theme.use(self.palette)
        self.surface.fill(colour if colour is not None else theme.BACKGROUND)
        self.text_blocks.clear()
        self.text_boxes.clear()
        self.texts.clear()
        self.type_asked.clear()
        self.button_icons.clear()
        self.scrolled = None

    def text(self, text: str, y: float, size: int, *, colour: tuple[int, int, int] | None = None,
             bold: bool = False, x: float | None = None, width: float | None = None, asked: bool = False,
             part: str = "") -> int:
        """Draw wrapped text, centred unless ``x`` is given; returns the y below it (design units).
        ``colour``: the page's text colour unless given (a theme role, drawn in the active palette).
        ``asked``: ``size`` is final (already through :meth:`size`), not to be enlarged again.
        ``part``: the target of the control the text belongs to (a form field's label, value and
        problem: ``field:<key>``), so audio mode reads it with that control."""
        self.type_asked.append((None if asked else size, text))
        ink = theme.TEXT if colour is None else theme.ink(colour)
        size = size if asked else self.size(size)
        self._note(size)
        px = self.px(size)
        max_w = self.px(width if width is not None else theme.BASE_WIDTH - 120)
        top = self.px(y)
        box_left = self.px(x) if x is not None else (self.width - max_w) // 2
        block: pygame.Rect | None = None
        # A word wider than the box is drawn smaller rather than cut (linebreak.fit), down to the
        # mode's minimum.
        asked_px = px
        px, lines = _fitted(text, px, bold, max_w, self.px(theme.ELDER_MIN_PX if self.elder else 20))
        if px < asked_px:
            self._note(round(px / self.scale))
        fnt = theme.font(px, bold)
        for line in lines:
            img = _line(line, px, bold, ink)
            left = self.px(x) if x is not None else (self.width - img.get_width()) // 2
            self.surface.blit(img, (left, top))
            drawn = pygame.Rect(left, top, img.get_width(), img.get_height())
            block = drawn if block is None else block.union(drawn)
            top += int(fnt.get_linesize() * 1.15)
        if block is not None:
            self.texts.append((text, block, part))
            self.text_blocks.append(block)
            self.text_boxes.append((block, pygame.Rect(box_left, block.top, max_w, block.height)))
        return round(top / self.scale)

    def text_height(self, text: str, y_size: int, *, width: float | None = None, bold: bool = False) -> float:
        """How tall :meth:`text` would draw ``text`` at ``y_size`` (before elder enlargement), design px."""
        max_w = self.px(width if width is not None else theme.BASE_WIDTH - 120)
        px, lines = _fitted(text, self.px(self.size(y_size)), bold, max_w,
                            self.px(theme.ELDER_MIN_PX if self.elder else 20))  # as text() draws it
        return len(lines) * int(theme.font(px, bold).get_linesize() * 1.15) / self.scale

    def header(self, title: str) -> None:
        """The title bar: one line, its text made smaller only if it would not fit (a long English
        title in elder mode), so it never spills white text onto the white page below."""
        pygame.draw.rect(self.surface, theme.HEADER, (0, 0, self.width, self.px(160)))
        asked = tokens.TYPE["heading"]
        self.type_asked.append((asked, title))
        size = self.size(asked)
        floor = theme.ELDER_MIN_PX if self.elder else 30
        while size > floor and theme.font(self.px(size), True).size(title)[0] > self.px(theme.BASE_WIDTH - 120):
            size -= 2
        top = 45 + (self.size(asked) - size) // 2
        self.text(title, top, size, colour=theme.HEADER_TEXT, bold=True, asked=True)

    def button(self, label: str, target: str, rect: tuple[float, float, float, float], *,
               primary: bool = True, size: int = tokens.TYPE["body"], icon: str | None = None) -> Button:
        """A touch target with its label; ``icon`` (screens/icons.py's name) is drawn beside the label
        (left of it in a wide button, above it in a squarish tile), never instead of it."""
        x, y, w, h = (self.px(v) for v in rect)
        area = pygame.Rect(x, y, w, h)
        self.type_asked.append((size, label))
        self.button_icons[target] = icon or ""
        pressed = target == self.pressed and bool(target)
        fill = theme.PRESSED if pressed else theme.PRIMARY if primary else theme.SECONDARY
        ink = theme.PRESSED_TEXT if pressed else theme.PRIMARY_TEXT if primary else theme.SECONDARY_TEXT
        radius = self.px(tokens.RADIUS["m"])
        pygame.draw.rect(self.surface, fill, area, border_radius=radius)
        if not primary and not pressed:  # the light fill alone is not a visible boundary (WCAG 1.4.11): a dark edge
            pygame.draw.rect(self.surface, theme.SECONDARY_EDGE, area, width=max(2, self.px(3)),
                             border_radius=radius)
        label_area = area
        if icon:
            icon_ink = ink if primary or pressed else theme.ICON
            pad = self.px(tokens.SPACE["m"])
            if w < h * 2.2:  # a squarish tile: the icon above the label, the two centred together
                lines_n, line_h = self._label_lines(label, size, w)
                text_h = lines_n * line_h
                side = min(self.px(tokens.ICON["tile"]), int(h * 0.45), h - text_h - pad - self.px(8))
                if side >= self.px(32):  # too little room for an icon: the label alone
                    top = y + (h - side - self.px(8) - text_h) // 2
                    icons.draw(self.surface, icon, (area.centerx, top + side // 2), side, icon_ink)
                    label_area = pygame.Rect(x, top + side + self.px(8), w, text_h)
            else:  # a wide button: the icon at the left, the label centred in the rest (if it still fits)
                side = min(self.px(tokens.ICON["inline"]), int(h * 0.6))
                lines_n, line_h = self._label_lines(label, size, w - side - pad)
                if lines_n * line_h <= h - self.px(8):
                    icons.draw(self.surface, icon, (x + pad + side // 2, area.centery), side, icon_ink)
                    label_area = pygame.Rect(x + side + pad, y, w - side - pad, h)
        # Shrink the label until every line fits: a long word must never spill out of its button
        # (in elder mode never below the elder minimum: the label wraps onto more lines instead).
        size = self.size(size)
        floor = theme.ELDER_MIN_PX - 1 if self.elder else int(size * 0.6)
        step = size
        step, lines = _fit(label, size, floor, label_area.width, self.px(20), self.px(12), self.scale)
        fnt = theme.font(self.px(step), True)
        self._note(step)
        line_h = fnt.get_linesize()
        top = label_area.centery - line_h * len(lines) // 2
        label_block: pygame.Rect | None = None
        for line in lines:
            img = _line(line, self.px(step), True, ink)
            drawn = pygame.Rect(label_area.centerx - img.get_width() // 2, top, img.get_width(), img.get_height())
            self.surface.blit(img, drawn.topleft)
            label_block = drawn if label_block is None else label_block.union(drawn)
            top += line_h
        if label_block is not None:
            self.text_boxes.append((label_block, area))
        return Button(area, target, label)

    def _label_lines(self, label: str, size: int, w: int) -> tuple[int, int]:
        """How many lines :meth:`button` breaks ``label`` into in ``w`` device px, and their line height."""
        size = self.size(size)
        floor = theme.ELDER_MIN_PX - 1 if self.elder else int(size * 0.6)
        step, lines = _fit(label, size, floor, w, self.px(20), self.px(12), self.scale)
        return len(lines), theme.font(self.px(step), True).get_linesize()

    def one_line(self, text: str, size: int, width: float, *, bold: bool = False) -> str:
        """The end of ``text`` that fits one line of ``width`` design px at ``size`` (an input box shows
        the last part of what was typed, as a text field does)."""
        fnt = theme.font(self.px(self.size(size)), bold)
        limit = self.px(width)
        if fnt.size(text)[0] <= limit:
            return text
        while text and fnt.size("…" + text)[0] > limit:
            text = text[1:]
        return "…" + text

    def label_fits(self, label: str, size: int, width: float, height: float) -> bool:
        """Whether :meth:`button` can draw ``label`` whole in a button of this design size."""
        size = self.size(size)
        floor = theme.ELDER_MIN_PX - 1 if self.elder else int(size * 0.6)
        w = self.px(width)
        step, lines = _fit(label, size, floor, w, self.px(20), self.px(12), self.scale)
        fnt = theme.font(self.px(step), True)
        return max(fnt.size(x)[0] for x in lines) <= w and fnt.get_linesize() * len(lines) <= self.px(height) - 4

    def panel(self, rect: tuple[float, float, float, float]) -> None:
        """A card grouping texts (not a control). In high contrast its near-black fill is edged, so the
        group still shows on the black page."""
        x, y, w, h = (self.px(v) for v in rect)
        radius = self.px(tokens.RADIUS["l"])
        pygame.draw.rect(self.surface, theme.CARD, (x, y, w, h), border_radius=radius)
        if theme.high_contrast():
            pygame.draw.rect(self.surface, theme.CARD_EDGE, (x, y, w, h), width=max(1, self.px(2)),
                             border_radius=radius)


# Rendered text is cached: a frame while a finger scrolls redraws the same header, hints and button
# labels, and rasterising CJK glyphs is most of a frame's cost (P2). Keys are plain values, so a
# cached line can never show a different text; personal values on screen are masked anyway.

@lru_cache(maxsize=2048)
def _line(text: str, px: int, bold: bool, colour: tuple[int, ...]) -> pygame.Surface:
    return theme.font(px, bold).render(text, True, colour)


@lru_cache(maxsize=1024)
def _fitted(text: str, px: int, bold: bool, width: int, floor: int) -> tuple[int, tuple[str, ...]]:
    step, lines = linebreak.fit(text, px, min(px, floor), width, lambda size: theme.font(size, bold))
    return step, tuple(lines)


@lru_cache(maxsize=1024)
def _fit(label: str, size: int, floor: int, w: int, pad: int, slack: int, scale: float) -> tuple[int, tuple[str, ...]]:
    """The largest label size (design px, down to ``floor``) whose wrapped lines fit ``w`` device px."""
    step, lines = size, (label,)
    for step in range(size, floor, -2):
        fnt = theme.font(round(step * scale), True)
        lines = tuple(wrap(label, fnt, w - pad))
        if max(fnt.size(line)[0] for line in lines) <= w - slack:
            break
    return step, lines


def clear_text_cache() -> None:
    """Forget every rendered text (called when a session ends, so no text outlives it in memory)."""
    _line.cache_clear()
    _fitted.cache_clear()
    _fit.cache_clear()
