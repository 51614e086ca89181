"""P1 (cold start): process start → the first touch on the attract screen served (the screen
changes), against Chromium handling a click on an equivalent page, measured side by side in the same
run; and the older, flattering pair (first frame against a cold Chromium's screenshot) beside it.

- Kiosk: the real command, ``kiosk app --headless --gateway-url URL`` in a fresh Python process
  (a gateway and platform simulator serve in this process, up before the clock starts, as ``kiosk
  run`` starts them first too). The bench's finger is the app's touch feed (screens/touchfeed.py,
  ``KIOSK_TOUCH_FEED``): it connects as soon as the socket exists and asks for a tap on 开始 until
  the app takes it; the tap goes through the path a finger's takes (pygame mouse events). The clock
  stops when the app writes ``screen home`` on its ``KIOSK_FIRST_CHANGE_FD`` pipe (kiosk/cli.py), i.e.
  the next screen has been drawn. The first attract frame (``KIOSK_FIRST_FRAME_FD``, screens/boot.py)
  and ``ready`` (``KIOSK_READY_FD``) are timed on the way.
- Fair anchor: ``chromium --headless --remote-debugging-pipe`` opening a static page with the attract
  screen's texts and buttons in Noto Sans SC installed as a system font (the file pygame_gui bundles,
  copied into a private fontconfig folder named by ``FONTCONFIG_FILE``, its cache built beforehand), a
  warm profile (one ``--user-data-dir`` reused, warmed by an untimed run). From ``Popen``, the bench
  waits over the DevTools pipe until the 开始 button is there, clicks it (``Input.dispatchMouseEvent``
  press + release), and stops the clock once the page's click handler has drawn its home screen
  (two animation frames after, i.e. painted) — the same event as the kiosk's.
- Old anchor (the one this figure used before issue 25): ``chromium --headless --screenshot`` of the
  page styled with ``@font-face`` over ``file://`` (17 MB of OTF read each run), a fresh profile each
  run, timed to process exit; against the kiosk's first frame.

Runs alternate kiosk / Chromium so both see the same machine load. Target: median ≤ 1.0 s and
≤ 0.5 × the fair anchor's median (TARGETS.md P1).

    .venv/bin/python -m bench.run --only P1
"""

from __future__ import annotations

import html
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.common import Figure, median

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--window-size=1080,1920"]
TARGET_S = 1.0
TARGET_RATIO = 0.5
READY_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


def attract_page(folder: Path, *, system_font: bool = False) -> Path:
    """Write the static equivalent of the attract screen (same texts, same buttons) and return it.

    ``system_font``: the fair anchor's page: Noto Sans SC by family name (installed as a system font)
    instead of ``@font-face`` files, and 开始 draws a home screen when clicked."""
    from kiosk.fonts import cjk_font_path

    messages = tomllib.loads((ROOT / "config" / "messages.toml").read_text(encoding="utf-8"))["zh_CN"]
    m = {k: html.escape(str(v)) for k, v in messages.items()}
    regular, bold = cjk_font_path(False).as_uri(), cjk_font_path(True).as_uri()
    buttons = "".join(f'<button class="small">{m[k]}</button>' for k in ("lang_zh_CN", "lang_zh_TW", "lang_en"))
    faces = "" if system_font else (
        f'@font-face {{ font-family: Noto; src: url("{regular}"); font-weight: 400; }}\n'
        f'@font-face {{ font-family: Noto; src: url("{bold}"); font-weight: 700; }}')
    family = "'Noto Sans SC'" if system_font else "Noto"
    home = "".join(f"<button>{m[k]}</button>" for k in ("browse_search", "browse_all", "button_help"))
    script = "" if not system_font else f"""<script>
document.getElementById('start').addEventListener('click', () => {{
  document.body.innerHTML = '<header><h1>{m["attract_title"]}</h1></header><div class="row">{home}</div>';
  document.body.dataset.screen = 'home';
}});
</script>"""
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{m['attract_title']}</title>
<style>
{faces}
html, body {{ margin: 0; width: 1080px; height: 1920px; font-family: {family}, sans-serif;
  background: linear-gradient(#0b4f9c, #0a3a73); color: #fff; }}
header {{ display: flex; justify-content: space-between; padding: 32px; }}
h1 {{ font-size: 88px; font-weight: 700; text-align: center; margin-top: 520px; }}
p {{ font-size: 44px; text-align: center; }}
button {{ font-family: {family}; font-size: 48px; border-radius: 24px; border: 0; margin: 16px;
  padding: 32px 64px; background: #fff; color: #0b4f9c; }}
button.small {{ font-size: 32px; padding: 16px 28px; }}
.row {{ text-align: center; }}
</style></head><body>
<header><div>{buttons}</div><div><button class="small">{m['elder_on']}</button></div></header>
<h1>{m['attract_title']}</h1><p>{m['attract_slogan']}</p><p>{m['attract_hint']}</p>
<div class="row"><button id="start">{m['button_start']}</button></div>
<div class="row"><button class="small">{m['button_help']}</button>
<button class="small">{m['button_sim_card']}</button></div>
{script}</body></html>"""
    path = folder / ("attract-system-font.html" if system_font else "attract.html")
    path.write_text(page, encoding="utf-8")
    return path


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def chromium_command(page: Path, profile: Path, *extra: str) -> list[str]:
    return [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]


def chromium_cold_start(page: Path, work: Path) -> float:
    """Seconds from Popen to exit of a headless Chromium writing a screenshot of ``page``."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=work))
    shot = work / "chromium.png"
    shot.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(chromium_command(page, profile, f"--screenshot={shot}"), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(profile, ignore_errors=True)
    if not shot.exists() or shot.stat().st_size == 0:
        raise RuntimeError("chromium exited without writing its screenshot")
    return elapsed


# -- the fair anchor: Chromium, font installed, warm profile, timed to a click handled --

FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


def private_fontconfig(work: Path) -> dict[str, str]:
    """Noto Sans SC (pygame_gui's files) installed as a system font for this run only: a fonts folder,
    a fonts.conf including the system's and naming it, its cache built. Returns the environment."""
    from kiosk.fonts import cjk_font_path

    fonts, cache = work / "fonts", work / "fontconfig-cache"
    fonts.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    for bold in (False, True):
        shutil.copy2(cjk_font_path(bold), fonts / cjk_font_path(bold).name)
    conf = work / "fonts.conf"
    conf.write_text(FONTS_CONF.format(fonts=fonts, cache=cache), encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    if shutil.which("fc-cache"):
        subprocess.run(["fc-cache", str(fonts)], env=env, check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)
    return env


class DevToolsPipe:
    """Chromium's DevTools protocol over ``--remote-debugging-pipe`` (its fds 3 and 4, NUL-separated
    JSON): no websocket library needed."""

    def __init__(self, to_chromium: int, from_chromium: int) -> None:
        self._out, self._in = to_chromium, from_chromium
        self._buffer = b""
        self._id = 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout_s: float = 30.0) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.perf_counter() + timeout_s
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._id:
                    if "error" in answer:
                        raise RuntimeError(f"chromium: {method}: {answer['error']}")
                    return dict(answer.get("result", {}))
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise RuntimeError(f"chromium did not answer {method}")
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk


_BUTTON = """(() => { const b = document.getElementById('start');
  if (!b || document.readyState !== 'complete') return null;
  const r = b.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"""
_PAINTED = """new Promise(r => requestAnimationFrame(() => requestAnimationFrame(
  () => r(document.body.dataset.screen || ''))))"""


def chromium_first_click(page: Path, profile: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the 开始 button being there, seconds to its click handled and painted), from Popen."""
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def wire() -> None:  # in the child: the pipe ends at the fds Chromium expects (3 in, 4 out)
        a, b = os.dup(to_r), os.dup(from_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    start = time.perf_counter()
    proc = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                             page.as_uri()], env=env, pass_fds=(3, 4), preexec_fn=wire,  # noqa: PLW1509
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(to_r)
    os.close(from_w)
    try:
        cdp = DevToolsPipe(to_w, from_r)
        deadline = start + READY_TIMEOUT_S
        target = None
        while target is None:
            pages = [t for t in cdp.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            target = pages[0]["targetId"] if pages else None
            if time.perf_counter() > deadline:
                raise RuntimeError("chromium opened no page")
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        centre = None
        while centre is None:
            centre = cdp.call("Runtime.evaluate", {"expression": _BUTTON, "returnByValue": True},
                              session)["result"].get("value")
            if time.perf_counter() > deadline:
                raise RuntimeError("the page's button never appeared")
        ready_s = time.perf_counter() - start
        x, y = centre
        for kind in ("mousePressed", "mouseReleased"):
            cdp.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                     session)
        screen = cdp.call("Runtime.evaluate", {"expression": _PAINTED, "awaitPromise": True, "returnByValue": True},
                          session)["result"].get("value")
        click_s = time.perf_counter() - start
        if screen != "home":
            raise RuntimeError(f"the click was not handled (screen {screen!r})")
        try:
            cdp.call("Browser.close", timeout_s=5)
        except RuntimeError:
            pass
        return ready_s, click_s
    finally:
        os.close(to_w)
        os.close(from_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=5)


def app_env(**extra: str) -> dict[str, str]:
    """The kiosk app's environment: headless, quiet, simulated devices (the packaged defaults)."""
    return {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
            "PYGAME_HIDE_SUPPORT_PROMPT": "1", **extra}


def _read_line(read_fd: int, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    """One line from a pipe, or what came before the process ended or the deadline passed."""
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([read_fd], [], [], 0.5)
        if ready:
            chunk = os.read(read_fd, 256)
            if not chunk:
                break
            line += chunk
        elif proc.poll() is not None or time.perf_counter() > deadline:
            break
    return line


def _read_lines(fds: dict[str, int], proc: subprocess.Popen[bytes],
                deadline: float) -> tuple[dict[str, bytes], dict[str, float]]:
    """One line from each pipe, read as they come, and the moment each line was complete."""
    lines = {name: b"" for name in fds}
    at: dict[str, float] = {}
    open_fds = dict(fds)
    while open_fds and time.perf_counter() < deadline:
        ready, _, _ = select.select(list(open_fds.values()), [], [], 0.5)
        now = time.perf_counter()
        for name, fd in list(open_fds.items()):
            if fd not in ready:
                continue
            chunk = os.read(fd, 256)
            lines[name] += chunk
            if not chunk or lines[name].endswith(b"\n"):
                del open_fds[name]
                if chunk:
                    at[name] = now
        if not ready and proc.poll() is not None:
            break
    return lines, at


def start_app(gateway_url: str) -> tuple[subprocess.Popen[bytes], float, float]:
    """Start ``kiosk app --headless``; (process, seconds to the first attract frame, seconds to ready).

    The app writes ``frame`` on ``KIOSK_FIRST_FRAME_FD`` when the attract screen is on the display
    (screens/boot.py) and ``ready`` on ``KIOSK_READY_FD`` when devices, catalog and gateway are up.
    """
    from kiosk.supervisor import READY_ENV
    from screens.boot import FIRST_FRAME_ENV

    frame_r, frame_w = os.pipe()
    ready_r, ready_w = os.pipe()
    cmd = [sys.executable, "-m", "kiosk", "app", "--headless", "--gateway-url", gateway_url]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=app_env(**{READY_ENV: str(ready_w), FIRST_FRAME_ENV: str(frame_w)}),
                            pass_fds=(ready_w, frame_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT)
    os.close(ready_w)
    os.close(frame_w)
    try:
        deadline = start + READY_TIMEOUT_S
        frame = _read_line(frame_r, proc, deadline)
        frame_s = time.perf_counter() - start
        line = _read_line(ready_r, proc, deadline)
        ready_s = time.perf_counter() - start
    finally:
        os.close(frame_r)
        os.close(ready_r)
    if not frame.startswith(b"frame") or not line.startswith(b"ready"):
        stop_app(proc)
        raise RuntimeError(f"kiosk app did not report its first frame and ready (exit {proc.returncode}, "
                           f"said {frame!r} / {line!r})")
    return proc, frame_s, ready_s


def start_app_touched(gateway_url: str, work: Path) -> tuple[subprocess.Popen[bytes], float, float, float]:
    """Start ``kiosk app --headless`` and touch 开始 through its touch feed as soon as it listens;
    (process, seconds to the first attract frame, to ready, to the touch served: the home screen drawn)."""
    from kiosk.cli import FIRST_CHANGE_ENV
    from kiosk.supervisor import READY_ENV
    from screens.boot import FIRST_FRAME_ENV
    from screens.touchfeed import ENV as FEED_ENV

    feed = work / "touch.sock"
    feed.unlink(missing_ok=True)
    pipes = {name: os.pipe() for name in ("frame", "ready", "change")}
    env = app_env(**{FIRST_FRAME_ENV: str(pipes["frame"][1]), READY_ENV: str(pipes["ready"][1]),
                     FIRST_CHANGE_ENV: str(pipes["change"][1]), FEED_ENV: str(feed)})
    cmd = [sys.executable, "-m", "kiosk", "app", "--headless", "--gateway-url", gateway_url]
    writers = tuple(w for _, w in pipes.values())
    taps: list[str] = []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, pass_fds=writers, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT)
    for w in writers:
        os.close(w)
    deadline = start + READY_TIMEOUT_S
    finger = threading.Thread(target=_tap_when_listening, args=(feed, "start", deadline, taps), daemon=True)
    finger.start()
    try:
        # Each pipe timed as its line arrives: the touch may well be served before "ready".
        lines, at = _read_lines({name: r for name, (r, _) in pipes.items()}, proc, deadline)
    finally:
        for r, _ in pipes.values():
            os.close(r)
    frame, ready, change = lines["frame"], lines["ready"], lines["change"]
    frame_s, ready_s, touch_s = (at.get(name, deadline) - start for name in ("frame", "ready", "change"))
    finger.join(timeout=5)
    if not frame.startswith(b"frame") or not ready.startswith(b"ready") or not change.startswith(b"screen home"):
        stop_app(proc)
        raise RuntimeError(f"kiosk app: no first frame, ready and touch served (exit {proc.returncode}, said "
                           f"{frame!r} / {ready!r} / {change!r}; feed: {taps[-1:]})")
    return proc, frame_s, ready_s, touch_s


def _tap_when_listening(feed: Path, target: str, deadline: float, said: list[str]) -> None:
    """The bench's finger: connect to the touch feed the moment it listens, tap until the app takes it."""
    while time.perf_counter() < deadline:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(feed))
        except OSError:
            sock.close()
            time.sleep(0.001)
            continue
        with sock, sock.makefile("rwb") as stream:
            while time.perf_counter() < deadline:
                stream.write(json.dumps({"op": "tap", "target": target}).encode() + b"\n")
                stream.flush()
                line = stream.readline()
                said.append(line.decode("utf-8", "replace").strip())
                if not line or json.loads(line).get("ok"):
                    return
        return


def compileall_project() -> None:
    """Byte-compile the project's packages, as a terminal's first start leaves them."""
    import compileall  # lazy: only the bench's set-up

    for package in ("kiosk", "screens", "devices", "local_api"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def stop_app(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class Stack:
    """A platform simulator and gateway serving in this process, for ``kiosk app`` to talk to."""

    def __init__(self, work: Path) -> None:
        from kiosk.settings import load_settings
        from local_api.server import start_gateway, start_platform_sim

        base = load_settings(None, {})
        self.platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
        self.settings = base.model_copy(update={
            "gateway": base.gateway.model_copy(update={"port": 0, "data_dir": str(work / "gateway-data"),
                                                        "first_token_role": "none"}),
            "platform": base.platform.model_copy(update={"url": self.platform.url})})
        self.gateway = start_gateway(self.settings)
        self.url = self.gateway.url

    def close(self) -> None:
        try:
            self.gateway.close()
        finally:
            self.platform.close()


def run(quick: bool) -> list[Figure]:
    rounds = 3 if quick else 9
    touch: list[float] = []
    frame: list[float] = []
    ready: list[float] = []
    old: list[float] = []  # Chromium as the old anchor: cold profile, @font-face, screenshot, to exit
    fair_ready: list[float] = []  # Chromium, font installed, warm profile: the button is there
    fair: list[float] = []  # … and its click handled and painted
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        page = attract_page(work)
        fair_page = attract_page(work, system_font=True)
        stack = Stack(work)
        try:
            # A terminal runs from byte-compiled modules (its first start writes them; this shell may set
            # PYTHONDONTWRITEBYTECODE, which would leave the app compiling ≈ 400 modules on every start).
            compileall_project()
            proc, _, _, _ = start_app_touched(stack.url, work)  # warm the OS page cache, untimed
            stop_app(proc)
            chrome = chromium_available()
            if chrome:
                fonts_env = private_fontconfig(work)
                profile = work / "chromium-warm-profile"
                chromium_cold_start(page, work)
                chromium_first_click(fair_page, profile, fonts_env)  # warms the profile, untimed
            for _ in range(rounds):
                proc, frame_s, ready_s, touch_s = start_app_touched(stack.url, work)
                stop_app(proc)
                frame.append(frame_s)
                ready.append(ready_s)
                touch.append(touch_s)
                if chrome:
                    old.append(chromium_cold_start(page, work))
                    r, c = chromium_first_click(fair_page, profile, fonts_env)
                    fair_ready.append(r)
                    fair.append(c)
        finally:
            stack.close()
    value = median(touch)
    target = f"≤ {TARGET_S} s; ≤ {TARGET_RATIO} × Chromium (fair)"
    note = (f"kiosk app median of {rounds} (min {min(touch):.3f} s, max {max(touch):.3f} s): process start → "
            "开始 tapped through the touch feed as soon as it listens → the home screen drawn; OS cache warm")
    figures: list[Figure] = []
    ready_figure = Figure("P1", "cold start → ready (catalog, devices, gateway up)", median(ready), "s", "—", None,
                          note=f"median of {rounds}; a touch made before this waits in the event queue and is "
                               "served by the first turn of the loop, before the devices open; indexes are built "
                               "on a thread after it")
    if not old:
        return [Figure("P1", "first touch served: start → 开始 tapped → home drawn", value, "s", target, None,
                       anchor="Chromium not installed: anchor not measured", note=note),
                Figure("P1", "cold start → first attract frame", median(frame), "s", "—", None), ready_figure]
    anchor, old_anchor = median(fair), median(old)
    ratio = value / anchor
    figures.append(Figure("P1", "first touch served: start → 开始 tapped → home drawn", value, "s", target,
                          value <= TARGET_S and ratio <= TARGET_RATIO,
                          anchor="fair: Chromium, font installed, warm profile, start → click handled and painted, s",
                          anchor_value=anchor, ratio=ratio,
                          note=note + f"; Chromium median of {len(fair)} (min {min(fair):.3f} s), clicked over "
                                      "the DevTools pipe as soon as the button is there"))
    figures.append(Figure("P1", "first touch served, against the old anchor", value, "s", "informational", None,
                          anchor="old: Chromium cold profile, @font-face files, screenshot, to exit, s",
                          anchor_value=old_anchor, ratio=value / old_anchor))
    figures.append(Figure("P1", "cold start → first attract frame (headless)", median(frame), "s", "informational",
                          None, anchor="fair: Chromium, font installed, warm profile: button there, s",
                          anchor_value=median(fair_ready), ratio=median(frame) / median(fair_ready),
                          note="what P1 measured before issue 25: drawn before the rest of the app is imported "
                               "(screens/boot.py); not yet interactive"))
    figures.append(Figure("P1", "cold start → first attract frame, against the old anchor", median(frame), "s",
                          "informational", None,
                          anchor="old: Chromium cold profile, @font-face files, screenshot, to exit, s",
                          anchor_value=old_anchor, ratio=median(frame) / old_anchor))
    figures.append(ready_figure)
    return figures
