"""Frames for the remote help desk (issue 21): while the resident lets the desk watch, the masked
mirror of every new view (and one a second when nothing changes) goes to the desk.

The frame is the operators' mirror (screens/mirror.py: drawn off-screen from the masked view, never
the resident's own frame) at half the screen's size — the desk shows it smaller than that, and a
quarter of the pixels draws and encodes four times faster, which is most of the point-to-highlight
latency (bench/bench_helpdesk.py). It is PNG-encoded on the desk link's thread
(kiosk/terminal/helpdesk.py). The desk's pulsing point changes the view a few times a second, so the
desk sees its highlight in the next frame.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pygame

from kiosk.flow.views import View
from screens.mirror import Mirror

KEEPALIVE_S = 1.0
SCALE = 2  # the desk's frame is the screen's size divided by this


def encoder(frame: pygame.Surface) -> Callable[[], bytes]:
    """A PNG of ``frame``, encoded when called (on another thread; Pillow, as the heartbeat's)."""
    data, size = pygame.image.tobytes(frame, "RGB"), frame.get_size()

    def encode() -> bytes:
        # lazy: Pillow is for the desk link's thread, not the first touch (P1)
        from PIL import Image

        buffer = io.BytesIO()
        Image.frombytes("RGB", size, data).save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()

    return encode


class DeskFrames:
    def __init__(self, link: Callable[[], Any], size: tuple[int, int], clock: Callable[[], float],
                 screen_state: Callable[[], tuple[Any, float]]) -> None:
        """``screen_state``: the resident's keyboard state and list offset, which the mirror follows."""
        self._link = link
        self._clock = clock
        self._screen_state = screen_state
        self._size = (size[0] // SCALE, size[1] // SCALE)
        self._mirror: Mirror | None = None  # made on first use: most sessions never call the desk
        self._last: View | None = None
        self._at = -1e9

    def step(self, view: View | None) -> None:
        """After a turn of the loop: send the frame of ``view`` if the desk watches and it is new."""
        if view is None or view.desk != "live":
            self._last = None
            return
        link = self._link()
        if link is None or not link.live:
            return
        now = self._clock()
        if view is self._last and now - self._at < KEEPALIVE_S:
            return
        self._last, self._at = view, now
        if self._mirror is None:
            self._mirror = Mirror(self._size)
        keyboard_state, scroll = self._screen_state()
        frame = self._mirror.frame(view, keyboard_state=keyboard_state, scroll=scroll)
        link.frame(encoder(frame), view.screen, view.desk_point_seq if view.desk_point is not None else 0)
