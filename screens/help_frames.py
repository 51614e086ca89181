"""Frames for the remote help desk (issue 21): while the resident lets the desk watch, the masked
mirror of every new view (and one a second when nothing changes) goes to the desk.

The frame is the operators' mirror (screens/mirror.py: drawn off-screen from the masked view, never
the resident's own frame), encoded on the desk link's thread (kiosk/terminal/helpdesk.py). The desk's
pulsing point changes the view a few times a second, so the desk sees its highlight in the next frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.flow.views import View

KEEPALIVE_S = 1.0


class DeskFrames:
    def __init__(self, link: Callable[[], Any], frame_png: Callable[[], Callable[[], bytes]],
                 clock: Callable[[], float]) -> None:
        self._link = link
        self._frame_png = frame_png
        self._clock = clock
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
        link.frame(self._frame_png(), view.screen, view.desk_point_seq if view.desk_point is not None else 0)
