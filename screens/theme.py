"""Colours, sizes and fonts. Sizes are given for a 1080-px-wide portrait screen and scaled.

Contrast (WCAG 2.2, TARGETS.md A1), checked on rendered pixels by tests/screens/test_contrast.py:
every text colour is ≥ 7:1 against what it is drawn on (the elder-mode figure, so one palette serves
both modes), and every control's boundary ≥ 3:1 against the page (1.4.11): the light secondary
buttons carry a dark edge, since their fill alone is 1.15:1 against the background.
"""

from __future__ import annotations

from functools import lru_cache

import pygame

from kiosk.fonts import cjk_font_path

BACKGROUND = (244, 247, 251)
HEADER = (0, 82, 155)          # government blue
HEADER_TEXT = (255, 255, 255)
TEXT = (20, 28, 40)
MUTED = (60, 68, 82)           # 9.1:1 on BACKGROUND, 8:1 on SECONDARY
PRIMARY = (0, 82, 160)         # white on it 7.7:1; it against the page 7.2:1
PRIMARY_TEXT = (255, 255, 255)
SECONDARY = (226, 232, 240)
SECONDARY_TEXT = (20, 28, 40)
SECONDARY_EDGE = (90, 104, 124)  # the secondary button's boundary: 5.3:1 against the page
DANGER = (160, 0, 30)          # 7.8:1 on the page
CARD = (255, 255, 255)
CARD_EDGE = (110, 120, 136)    # a white card that is a control (a list row): 4.2:1 against the page
OVERLAY = (0, 0, 0, 150)

BASE_WIDTH = 1080
ELDER_MIN_PX = 32  # A1: text ≥ 30 px at 1080 width in elder mode
SUCCESS = (0, 96, 48)          # 7.6:1 on the page
WARNING = (138, 80, 0)

# screens/messages.py: each kind's panel fill (dark text on it ≥ 14:1) and edge / icon colour (≥ 3:1).
MESSAGE_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "success": ((232, 245, 236), SUCCESS),
    "info": ((229, 238, 251), HEADER),
    "warning": ((255, 243, 214), WARNING),
    "error": ((253, 233, 234), DANGER),
}


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    """The bundled Noto Sans SC at ``size`` px (cached: opening the OTF is the slow part)."""
    return pygame.font.Font(str(cjk_font_path(bold)), size)
