"""The only module that touches ``pygame.display``."""

from __future__ import annotations

import logging
import os

import pygame

log = logging.getLogger(__name__)


def has_display() -> bool:
    """True when a window can be shown (X11 or Wayland) and nobody asked for the dummy driver."""
    if os.environ.get("SDL_VIDEODRIVER") == "dummy":
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class Display:
    """Opens the window (or a headless surface) and presents frames."""

    def __init__(self, width: int, height: int, *, fullscreen: bool = False, headless: bool | None = None) -> None:
        self.headless = (not has_display()) if headless is None else headless
        if self.headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        pygame.display.init()
        pygame.font.init()
        flags = pygame.FULLSCREEN if fullscreen and not self.headless else 0
        if not self.headless and not fullscreen:
            # A portrait 1080×1920 window does not fit a laptop screen: show it scaled.
            flags |= pygame.SCALED
        self.surface = pygame.display.set_mode((width, height), flags)
        pygame.display.set_caption("政务服务自助终端")
        if not fullscreen and not self.headless:
            pygame.mouse.set_visible(True)

    def present(self) -> None:
        pygame.display.flip()

    def save(self, path: str) -> None:
        pygame.image.save(self.surface, path)

    def close(self) -> None:
        pygame.display.quit()
