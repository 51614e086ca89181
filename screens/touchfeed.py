"""A touch feed: the end-to-end tests' finger, in place of the touchscreen's input device.

Only when the environment names a socket path (``KIOSK_TOUCH_FEED=/path/touch.sock``) does the app
open it: a Unix socket, mode 0600, one JSON request per line, one JSON answer per line. Requests are
answered on the UI thread between two turns of the loop, so a test sees exactly what a resident would:

- ``{"op": "look"}`` → ``{"screen", "ready", "buttons": [{"target", "centre"}], "view"}``: the screen
  shown, whether a tap counts now (the double-tap guard), the buttons drawn and the screen's view
  (masked values only, as every screen gets it);
- ``{"op": "tap", "target": T}`` → press and release at the centre of the button drawn for ``T``,
  as pygame mouse events through the same path as a finger (``{"ok": false, "why"}`` when no such
  button is drawn or the screen has not settled);
- ``{"op": "key", "key": "F2"}`` → a key press (F2 lays the test card on the simulated reader);
- ``{"op": "show_qr", "text": S}`` → the simulated QR camera shows ``S`` at its next scan (a staff pass);
- ``{"op": "key", "key": "F2"}`` → a key press (F2 lays the test card on the simulated reader, F3 the
  third test card, whose holder the platform simulator grants a benefit without applying and holds
  e-licences for: local_api/sim/benefits.py);
- ``{"op": "type", "text": S}`` → what the on-screen keyboard hands the flow once the resident typed
  ``S`` (as ``kiosk demo`` does; tests/screens type key by key).

Nothing here runs on a terminal in service: the kiosk's units never set the variable.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygame

if TYPE_CHECKING:
    from screens.app import KioskApp

log = logging.getLogger(__name__)

ENV = "KIOSK_TOUCH_FEED"
_KEYS = {"F2": pygame.K_F2, "F3": pygame.K_F3}


def _plain(value: Any) -> Any:
    """A view value as JSON (bytes become their size: images never leave the process)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class TouchFeed:
    """Serves the socket on its own thread; :meth:`serve` answers the waiting requests on the UI thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: queue.Queue[tuple[dict[str, Any], queue.Queue[dict[str, Any]]]] = queue.Queue()
        path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is created 0600: only this user may drive the screen
        try:
            self._sock.bind(str(path))
        finally:
            os.umask(old)
        self._sock.listen(4)
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="touch-feed", daemon=True).start()
        log.warning("touch feed open at %s (%s is set): a test drives this app", path, ENV)

    @classmethod
    def from_env(cls) -> TouchFeed | None:
        path = os.environ.get(ENV, "").strip()
        return cls(Path(path)) if path else None

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), name="touch-feed-conn", daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                except ValueError as exc:
                    request = f"not JSON: {exc}"
                if not isinstance(request, dict):
                    answer: dict[str, Any] = {"ok": False, "why": f"not a request (a JSON object per line): {request}"}
                else:
                    reply: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1)
                    self._pending.put((request, reply))
                    try:
                        answer = reply.get(timeout=30)
                    except queue.Empty:
                        answer = {"ok": False, "why": "the app's loop did not answer in 30 s"}
                stream.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
                stream.flush()

    def serve(self, app: KioskApp) -> None:
        """Answer every waiting request (UI thread, at the start of a turn of the loop)."""
        while True:
            try:
                request, reply = self._pending.get_nowait()
            except queue.Empty:
                return
            try:
                reply.put(self._answer(app, request))
            except Exception as exc:  # noqa: BLE001 -- a bad request must not take the loop down
                reply.put({"ok": False, "why": f"{type(exc).__name__}: {exc}"})

    def _answer(self, app: KioskApp, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "look":
            view = app.view()
            return {"ok": True, "screen": view.screen, "ready": app.ready_for_tap(),
                    "buttons": [{"target": b.target, "centre": list(app.renderer.target_centre(b.target))}
                                for b in app.renderer.buttons],
                    "view": _plain(dataclasses.asdict(view))}
        if op == "tap":
            target = str(request.get("target", ""))
            if not app.ready_for_tap():
                return {"ok": False, "why": "the screen has not settled (a tap now would be a double tap)"}
            if not any(b.target == target for b in app.renderer.buttons):
                return {"ok": False, "why": f"no button {target!r} on the {app.view().screen!r} screen"}
            app.press_and_release(target)
            return {"ok": True}
        if op == "key":
            key = _KEYS.get(str(request.get("key")))
            if key is None:
                return {"ok": False, "why": f"unknown key; one of {sorted(_KEYS)}"}
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
            return {"ok": True}
        if op == "type":
            if app.renderer.keyboard is None:
                return {"ok": False, "why": "no keyboard is open"}
            app.keyboard_typed(str(request.get("text", "")))
            return {"ok": True}
        if op == "show_qr":  # assisted mode's tests: a staff pass held up to the simulated QR camera
            camera = app.terminal.hardware.cameras.get("qr_camera") if app.terminal.started else None
            phone = getattr(camera, "app", None)
            if phone is None or not hasattr(phone, "hold_up"):
                return {"ok": False, "why": "no simulated QR camera to hold a code up to"}
            phone.hold_up(str(request.get("text", "")))
            return {"ok": True}
        return {"ok": False, "why": "op: one of look, tap, key, type, show_qr"}

    def close(self) -> None:
        self._closed.set()
        try:
            self._sock.close()
        finally:
            self.path.unlink(missing_ok=True)
