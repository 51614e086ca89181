"""AUDIO: audio mode's key → start of announcement (issue 23; target p95 ≤ 150 ms).

A real KioskApp (headless, SDL's dummy drivers) with the gateway and the platform simulator on
127.0.0.1, in audio mode, with the real espeak-ng speaking into ALSA's null device. A key is posted as
a pygame KEYDOWN (as a USB HID keypad sends it) and the loop's next step handles it: the latency is from
posting the key to the synthesiser's process having been started for the announcement
(``Speaker.transcript``'s time, taken after ``Popen`` returned) — the reading order rebuilt, the
announcement composed, the last one killed. Keys: ↓ through the home screen's controls (the common
case: one control read), and Enter / back between home and the departments (a new screen read whole).

The anchor, in the same run: ``Speaker.say`` of the same kind of text alone (the synthesiser's start).

    .venv/bin/python -m bench.run --only AUDIO
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

from bench.common import Figure, median, percentile

TARGET_S = 0.150


def run(quick: bool) -> list[Figure]:
    import pygame

    from kiosk.settings import load_settings
    from kiosk.terminal.speech import Speaker
    from local_api.server import start_gateway, start_platform_sim
    from screens.app import KioskApp
    from screens.demo import demo_settings

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    rounds = 30 if quick else 150
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / ".asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
        null_audio = {"HOME": str(home), "PULSE_SERVER": "unix:/nonexistent"}
        settings = load_settings(environ={})
        platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
        s = demo_settings(settings, str(Path(tmp) / "data"), platform.url)
        gateway = start_gateway(s)
        app = KioskApp(s, gateway_url=gateway.url, headless=True)
        try:
            app.speaker = Speaker(env=null_audio, keep_transcript=True)
            if not app.speaker.enabled:
                return [Figure("AUDIO", "key → start of announcement", float("nan"), "ms", "p95 ≤ 150 ms", None,
                               note=f"not measured: {app.speaker.reason}")]
            app.step()

            def press(key: int) -> float:
                heard = len(app.speaker.transcript or [])
                posted = time.monotonic()
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
                app.step()
                said = (app.speaker.transcript or [])[heard:]
                return said[0].at - posted if said else float("nan")

            press(pygame.K_F1)  # audio mode on
            press(pygame.K_RETURN)  # attract → home
            while app.flow.screen.value != "home":
                app.step()
            moves, screens = [], []
            for i in range(rounds):
                moves.append(press(pygame.K_DOWN if i % 12 else pygame.K_UP))
                if i % 10 == 0:  # a whole new screen, and back
                    app.audio.focus = 0
                    press(pygame.K_1)  # control 1: 按部门
                    screens.append(press(pygame.K_RETURN))
                    screens.append(press(pygame.K_ESCAPE))
            bare = []
            for _ in range(rounds):
                start = time.monotonic()
                app.speaker.say("按钮，按部门，第 1 个，共 14 个", "zh_CN")
                bare.append(app.speaker.transcript[-1].at - start if app.speaker.transcript else float("nan"))
            app.speaker.stop()
        finally:
            app.close()
            gateway.close()
            platform.close()
    moves = [x for x in moves if not math.isnan(x)]
    screens = [x for x in screens if not math.isnan(x)]
    every = moves + screens
    p95 = percentile(every, 95)
    anchor = median(bare)
    return [
        Figure("AUDIO", "key → start of announcement, p95 (↓ and Enter/back between screens)", p95 * 1000, "ms",
               "p95 ≤ 150 ms", p95 <= TARGET_S, anchor="espeak-ng started alone (Speaker.say), median",
               anchor_value=anchor * 1000, ratio=p95 / anchor if anchor else None,
               note=f"{len(every)} keys; ↓ median {median(moves) * 1000:.1f} ms, a new screen median "
                    f"{median(screens) * 1000:.1f} ms, p95 {percentile(screens, 95) * 1000:.1f} ms"),
    ]
