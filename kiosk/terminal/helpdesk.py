"""The kiosk app's side of the remote help desk (issue 21; the gateway's side: local_api/web/helpdesk.py).

Once a remote help request is queued (its receipt number is the request's number), :class:`DeskLink`
opens it at the gateway's desk and long-polls for what the desk does (accepted, point, message, ended),
handing each to the flow as a :class:`flow.DeskUpdate`. The resident's answers (consent, decline, end)
and the masked frames go the other way on a second thread, frames latest-only: a slow post never
queues old pictures. When the session ends, the help ends. Each thread has its own gateway client.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from kiosk import flow

log = logging.getLogger(__name__)

POLL_WAIT_S = 15.0


class DeskLink:
    def __init__(self, make_client: Callable[[], Any], post: Callable[[flow.Event], None]) -> None:
        self._make_client = make_client
        self._post = post
        self._cond = threading.Condition()
        self._request = ""  # the open request ("" for none)
        self._live = False
        self._asked: flow.RequestHelp | None = None  # the remote request waiting for its number
        self._outgoing: deque[tuple[str, dict[str, Any]]] = deque()
        self._frame: tuple[str, Callable[[], bytes], str, int] | None = None
        self._stopped = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, target in (("desk-poll", self._poll_loop), ("desk-send", self._send_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=POLL_WAIT_S + 6)

    # -- from the flow (UI thread) --

    def effect(self, effect: flow.Effect) -> None:
        """The flow's effects that concern the desk: a remote request, the resident's answers, the session's end."""
        with self._cond:
            if isinstance(effect, flow.RequestHelp) and effect.what == "remote":
                self._asked = effect
            elif isinstance(effect, flow.DeskReply) and effect.request_no == self._request:
                self._outgoing.append(("reply", {"request_no": effect.request_no, "answer": effect.answer}))
                self._live = effect.answer == "consent"
                if effect.answer != "consent":
                    self._request, self._frame = "", None
            elif isinstance(effect, flow.SessionWiped) and self._request:
                self._outgoing.append(("reply", {"request_no": self._request, "answer": "end"}))
                self._request, self._live, self._frame = "", False, None
            else:
                return
            self._cond.notify_all()

    def queued(self, event: flow.HelpQueued) -> None:
        """The remote request was queued: open it at the desk and follow it."""
        with self._cond:
            asked, self._asked = self._asked, None
            if event.what != "remote" or asked is None or not event.receipt_no:
                return
            self._request, self._live, self._frame = event.receipt_no, False, None
            self._outgoing.append(("open", {"request_no": event.receipt_no, "item_code": asked.item_code or "-",
                                            "screen": asked.screen or "home", "language": asked.language or "zh_CN"}))
            self._cond.notify_all()

    @property
    def live(self) -> bool:
        with self._cond:
            return self._live and bool(self._request)

    def frame(self, encode: Callable[[], bytes], screen: str, point: int) -> None:
        """A masked frame for the desk (encoded on the sending thread; a newer one replaces it)."""
        with self._cond:
            if self._live and self._request:
                self._frame = (self._request, encode, screen, point)
                self._cond.notify_all()

    # -- threads --

    def _send_loop(self) -> None:
        client = self._make_client()
        try:
            while True:
                with self._cond:
                    while not self._stopped and not self._outgoing and self._frame is None:
                        self._cond.wait()
                    if self._stopped:
                        return
                    job = self._outgoing.popleft() if self._outgoing else None
                    frame = None if job else self._frame
                    if frame is not None:
                        self._frame = None
                try:
                    if job is not None:
                        path = "/api/v1/helpdesk/kiosk/requests" if job[0] == "open" else "/api/v1/helpdesk/kiosk/replies"
                        answer = client.send("POST", path, json=job[1])
                        if answer.status_code >= 400:
                            log.warning("help desk refused %s: HTTP %s", job[0], answer.status_code)
                        elif job[0] == "open":
                            with self._cond:
                                self._cond.notify_all()  # the poll may start
                    elif frame is not None:
                        request_no, encode, screen, point = frame
                        client.send("POST", "/api/v1/helpdesk/kiosk/frame", data=encode(),
                                    params={"request_no": request_no, "screen": screen, "point": point},
                                    headers={"Content-Type": "image/png"})
                except Exception as exc:  # noqa: BLE001 -- the desk is a help, never the resident's problem
                    log.warning("help desk not reached: %s", type(exc).__name__)
        finally:
            client.close()

    def _poll_loop(self) -> None:
        client = self._make_client()
        after, following = 0, ""
        try:
            while True:
                with self._cond:
                    while not self._stopped and (not self._request or (self._outgoing and self._request != following)):
                        self._cond.wait(1.0)
                    if self._stopped:
                        return
                    request_no = self._request
                if request_no != following:
                    after, following = 0, request_no
                try:
                    answer = client.send("GET", "/api/v1/helpdesk/kiosk/events", timeout_s=POLL_WAIT_S + 5,
                                         params={"request_no": request_no, "after": after, "wait": POLL_WAIT_S})
                    data = answer.json() if answer.status_code == 200 else {}
                except Exception as exc:  # noqa: BLE001 -- try again shortly
                    log.warning("help desk not reached: %s", type(exc).__name__)
                    data = {}
                events = data.get("events", []) if isinstance(data, dict) else []
                for event in events:
                    after = max(after, int(event.get("seq", 0)))
                    update = flow.DeskUpdate(str(event.get("kind", "")), staff=str(event.get("staff", "")),
                                             x=int(event.get("x", 0)), y=int(event.get("y", 0)),
                                             seq=int(event.get("point", 0)), key=str(event.get("key", "")),
                                             text=str(event.get("text", "")))
                    with self._cond:
                        if self._request != request_no:
                            break
                        if update.kind == "ended":
                            self._request, self._live, self._frame = "", False, None
                    self._post(update)
                if not events and (not isinstance(data, dict) or data.get("state") in (None, "ended")):
                    with self._cond:
                        if self._request == request_no and isinstance(data, dict) and data.get("state") == "ended":
                            self._request, self._live, self._frame = "", False, None
                        self._cond.wait(1.0)  # not reachable or over: do not spin
        finally:
            client.close()
