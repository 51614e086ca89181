"""QR codes drawn on screen, e.g. the electronic copy offered when the receipt could not be printed."""

from __future__ import annotations

from functools import lru_cache

import pygame


@lru_cache(maxsize=8)
def qr_surface(text: str, size: int) -> pygame.Surface:
    """A ``size``×``size`` surface with ``text`` as a QR code (model 2, never Micro QR), quiet zone included."""
    import segno  # lazy: it costs ~70 ms of the cold start (P1), and QR codes are drawn only later

    code = segno.make_qr(text, error="m")
    rows = list(code.matrix_iter(scale=1, border=4))
    modules = len(rows)
    small = pygame.Surface((modules, modules))
    small.fill((255, 255, 255))
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                small.set_at((x, y), (0, 0, 0))
    return pygame.transform.scale(small, (size, size))
