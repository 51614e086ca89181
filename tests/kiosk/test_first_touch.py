"""The first touch after start-up is served, and search and the pinyin keyboard work at once even while
their indexes are still being built off the UI thread (issue 25, P1): the real ``kiosk app`` process,
with no index files yet (a terminal's first start), a finger on its touch feed from the first moment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kiosk.settings import load_settings
from local_api.server import start_gateway, start_platform_sim

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gateway(tmp_path: Path):  # type: ignore[no-untyped-def]
    base = load_settings(None, {})
    platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
    settings = base.model_copy(update={
        "gateway": base.gateway.model_copy(update={"port": 0, "data_dir": str(tmp_path / "gw"),
                                                    "first_token_role": "none"}),
        "platform": base.platform.model_copy(update={"url": platform.url})})
    server = start_gateway(settings)
    try:
        yield server.url
    finally:
        server.close()
        platform.close()


def ask(stream: Any, **request: Any) -> dict[str, Any]:
    stream.write(json.dumps(request).encode() + b"\n")
    stream.flush()
    answer: dict[str, Any] = json.loads(stream.readline())
    return answer


def until(stream: Any, ok: Any, what: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        look = ask(stream, op="look")
        if ok(look):
            return look
        assert time.monotonic() < deadline, f"waited for {what}; the app shows {look['screen']!r}"
        time.sleep(0.05)


def test_a_touch_made_while_starting_is_served_and_search_and_keyboard_wait_for_their_indexes(gateway, tmp_path):
    feed = tmp_path / "feed.sock"
    changed_r, changed_w = os.pipe()
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
           "KIOSK_TOUCH_FEED": str(feed), "KIOSK_FIRST_CHANGE_FD": str(changed_w),
           "KIOSK_CACHE_DIR": str(tmp_path / "cache")}  # no index files: built in the background
    app = subprocess.Popen([sys.executable, "-m", "kiosk", "app", "--headless", "--gateway-url", gateway],
                           env=env, pass_fds=(changed_w,), cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    os.close(changed_w)
    try:
        deadline = time.monotonic() + 90
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        while True:  # the finger is there before the app is ready
            try:
                sock.connect(str(feed))
                break
            except OSError:
                assert app.poll() is None and time.monotonic() < deadline, "the app never opened its touch feed"
                time.sleep(0.005)
        stream = sock.makefile("rwb")
        # The first turn of the loop finds the attract screen's buttons and serves the tap.
        assert ask(stream, op="tap", target="start") == {"ok": True}
        with os.fdopen(changed_r, "rb") as changed:
            assert changed.readline() == b"screen home\n"
        until(stream, lambda look: look["screen"] == "home" and look["ready"], "the home screen")
        assert ask(stream, op="tap", target="search")["ok"]
        until(stream, lambda look: look["screen"] == "search" and look["ready"], "the search screen")
        # Typed at once: the search index may still be building; the keystroke waits for it.
        assert ask(stream, op="type", text="shebao")["ok"]
        look = until(stream, lambda look: any(b["target"] == "detail:rs-sbjfzm" for b in look["buttons"]),
                     "社保参保缴费证明打印 among the results")
        assert look["screen"] == "search"
        # The pinyin keyboard's candidates (its index mapped, or built in a helper process, on demand).
        for key in ("key:s", "key:b"):
            if any(b["target"] == key for b in look["buttons"]):
                assert ask(stream, op="tap", target=key)["ok"]
        until(stream, lambda look: any(b["target"].startswith("cand:") for b in look["buttons"]),
              "pinyin candidates for sb")
        sock.close()
    finally:
        app.terminate()
        try:
            _, err = app.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            _, err = app.communicate(timeout=10)
    assert b"Traceback" not in err, err.decode("utf-8", "replace")[-2000:]
    assert (tmp_path / "cache" / "pinyin-index.bin").exists()  # built once, kept for the next start
