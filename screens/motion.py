"""Motion (issue 24): touch feedback, screen transitions and the waiting and guidance animations, all
timed by screens/tokens.py's MOTION and all off with settings ``[ui] reduced_motion`` and in audio mode.

Nothing here waits: a transition only changes how the first frames of a new screen look (the new
screen's buttons take touches from its first frame on), and an animation frame is drawn only when the
app's loop has time between events.
"""

from __future__ import annotations

import math

import pygame

from screens import tokens

ANIMATED = ("card_prompt", "scan", "working", "printing")
"""The screens that loop an animation (device guidance, the waiting dots) while motion is on."""
FRAME_MS = 66
"""How often an animated screen is redrawn (≈ 15 fps: smooth enough for a slow loop, light on the CPU)."""


def wave(anim_ms: int | None) -> tuple[float, float, float]:
    """How high each of the three waiting dots is lifted (0–1); all still without motion."""
    if anim_ms is None:
        return (0.0, 0.0, 0.0)
    p = (anim_ms % tokens.MOTION["progress"]) / tokens.MOTION["progress"]
    return tuple(max(0.0, math.sin((p - i * 0.15) * 2 * math.pi)) for i in range(3))  # type: ignore[return-value]


class Transition:
    """A new screen fades in from the last frame of the one before, over ``MOTION["transition"]`` ms."""

    def __init__(self) -> None:
        self._from: pygame.Surface | None = None
        self._started = 0.0

    def start(self, previous: pygame.Surface, now: float) -> None:
        self._from = previous
        self._started = now

    @property
    def running(self) -> bool:
        return self._from is not None

    def cover(self, surface: pygame.Surface, now: float) -> bool:
        """Lay the old frame over the new one, fading; False (and forgotten) once the time is up."""
        if self._from is None:
            return False
        left = 1.0 - (now - self._started) * 1000 / tokens.MOTION["transition"]
        if left <= 0:
            self._from = None
            return False
        self._from.set_alpha(round(255 * left))
        surface.blit(self._from, (0, 0))
        return True

    def stop(self) -> None:
        self._from = None
