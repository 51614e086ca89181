"""Colours, sizes and fonts. Sizes are given for a 1080-px-wide portrait screen and scaled.

Contrast (WCAG 2.2, TARGETS.md A1), checked on rendered pixels by tests/screens/test_contrast.py:
every text colour is ≥ 7:1 against what it is drawn on (the elder-mode figure, so one palette serves
both modes), and every control's boundary ≥ 3:1 against the page (1.4.11): the light secondary
buttons carry a dark edge, since their fill alone is 1.15:1 against the background.
"""

from __future__ import annotations

import pygame

from kiosk.fonts import cjk_font_path
from screens import tokens

# The colour roles are screens/tokens.py's (one palette for standard and elder mode); these names are
# what the screens draw with.
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
OVERLAY = (0, 0, 0, 150)

BASE_WIDTH = 1080
ELDER_MIN_PX = tokens.ELDER_MIN_PX  # A1: text ≥ 30 px at 1080 width in elder mode
SUCCESS = _P.success           # 7.6:1 on the page
WARNING = _P.warning

# screens/messages.py: each kind's panel fill (dark text on it ≥ 14:1) and edge / icon colour (≥ 3:1).
MESSAGE_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "success": ((232, 245, 236), SUCCESS),
    "info": ((229, 238, 251), HEADER),
    "warning": ((255, 243, 214), WARNING),
    "error": ((253, 233, 234), DANGER),
}


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
