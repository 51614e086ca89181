"""Motion (issue 24): touch feedback, screen transitions and the waiting and guidance animations, all
timed by screens/tokens.py's MOTION and all off with settings ``[ui] reduced_motion`` and in audio mode.

Nothing here waits: a transition only changes how the first frames of a new screen look (the new
screen's buttons take touches from its first frame on), and an animation frame is drawn only when the
app's loop has time between events.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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


class Motion:
    """The app's motion: on unless settings ``[ui] reduced_motion``, a headless display (tests, the
    demo's screenshots, the bench) or audio mode (``audio_on`` is asked each time)."""

    def __init__(self, enabled: bool, audio_on: Callable[[], bool]) -> None:
        self.enabled = enabled
        self._audio_on = audio_on
        self.transition = Transition()
        self._new: pygame.Surface | None = None
        self._next_frame = 0.0

    @property
    def on(self) -> bool:
        return self.enabled and not self._audio_on()

    def before_new_screen(self, surface: pygame.Surface) -> pygame.Surface | None:
        """The frame on screen now, kept to fade from (None when motion is off)."""
        return surface.copy() if self.on else None

    def after_new_screen(self, surface: pygame.Surface, previous: pygame.Surface | None, now: float) -> None:
        """Start the fade from ``previous`` over the new frame just drawn on ``surface``."""
        if previous is None:
            return
        self._new = surface.copy()
        self.transition.start(previous, now)
        self.transition.cover(surface, now)

    def stop(self) -> None:
        """A redraw of the screen (a touch, a scroll): the fade gives way at once."""
        self.transition.stop()
        self._new = None

    def step(self, surface: pygame.Surface, screen: str, now: float) -> str:
        """What the loop draws this turn: "fade" (the surface now shows the next fade frame), "animate"
        (redraw the screen with the animation clock advanced) or "" (nothing)."""
        if self.transition.running and self._new is not None:
            surface.blit(self._new, (0, 0))
            if not self.transition.cover(surface, now):
                self._new = None
            return "fade"
        if self.on and screen in ANIMATED and now >= self._next_frame:
            self._next_frame = now + FRAME_MS / 1000
            return "animate"
        return ""

    def clock_ms(self, now: float) -> int | None:
        """The animation clock the canvas draws with (None: still frames)."""
        return int(now * 1000) if self.on else None
