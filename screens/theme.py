"""Colours, sizes and fonts. Sizes are given for a 1080-px-wide portrait screen and scaled.

Contrast (WCAG 2.2, TARGETS.md A1), checked on rendered pixels by tests/screens/test_contrast.py:
every text colour is ≥ 7:1 against what it is drawn on (the elder-mode figure, so one palette serves
both modes), and every control's boundary ≥ 3:1 against the page (1.4.11): the light secondary
buttons carry a dark edge, since their fill alone is 1.15:1 against the background.

The colour names below are the roles of the palette the frame is drawn with (screens/tokens.py): the
standard one, or high contrast on a terminal set to ``[ui] contrast = "high"``. :func:`use` rebinds them
(the canvas calls it as each frame starts), so read them when drawing (``theme.TEXT``), never into a
default argument or a constant at import time.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import pygame

from kiosk.fonts import cjk_font_path
from screens import tokens

RGB = tuple[int, int, int]

# The colour roles are screens/tokens.py's (one palette for standard and elder mode); these names are
# what the screens draw with. The figures are the standard palette's.
_P = tokens.STANDARD
BACKGROUND = _P.background
HEADER = _P.header             # government blue
HEADER_TEXT = _P.header_text
TEXT = _P.text
MUTED = _P.muted               # 9.1:1 on BACKGROUND, 8:1 on SECONDARY
PRIMARY = _P.primary           # white on it 7.7:1; it against the page 7.2:1
PRIMARY_TEXT = _P.primary_text
SECONDARY = _P.secondary
SECONDARY_TEXT = _P.secondary_text
SECONDARY_EDGE = _P.secondary_edge  # the secondary button's boundary: 5.3:1 against the page
DANGER = _P.danger             # 7.8:1 on the page
CARD = _P.card
CARD_EDGE = _P.card_edge       # a white card that is a control (a list row): 4.2:1 against the page
ICON = _P.icon
PRESSED = _P.pressed           # a control under the finger
PRESSED_TEXT = _P.pressed_text
ON_STATUS = _P.on_status       # a sign drawn on a status colour (a message's tick)
OVERLAY = (0, 0, 0, 150)

BASE_WIDTH = 1080
ELDER_MIN_PX = tokens.ELDER_MIN_PX  # A1: text ≥ 30 px at 1080 width in elder mode
SUCCESS = _P.success           # 7.6:1 on the page
WARNING = _P.warning


def _message_colours(p: tokens.Palette) -> dict[str, tuple[RGB, RGB]]:
    """screens/messages.py: each kind's panel fill (text on it ≥ 7:1) and edge / sign colour (≥ 3:1)."""
    return {"success": (p.success_fill, p.success), "info": (p.info_fill, p.header),
            "warning": (p.warning_fill, p.warning), "error": (p.error_fill, p.danger)}


MESSAGE_COLOURS: dict[str, tuple[RGB, RGB]] = _message_colours(_P)

_active = tokens.STANDARD
# Ink given in a standard role's colour, by role: a colour taken before the palette changed (a default
# argument, a dataclass field) is drawn in the active palette's same role (see :func:`ink`).
_INK_ROLES = ("text", "muted", "header", "header_text", "primary", "primary_text", "secondary_text",
              "danger", "success", "warning", "icon", "pressed_text", "on_status")
_INKS: dict[RGB, str] = {}
_own: set[RGB] = set()  # the active palette's colours
for _role in reversed(_INK_ROLES):  # the first role listed wins where two share a colour
    _INKS[getattr(tokens.STANDARD, _role)] = _role


def use(palette: tokens.Palette) -> None:
    """Draw with ``palette`` from now on: every colour name of this module takes its role's colour."""
    global _active, BACKGROUND, HEADER, HEADER_TEXT, TEXT, MUTED, PRIMARY, PRIMARY_TEXT, SECONDARY
    global SECONDARY_TEXT, SECONDARY_EDGE, DANGER, CARD, CARD_EDGE, ICON, PRESSED, PRESSED_TEXT, ON_STATUS
    global SUCCESS, WARNING, MESSAGE_COLOURS
    if palette is _active:
        return
    _active = p = palette
    BACKGROUND, HEADER, HEADER_TEXT, TEXT, MUTED = p.background, p.header, p.header_text, p.text, p.muted
    PRIMARY, PRIMARY_TEXT, SECONDARY, SECONDARY_TEXT = p.primary, p.primary_text, p.secondary, p.secondary_text
    SECONDARY_EDGE, DANGER, CARD, CARD_EDGE, ICON = p.secondary_edge, p.danger, p.card, p.card_edge, p.icon
    PRESSED, PRESSED_TEXT, ON_STATUS, SUCCESS, WARNING = p.pressed, p.pressed_text, p.on_status, p.success, p.warning
    MESSAGE_COLOURS = _message_colours(p)
    _own.clear()
    _own.update(_colours(p))


def _colours(p: tokens.Palette) -> set[RGB]:
    return {getattr(p, role) for role in tokens.Palette.__dataclass_fields__}


def active() -> tokens.Palette:
    """The palette the colour names stand for now."""
    return _active


def high_contrast() -> bool:
    return _active is tokens.HIGH_CONTRAST


def ink(colour: tuple[int, ...]) -> tuple[int, ...]:
    """A text colour as the active palette draws it: a standard role's colour becomes that role's colour
    in the active palette (a colour bound before a switch, e.g. a default ``colour=theme.TEXT``); any
    other colour is kept, and so is one of the active palette's own (high contrast's white text is also the
    standard header's white text)."""
    if _active is tokens.STANDARD or colour[:3] in _own:
        return colour
    role = _INKS.get(colour[:3])  # type: ignore[arg-type]
    return getattr(_active, role) if role else colour


# Faces. Opening the OTF is the slow part (≈ 5–15 ms) and each open face holds ≈ 1 MB (FreeType's parsed
# CFF tables, HarfBuzz's shaper) plus its glyph cache (≈ 0.8 MB once a few hundred 汉字 were drawn at
# a large size): one face per (size, weight), as before, kept ≈ 19 MB open after a day of residents (P9).
# A face is re-sized in place instead (SDL_ttf's TTF_SetFontSize: the same metrics and pixels as a face
# opened at that size, ≈ 0.2 ms, and its glyph cache starts over), so a few faces per weight serve
# every size: :func:`font` hands out a :class:`Face`, a (size, weight) that takes the pool's face
# already at its size, else re-sizes the least recently used one. The screens ask for ≈ 12 sizes (the
# type scale, ×1.2 in elder mode) and a screen for ≈ 3–4 of a weight; the rendered-text caches
# (screens/widgets.py) keep most frames from asking at all. The pool is filled by the first screens
# and kept at their need (:func:`pin_fonts`); faces a session opened beyond that close when it ends
# (:func:`forget_fonts`), so the next resident's first screens open none.
FACES_PER_WEIGHT = 3
_POOL: dict[bool, list[pygame.font.Font]] = {False: [], True: []}  # most recently used first
_PINNED: dict[bool, int] = {False: 0, True: 0}
_STATS = {"opened": 0, "resized": 0}
_FACE_LOCK = threading.Lock()  # a face is re-sized then used: one caller at a time


def _sized(size: int, bold: bool) -> pygame.font.Font:
    """A pooled face at ``size`` px; the caller holds :data:`_FACE_LOCK`."""
    pool = _POOL[bold]
    for i, face in enumerate(pool):
        if face.point_size == size:
            if i:
                pool.insert(0, pool.pop(i))
            return face
    if len(pool) < FACES_PER_WEIGHT:
        face = pygame.font.Font(str(cjk_font_path(bold)), size)
        _STATS["opened"] += 1
    else:
        face = pool.pop()
        face.point_size = size
        _STATS["resized"] += 1
    pool.insert(0, face)
    return face


class Face:
    """The bundled Noto Sans SC at one size and weight: what the screens measure and draw text with
    (the few methods of ``pygame.font.Font`` they use), served by the pool's faces. Widths are kept
    (:func:`_measure`) and a size's line metrics too, so the frames that only measure take no face."""

    __slots__ = ("_metrics", "bold", "px")

    def __init__(self, px: int, bold: bool) -> None:
        self.px, self.bold = max(px, 1), bold  # SDL_ttf opens size 0 as 1
        self._metrics: tuple[int, int, int, int] | None = None

    def size(self, text: str, /) -> tuple[int, int]:
        return _measure(text, self.px, self.bold)

    def render(self, text: str, antialias: bool, color: Any, bgcolor: Any = None) -> pygame.Surface:
        with _FACE_LOCK:
            return _sized(self.px, self.bold).render(text, antialias, color, bgcolor)

    def _metric(self, i: int) -> int:
        if self._metrics is None:
            with _FACE_LOCK:
                f = _sized(self.px, self.bold)
                self._metrics = (f.get_linesize(), f.get_height(), f.get_ascent(), f.get_descent())
        return self._metrics[i]

    def get_linesize(self) -> int:
        return self._metric(0)

    def get_height(self) -> int:
        return self._metric(1)

    def get_ascent(self) -> int:
        return self._metric(2)

    def get_descent(self) -> int:
        return self._metric(3)


@functools.lru_cache(maxsize=4096)
def _measure(text: str, px: int, bold: bool) -> tuple[int, int]:
    """A text's (width, height) at ``px``: the screens measure the same labels every frame while they fit
    them (a title shrunk step by step, the keyboard's candidates); cleared with :func:`forget_fonts`."""
    with _FACE_LOCK:
        return _sized(px, bold).size(text)


@functools.lru_cache(maxsize=128)
def font(size: int, bold: bool = False) -> Face:
    """The bundled Noto Sans SC at ``size`` px (a handle: faces are pooled, see above)."""
    return Face(size, bold)


def count_fonts() -> None:
    """Before the attract screen is first drawn: nothing pinned until :func:`pin_fonts`."""
    with _FACE_LOCK:
        _PINNED.update({False: 0, True: 0})


def pin_fonts() -> None:
    """Keep as many faces open for good as the attract and home screens have used (≤ the pool's size)."""
    with _FACE_LOCK:
        _PINNED.update({bold: len(pool) for bold, pool in _POOL.items()})


def pinned_fonts() -> int:
    """How many faces stay open when a session ends."""
    return sum(_PINNED.values())


def forget_fonts() -> int:
    """Close the faces a session opened beyond the pinned ones (the least recently used) and forget the
    widths measured (they may be of what the resident typed); the number of faces closed."""
    _measure.cache_clear()
    with _FACE_LOCK:
        return sum(_close(bold, _PINNED[bold]) for bold in _POOL)


def _close(bold: bool, keep: int) -> int:
    pool = _POOL[bold]
    dropped = len(pool) - keep
    del pool[keep:]
    return max(dropped, 0)


def open_fonts() -> int:
    """How many faces are open (the memory test and the bench read it)."""
    return sum(len(pool) for pool in _POOL.values())


def font_stats() -> dict[str, int]:
    """Faces opened and re-sized since start (the bench reports them)."""
    return dict(_STATS)
