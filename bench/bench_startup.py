"""P1 (cold start): process start → first attract frame drawn, headless, against Chromium headless
rendering an equivalent home page, measured side by side in the same run.

- Kiosk: the real command, ``kiosk app --headless --gateway-url URL`` in a fresh Python process,
  timed from just before ``Popen`` to the ``ready`` line on its ``KIOSK_READY_FD`` pipe
  (kiosk/supervisor.py). ``kiosk app`` reports ready right after its first ``step()``, i.e. once
  the catalog is loaded, the simulated ID reader and printer are open, the effect runner runs and
  the attract frame has been drawn. A gateway and platform simulator serve in this process (they
  are up before the clock starts; ``kiosk run`` starts them first too).
- Anchor: ``chromium --headless … --screenshot`` of a static page with the attract screen's texts
  and buttons, styled with the same Noto Sans SC from pygame_gui's data folder over ``file://``
  (no network), at 1080 × 1920, with a fresh ``--user-data-dir`` each run (a cold profile, as at
  boot), timed from ``Popen`` to process exit (the screenshot is written by then).

Runs alternate kiosk / Chromium so both see the same machine load. Target: median ≤ 1.0 s and
≤ 0.5 × Chromium's median (TARGETS.md P1).

    .venv/bin/python -m bench.run --only P1
"""

from __future__ import annotations

import html
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench.common import Figure, median

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--window-size=1080,1920"]
TARGET_S = 1.0
TARGET_RATIO = 0.5
READY_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


def attract_page(folder: Path) -> Path:
    """Write the static equivalent of the attract screen (same texts, same buttons) and return it."""
    from kiosk.fonts import cjk_font_path

    messages = tomllib.loads((ROOT / "config" / "messages.toml").read_text(encoding="utf-8"))["zh_CN"]
    m = {k: html.escape(str(v)) for k, v in messages.items()}
    regular, bold = cjk_font_path(False).as_uri(), cjk_font_path(True).as_uri()
    buttons = "".join(f'<button class="small">{m[k]}</button>' for k in ("lang_zh_CN", "lang_zh_TW", "lang_en"))
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{m['attract_title']}</title>
<style>
@font-face {{ font-family: Noto; src: url("{regular}"); font-weight: 400; }}
@font-face {{ font-family: Noto; src: url("{bold}"); font-weight: 700; }}
html, body {{ margin: 0; width: 1080px; height: 1920px; font-family: Noto, sans-serif;
  background: linear-gradient(#0b4f9c, #0a3a73); color: #fff; }}
header {{ display: flex; justify-content: space-between; padding: 32px; }}
h1 {{ font-size: 88px; font-weight: 700; text-align: center; margin-top: 520px; }}
p {{ font-size: 44px; text-align: center; }}
button {{ font-family: Noto; font-size: 48px; border-radius: 24px; border: 0; margin: 16px;
  padding: 32px 64px; background: #fff; color: #0b4f9c; }}
button.small {{ font-size: 32px; padding: 16px 28px; }}
.row {{ text-align: center; }}
</style></head><body>
<header><div>{buttons}</div><div><button class="small">{m['elder_on']}</button></div></header>
<h1>{m['attract_title']}</h1><p>{m['attract_slogan']}</p><p>{m['attract_hint']}</p>
<div class="row"><button>{m['button_start']}</button></div>
<div class="row"><button class="small">{m['button_help']}</button>
<button class="small">{m['button_sim_card']}</button></div>
</body></html>"""
    path = folder / "attract.html"
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
    kiosk: list[float] = []
    ready: list[float] = []
    chrome: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        page = attract_page(work)
        stack = Stack(work)
        try:
            proc, _, _ = start_app(stack.url)  # warm the OS page cache once for both, untimed
            stop_app(proc)
            if chromium_available():
                chromium_cold_start(page, work)
            for _ in range(rounds):
                proc, frame_s, ready_s = start_app(stack.url)
                stop_app(proc)
                kiosk.append(frame_s)
                ready.append(ready_s)
                if chromium_available():
                    chrome.append(chromium_cold_start(page, work))
        finally:
            stack.close()
    value = median(kiosk)
    note = (f"kiosk app median of {rounds} (min {min(kiosk):.3f} s, max {max(kiosk):.3f} s), "
            "process start → the attract frame on the display (screens/boot.py); OS cache warm, profiles cold")
    ready_figure = Figure("P1", "cold start → ready (catalog, devices, gateway up; touches served)",
                          median(ready), "s", "—", None,
                          note=f"median of {rounds}; touches made before this wait in the event queue")
    if not chrome:
        return [Figure("P1", "cold start → first attract frame (headless)", value, "s",
                       f"≤ {TARGET_S} s; ≤ {TARGET_RATIO} × Chromium", None,
                       anchor="Chromium headless not installed: anchor not measured", note=note), ready_figure]
    anchor = median(chrome)
    ratio = value / anchor
    return [Figure("P1", "cold start → first attract frame (headless)", value, "s",
                   f"≤ {TARGET_S} s; ≤ {TARGET_RATIO} × Chromium", value <= TARGET_S and ratio <= TARGET_RATIO,
                   anchor="Chromium headless screenshot of the equivalent page, s", anchor_value=anchor,
                   ratio=ratio, note=note + f"; Chromium median of {len(chrome)}"), ready_figure]
