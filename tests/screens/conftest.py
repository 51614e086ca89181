"""Shared by the screen tests: one off-screen 1080 × 1920 surface per module to draw on."""

from __future__ import annotations

from collections.abc import Iterator

import pygame
import pytest


@pytest.fixture(scope="module")
def surface() -> Iterator[pygame.Surface]:
    pygame.display.init()
    pygame.font.init()
    yield pygame.Surface((1080, 1920))
    pygame.display.quit()
