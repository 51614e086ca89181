"""The operators' screen mirror: the resident's screen as the console may show it.

The frame posted with every heartbeat is never the resident's own frame. It is drawn off-screen, by
the same pages, from :func:`kiosk.flow.views.mirror_view` of the view on screen: every field declared
personal is masked there (typed text, card values, receipt numbers), document-camera pages and query
answers are placeholders, and the on-screen keyboard is drawn with nothing typed. What the mirror
shows therefore does not depend on who stands at the terminal (tests/security/test_mirror_masked.py).
"""

from __future__ import annotations

import pygame

from kiosk.flow.views import View, mirror_view
from screens import keyboard
from screens.renderer import Renderer


class Mirror:
    """Draws masked frames on a surface of its own, the size of the screen."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.renderer = Renderer(pygame.Surface(size))

    def frame(self, view: View, *, keyboard_state: keyboard.KeyboardState | None = None,
              scroll: float = 0.0) -> pygame.Surface:
        """A new surface with the mirror of ``view`` (the resident's keyboard and list offset followed)."""
        self.renderer.keyboard = keyboard.masked(keyboard_state) if keyboard_state is not None else None
        self.renderer.render(mirror_view(view), scroll=scroll)
        return self.renderer.canvas.surface.copy()
