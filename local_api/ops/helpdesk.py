"""The remote help desk's state in the gateway (issue 21): open help requests, who helps, and what
goes between the desk and the kiosk app. Memory only (a restart ends every help), thread-safe.

- The kiosk app opens a request (after the help request itself was queued, with its receipt number),
  then long-polls :meth:`HelpDesk.kiosk_events` for what the desk did (accepted, point, message, ended).
- A staff member (``helper`` role) accepts a request; the resident must consent before any frame is
  taken: frames are refused until then (:meth:`kiosk_frame`), and are the masked mirror
  (screens/mirror.py) kept like the operators' one, latest only (:class:`ScreenFrame`).
- Only the staff member who accepted may point, send messages or end; the desk cannot type into the
  resident's form (there is no such call).
- Every change bumps :attr:`HelpDesk.version`; the desk's event stream (local_api/web/helpdesk.py)
  waits on it. The delay from a point to the first frame that draws it is kept per request
  (``point_ms``: the bench's point-to-highlight latency).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_api.ops.screen_frame import ScreenFrame

KEEP_ENDED = 20  # ended requests kept for the desk's list (most recent)
MAX_OPEN = 50  # open requests at once (one kiosk has one resident: far more than enough)
MAX_EVENTS = 200  # events kept per request for the kiosk's long poll


class DeskRefused(Exception):
    """A desk or kiosk call that does not fit the request's state; ``status`` and ``code`` for the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class DeskRequest:
    request_no: str
    item_code: str
    screen: str
    language: str
    opened_at: float
    state: str = "open"  # open → accepted (asking the resident) → live (consented) → ended
    staff: str = ""
    token_id: str = ""
    ended_by: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    event_seq: int = 0
    frame: ScreenFrame = field(default_factory=ScreenFrame)
    frame_seq: int = 0
    drawn_point: int = 0
    point_seq: int = 0
    points_sent: dict[int, float] = field(default_factory=dict)
    point_ms: list[float] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """What the desk may see of it: no personal data (none is ever given to the desk)."""
        return {"request_no": self.request_no, "item_code": self.item_code, "screen": self.screen,
                "language": self.language, "opened_at": self.opened_at, "state": self.state, "staff": self.staff,
                "frame_seq": self.frame_seq, "drawn_point": self.drawn_point, "point_seq": self.point_seq,
                "ended_by": self.ended_by}


class HelpDesk:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._wall = wall_clock
        self._cond = threading.Condition()
        self._requests: dict[str, DeskRequest] = {}
        self.version = 0

    # -- internals (hold the condition) --

    def _get(self, request_no: str) -> DeskRequest:
        found = self._requests.get(request_no)
        if found is None:
            raise DeskRefused(404, "not_found", "no help request has this number")
        return found

    def _changed(self) -> None:
        self.version += 1
        self._cond.notify_all()

    def _tell_kiosk(self, req: DeskRequest, event: dict[str, Any]) -> None:
        req.event_seq += 1
        req.events.append({"seq": req.event_seq, **event})
        del req.events[:-MAX_EVENTS]

    def _owned(self, request_no: str, token_id: str, states: tuple[str, ...]) -> DeskRequest:
        req = self._get(request_no)
        if req.token_id != token_id:
            raise DeskRefused(403, "not_yours", "another staff member is helping with this request")
        if req.state not in states:
            raise DeskRefused(409, "wrong_state", f"the request is {req.state}")
        return req

    def _prune(self) -> None:
        ended = [r for r in self._requests.values() if r.state == "ended"]
        for old in sorted(ended, key=lambda r: r.opened_at)[:-KEEP_ENDED]:
            del self._requests[old.request_no]

    # -- the kiosk app --

    def open(self, request_no: str, item_code: str, screen: str, language: str) -> DeskRequest:
        with self._cond:
            if request_no in self._requests:
                return self._requests[request_no]
            if sum(r.state != "ended" for r in self._requests.values()) >= MAX_OPEN:
                raise DeskRefused(503, "desk_full", "too many open help requests")
            req = DeskRequest(request_no, item_code, screen, language, self._wall())
            self._requests[request_no] = req
            self._changed()
            return req

    def kiosk_events(self, request_no: str, after: int, wait_s: float) -> tuple[list[dict[str, Any]], str]:
        """The desk's events after ``after`` (waiting up to ``wait_s`` for one) and the request's state."""
        deadline = self._clock() + wait_s
        with self._cond:
            while True:
                req = self._get(request_no)
                fresh = [e for e in req.events if e["seq"] > after]
                left = deadline - self._clock()
                if fresh or left <= 0 or req.state == "ended":
                    return fresh, req.state
                self._cond.wait(left)

    def kiosk_reply(self, request_no: str, answer: str) -> DeskRequest:
        """The resident consented, declined or ended the help."""
        with self._cond:
            req = self._get(request_no)
            if answer == "consent":
                if req.state != "accepted":
                    raise DeskRefused(409, "wrong_state", f"the request is {req.state}")
                req.state = "live"
            elif req.state != "ended":
                req.state, req.ended_by = "ended", "resident_declined" if answer == "decline" else "resident"
                self._prune()
            self._changed()
            return req

    def kiosk_frame(self, request_no: str, png: bytes, width: int, height: int, screen: str, point: int) -> bool:
        """Keep a masked frame for the desk (only while live: the resident consented); False otherwise."""
        with self._cond:
            req = self._get(request_no)
            if req.state != "live":
                return False
            req.frame.put(png, width, height)
            req.frame_seq += 1
            req.screen = screen or req.screen
            if point > req.drawn_point:
                now = self._clock()
                for seq in [s for s in req.points_sent if s <= point]:
                    req.point_ms.append((now - req.points_sent.pop(seq)) * 1000)
                del req.point_ms[:-1000]
                req.drawn_point = point
            self._changed()
            return True

    # -- the desk --

    def snapshot(self) -> list[dict[str, Any]]:
        with self._cond:
            return [r.public() for r in sorted(self._requests.values(), key=lambda r: r.opened_at)]

    def request(self, request_no: str) -> dict[str, Any]:
        with self._cond:
            req = self._get(request_no)
            return {**req.public(), "point_ms": [round(x, 2) for x in req.point_ms]}

    def wait_change(self, version: int, timeout_s: float) -> int:
        with self._cond:
            if self.version == version:
                self._cond.wait(timeout_s)
            return self.version

    def accept(self, request_no: str, staff: str, token_id: str) -> DeskRequest:
        with self._cond:
            req = self._get(request_no)
            if req.state != "open":
                raise DeskRefused(409, "wrong_state", f"the request is {req.state}")
            req.state, req.staff, req.token_id = "accepted", staff, token_id
            self._tell_kiosk(req, {"kind": "accepted", "staff": staff})
            self._changed()
            return req

    def point(self, request_no: str, token_id: str, x: int, y: int) -> int:
        with self._cond:
            req = self._owned(request_no, token_id, ("live",))
            req.point_seq += 1
            req.points_sent[req.point_seq] = self._clock()
            self._tell_kiosk(req, {"kind": "point", "x": x, "y": y, "point": req.point_seq})
            self._changed()
            return req.point_seq

    def message(self, request_no: str, token_id: str, key: str, text: str) -> None:
        with self._cond:
            req = self._owned(request_no, token_id, ("live",))
            self._tell_kiosk(req, {"kind": "message", "key": key, "text": text})
            self._changed()

    def end(self, request_no: str, token_id: str) -> None:
        with self._cond:
            req = self._owned(request_no, token_id, ("accepted", "live"))
            req.state, req.ended_by = "ended", "staff"
            self._tell_kiosk(req, {"kind": "ended"})
            self._prune()
            self._changed()

    def frame(self, request_no: str, token_id: str) -> tuple[bytes | None, dict[str, Any]]:
        with self._cond:
            req = self._owned(request_no, token_id, ("live",))
            png, meta = req.frame.get()
            return png, {**meta, "frame_seq": req.frame_seq, "drawn_point": req.drawn_point}
