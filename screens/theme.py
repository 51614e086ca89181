"""Colours, sizes and fonts. Sizes are given for a 1080-px-wide portrait screen and scaled."""

from __future__ import annotations

from functools import lru_cache

import pygame

from kiosk.fonts import cjk_font_path

BACKGROUND = (244, 247, 251)
HEADER = (0, 82, 155)          # government blue
HEADER_TEXT = (255, 255, 255)
TEXT = (20, 28, 40)
MUTED = (70, 80, 95)           # ≥ 4.5:1 on BACKGROUND
PRIMARY = (0, 95, 184)
PRIMARY_TEXT = (255, 255, 255)
SECONDARY = (226, 232, 240)
SECONDARY_TEXT = (20, 28, 40)
DANGER = (176, 0, 32)
CARD = (255, 255, 255)
OVERLAY = (0, 0, 0, 150)

BASE_WIDTH = 1080
ELDER_MIN_PX = 32  # A1: text ≥ 30 px at 1080 width in elder mode
SUCCESS = (0, 110, 60)


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    """The bundled Noto Sans SC at ``size`` px (cached: opening the OTF is the slow part)."""
    return pygame.font.Font(str(cjk_font_path(bold)), size)
