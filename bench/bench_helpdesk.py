"""HELPDESK: the remote help desk's point-to-highlight latency (issue 21).

HELPDESK  a staff member's point (``POST /api/v1/helpdesk/requests/<no>/point``) until the kiosk's
          masked frame that draws the pulsing highlight there has reached the gateway, p50 and p95 over
          loopback; target p95 ≤ 300 ms. Measured by the gateway itself (both ends are its clock):
          the point's arrival → the kiosk's long poll answered → the app's loop takes the event → the
          flow's view → the resident's frame and the masked mirror drawn → PNG-encoded → posted back.
          A real ``kiosk run --headless`` (platform simulator, gateway, app), the resident on the
          app's touch feed (they ask for remote help and consent), the desk over HTTP with a helper token.
          Anchor, same run: one masked mirror frame drawn and PNG-encoded in this process (the floor the
          kiosk's side of the path cannot go under).

    .venv/bin/python -m bench.run --only HELPDESK
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Figure, median, percentile, timed

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 300.0
START_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Feed:
    """The app's touch feed (screens/touchfeed.py): look and tap as the end-to-end tests do."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(40)
        self.sock.connect(str(path))
        self.stream = self.sock.makefile("rwb")

    def ask(self, **request: Any) -> dict[str, Any]:
        self.stream.write(json.dumps(request).encode() + b"\n")
        self.stream.flush()
        answer: dict[str, Any] = json.loads(self.stream.readline())
        return answer

    def view(self) -> dict[str, Any]:
        return dict(self.ask(op="look")["view"])

    def until(self, ok: Any, what: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            view = self.view()
            if ok(view):
                return view
            time.sleep(0.05)
        raise RuntimeError(f"the kiosk never showed {what}")

    def tap(self, target: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.ask(op="tap", target=target).get("ok"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"could not tap {target}")

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


def _mirror_anchor(repeat: int) -> float:
    """One masked mirror frame of the home screen drawn and PNG-encoded here, as the kiosk makes the
    desk's (half the screen's size, screens/help_frames.py), median seconds."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from kiosk import flow
    from kiosk.catalog.loading import Catalog
    from screens.help_frames import SCALE, encoder
    from screens.mirror import Mirror

    pygame.display.init()
    pygame.font.init()
    k = flow.KioskFlow(Catalog.load(), lambda: 0.0)
    k.handle(flow.Tapped("start"))
    mirror = Mirror((1080 // SCALE, 1920 // SCALE))
    view = k.view()
    mirror.frame(view)

    def one() -> None:
        encoder(mirror.frame(view))()

    return median(timed(one, repeat))


def run(quick: bool) -> list[Figure]:
    import requests

    points = 10 if quick else 40
    work = Path(tempfile.mkdtemp(prefix="bench-helpdesk-"))
    gateway_port, sim_port = _free_port(), _free_port()
    feed_path = work / "touch.sock"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
           "KIOSK_TOUCH_FEED": str(feed_path), "KIOSK_GATEWAY__PORT": str(gateway_port),
           "KIOSK_GATEWAY__DATA_DIR": str(work / "data"), "KIOSK_PLATFORM__SIM_PORT": str(sim_port),
           "KIOSK_GATEWAY__MIN_FREE_MB": "1", "KIOSK_HELP__OPENING_HOURS": ""}
    env.pop("KIOSK_PLATFORM__URL", None)
    gateway = f"http://127.0.0.1:{gateway_port}"
    with open(work / "kiosk.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--headless"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    feed: _Feed | None = None
    try:
        deadline = time.monotonic() + START_S
        while not feed_path.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kiosk run did not start: {(work / 'kiosk.log').read_text()[-2000:]}")
            time.sleep(0.2)
        feed = _Feed(feed_path)
        feed.until(lambda v: v.get("screen") == "attract", "the attract screen", START_S)
        feed.tap("start")
        feed.until(lambda v: v.get("screen") == "home", "home")
        feed.tap("help")
        feed.until(lambda v: v.get("screen") == "help", "help")
        feed.tap("help:remote")
        number = feed.until(lambda v: v.get("desk") == "waiting" and v.get("help_no"), "the request")["help_no"]
        tech = (work / "data" / "first-token.txt").read_text().strip()
        token = requests.post(gateway + "/api/v1/tokens", headers={"Authorization": f"Bearer {tech}"},
                              json={"role": "helper", "label": "0001"}, timeout=10).json()["token"]
        desk = requests.Session()
        desk.headers["Authorization"] = f"Bearer {token}"
        base = f"{gateway}/api/v1/helpdesk/requests/{number}"
        deadline = time.monotonic() + 30
        while desk.post(base + "/accept", timeout=10).status_code != 200:  # the kiosk opens it just after
            if time.monotonic() > deadline:
                raise RuntimeError("the desk could not accept the request")
            time.sleep(0.1)
        feed.until(lambda v: v.get("desk") == "asking", "the consent")
        feed.tap("desk:consent")
        feed.until(lambda v: v.get("desk") == "live", "help under way")
        time.sleep(1.0)
        for i in range(points):
            seq = desk.post(base + "/point", json={"x": 0.2 + 0.6 * (i % 5) / 4, "y": 0.3 + 0.1 * (i % 4)},
                            timeout=10).json()["point"]
            deadline = time.monotonic() + 10
            while desk.get(base, timeout=10).json()["drawn_point"] < seq:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"point {seq} never drawn in a kiosk frame")
                time.sleep(0.01)
            time.sleep(0.3)  # the next point on a settled screen, as a person would tap again
        latencies = [float(x) for x in desk.get(base, timeout=10).json()["point_ms"]]
        desk.post(base + "/end", timeout=10)
    finally:
        if feed is not None:
            feed.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    anchor_ms = _mirror_anchor(5 if quick else 20) * 1000
    p50, p95 = median(latencies), percentile(latencies, 95)
    return [
        Figure("HELPDESK", f"remote desk point → highlight in the kiosk's frame at the gateway, p95 ({len(latencies)} "
               "points, loopback)", round(p95, 1), "ms", f"p95 ≤ {TARGET_P95_MS:g} ms", p95 <= TARGET_P95_MS,
               anchor="one masked desk frame (540 × 960) drawn + PNG-encoded (ms)", anchor_value=round(anchor_ms, 1),
               ratio=round(p95 / anchor_ms, 2) if anchor_ms else None, note=f"p50 {p50:.1f} ms"),
    ]
