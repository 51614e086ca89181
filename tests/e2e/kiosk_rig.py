"""The whole kiosk as a user starts it, for the end-to-end suite: ``kiosk run --headless`` (its three
processes: platform simulator, gateway, app), a TCP receipt printer (devices/printer/simulator.py's
VirtualPrinter, in this process), and a finger on the screen (the app's touch feed, screens/touchfeed.py).

Assertions are made at the far ends: what the platform simulator received (``/admin/received``) and
what the printer received; the screen is only read, as a resident reads it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from devices.printer.simulator import VirtualPrinter
from kiosk.terminal.maintenance import hash_pin

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chaos"))
from chaos_rig import free_port, wait_for  # the chaos suite's helpers, one copy

ROOT = Path(__file__).resolve().parents[2]
KIOSK_ID = "HC-E2E-001"
START_S = 90.0  # generous: two cores shared with the rest of the suite


class Finger:
    """Touches the screen through the app's touch feed and reads what it shows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._stream: Any = None
        self._card_at = 0.0

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(40)
        sock.connect(str(self.path))
        self._sock, self._stream = sock, sock.makefile("rwb")

    def ask(self, **request: Any) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                if self._stream is None:
                    self._connect()
                self._stream.write(json.dumps(request).encode() + b"\n")
                self._stream.flush()
                line = self._stream.readline()
                if not line:
                    raise ConnectionError("the app closed the touch feed")
                answer: dict[str, Any] = json.loads(line)
                return answer
            except OSError:
                self.close()
                if attempt == 2:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._stream = None

    def look(self) -> dict[str, Any]:
        return self.ask(op="look")

    def screen(self) -> str:
        return str(self.look().get("screen"))

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = self.look()["view"]
        return view

    def wait_for(self, screen: str, timeout_s: float = 30.0) -> dict[str, Any]:
        seen: list[str] = []

        def there() -> dict[str, Any] | None:
            try:
                look = self.look()
            except OSError:  # the app is (re)starting: its touch feed is not open yet
                seen[:] = ["(no app answering)"]
                return None
            seen[:] = [str(look.get("screen"))]
            return look if look.get("screen") == screen else None
        try:
            found: dict[str, Any] = wait_for(there, timeout_s, f"the {screen!r} screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the app shows {seen}") from None
        return found

    def wait_view(self, ok: Callable[[dict[str, Any]], Any], what: str, timeout_s: float = 30.0) -> dict[str, Any]:
        def good() -> dict[str, Any] | None:
            view = self.view()
            return view if ok(view) else None
        found: dict[str, Any] = wait_for(good, timeout_s, what)
        return found

    def shows(self, target: str) -> bool:
        return any(b["target"] == target for b in self.look()["buttons"])

    def tap(self, target: str) -> None:
        """A finger on the button drawn for ``target``, once the screen has settled."""
        def tapped() -> bool:
            answer = self.ask(op="tap", target=target)
            if not answer["ok"] and "settled" not in answer["why"]:
                raise AssertionError(answer["why"])
            return bool(answer["ok"])
        wait_for(tapped, 10, f"a tap on {target!r}")
        self.look()  # the tap is handled in the app's next turn; this answer comes after it

    def tap_paged(self, target: str) -> None:
        """Turn the screen's pages until ``target`` is drawn (as a resident looks further down), then tap it."""
        for turn in ("page:next", "page:prev", "page:next"):
            while not self.shows(target) and self.shows(turn):
                self.tap(turn)
            if self.shows(target):
                break
        self.tap(target)

    def type(self, text: str) -> None:
        answer = self.ask(op="type", text=text)
        assert answer["ok"], answer

    def lay_card(self) -> None:
        """The test ID card on the simulated reader (it stays on the pad 2 s, like a hand)."""
        time.sleep(max(0.0, self._card_at + 3.0 - time.monotonic()))
        assert self.ask(op="key", key="F2")["ok"]
        self._card_at = time.monotonic()


class Kiosk:
    """``kiosk run --headless`` with a TCP printer and a touch feed; the platform simulator is its own."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.printer = VirtualPrinter().start()
        self.gateway_port, self.sim_port = free_port(), free_port()
        self.feed_path = tmp / "touch.sock"
        self.log_path = tmp / "kiosk.log"
        self.env = {
            **os.environ,
            "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
            "KIOSK_TOUCH_FEED": str(self.feed_path),
            "KIOSK_KIOSK__ID": KIOSK_ID,
            "KIOSK_DEVICES__PRINTER": self.printer.uri,
            "KIOSK_GATEWAY__PORT": str(self.gateway_port),
            "KIOSK_GATEWAY__DATA_DIR": str(tmp / "data"),
            "KIOSK_GATEWAY__RETRY_MAX_S": "1",
            "KIOSK_GATEWAY__BREAKER_RESET_S": "1",
            "KIOSK_GATEWAY__MIN_FREE_MB": "1",
            "KIOSK_PLATFORM__SIM_PORT": str(self.sim_port),
            # A TCP printer is real hardware: the packaged sample PIN is refused then (as on a terminal).
            "KIOSK_MAINTENANCE__PIN_HASH": hash_pin("975310"),
            **env,
        }
        self.env.pop("KIOSK_PLATFORM__URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.finger = Finger(self.feed_path)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def platform(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def start(self) -> Kiosk:
        log = open(self.log_path, "ab")  # noqa: SIM115 -- the child writes to it until it stops
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--headless"], cwd=ROOT,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_for(lambda: self._alive() and self.feed_path.exists(), START_S, "kiosk run to start (touch feed)")
        self.finger.wait_for("attract", START_S)
        return self

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"kiosk run exited {self.proc.returncode}:\n{self.log()[-3000:]}")
        return True

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def app_pid(self) -> int:
        """The pid of the ``kiosk app`` child of ``kiosk run`` (0 while there is none)."""
        assert self.proc is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and b"app" in cmd:
                return int(entry.name)
        return 0

    # -- the far ends --

    def received(self) -> dict[str, Any]:
        answer: dict[str, Any] = requests.get(self.platform + "/admin/received", timeout=10).json()
        return answer

    def at_platform(self, receipt_no: str, kind: str = "applications", timeout_s: float = 30) -> dict[str, Any]:
        """What the platform holds under ``receipt_no`` once it arrived (exactly one of it)."""
        def held() -> list[dict[str, Any]]:
            return [a for a in self.received()[kind] if a.get("receipt_no") == receipt_no]
        found: list[dict[str, Any]] = wait_for(held, timeout_s, f"{receipt_no} at the platform ({kind})")
        assert len(found) == 1, f"{receipt_no} is at the platform {len(found)} times"
        return found[0]

    def faults(self, **faults: Any) -> None:
        answer = requests.post(self.platform + "/admin/faults", json=faults, timeout=10)
        assert answer.status_code == 200, answer.text

    def outbox(self) -> dict[str, int]:
        counts: dict[str, int] = requests.get(self.gateway + "/health", timeout=10).json()["outbox"]
        return counts

    def stop(self) -> None:
        self.finger.close()
        try:
            if self.proc is not None and self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(10)
        finally:
            self.printer.stop()


def page_is_jpeg(page: dict[str, Any]) -> bool:
    """A material page as the platform received it: a real JPEG image, labelled as one."""
    return bool(page["content_type"] == "image/jpeg" and page["head"].startswith("ffd8ff") and page["bytes"] > 1000)

