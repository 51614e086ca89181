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


# Open faces, by (size, bold). Opening the OTF is the slow part (≈ 5–15 ms) and each face holds ≈ 1 MB
# (FreeType's parsed CFF tables and HarfBuzz's shaper): a day of residents in every mode and language
# opens ≈ 28 of them. The faces the attract and home screens use are pinned (:func:`pin_fonts`); the rest
# are dropped with the session's texts (:func:`forget_fonts`), so the next resident's first screens
# open nothing and the app's memory after a day stays near its memory after one session (P9).
_FONTS: dict[tuple[int, bool], pygame.font.Font] = {}
_PINNED: set[tuple[int, bool]] = set()
_USED: set[tuple[int, bool]] = set()
FONTS_MAX = 32


def font(size: int, bold: bool = False) -> pygame.font.Font:
    """The bundled Noto Sans SC at ``size`` px (kept open: opening the OTF is the slow part)."""
    key = (size, bold)
    _USED.add(key)
    face = _FONTS.get(key)
    if face is None:
        if len(_FONTS) >= FONTS_MAX:
            forget_fonts()
        face = _FONTS[key] = pygame.font.Font(str(cjk_font_path(bold)), size)
    return face


def count_fonts() -> None:
    """Start noting which faces are used (before the attract screen is drawn), for :func:`pin_fonts`."""
    _USED.clear()


def pin_fonts() -> None:
    """Keep the faces used since :func:`count_fonts` (the attract and home screens') open for good."""
    _PINNED.clear()
    _PINNED.update(_USED)


def pinned_fonts() -> int:
    """How many faces stay open when a session ends."""
    return len(_PINNED)


def forget_fonts() -> int:
    """Close every face that is not pinned; the number closed."""
    dropped = [key for key in _FONTS if key not in _PINNED]
    for key in dropped:
        del _FONTS[key]
    return len(dropped)


def open_fonts() -> int:
    """How many faces are open (the memory test and the bench read it)."""
    return len(_FONTS)
