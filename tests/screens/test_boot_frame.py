"""The first frame (screens/boot.py): the attract screen is on the display before the app is built,
it is the same picture the app then shows, and a touch made during start-up is not lost."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pygame
import pytest

from kiosk.flow.views import View
from kiosk.settings import load_settings
from local_api.server import start_gateway, start_platform_sim
from screens.boot import FIRST_FRAME_ENV, first_frame
from screens.demo import demo_settings


@pytest.fixture
def stack(tmp_path: Path):
    base = load_settings(environ={})
    platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
    settings = demo_settings(base, str(tmp_path), platform.url)
    gateway = start_gateway(settings)
    try:
        yield settings, gateway.url
    finally:
        gateway.close()
        platform.close()


def test_boot_frame_is_the_attract_screen_and_a_touch_during_start_up_counts(stack, monkeypatch):
    settings, url = stack
    read_fd, write_fd = os.pipe()
    monkeypatch.setenv(FIRST_FRAME_ENV, str(write_fd))
    display = first_frame(settings, headless=True, fullscreen=False)
    try:
        assert os.read(read_fd, 64) == b"frame\n"  # the benchmark's signal: the frame is on the display
        boot_picture = pygame.image.tobytes(display.surface, "RGB")
        # The resident taps 开始办理 while the app is still loading: the touch waits in the queue.
        from screens.renderer import Renderer

        probe = Renderer(display.surface)
        probe.render(View(screen="attract", language="zh_CN", elder=False, simulated_reader=True))
        start = probe.target_centre("start")
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=start))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=start))

        from screens.app import KioskApp  # imported only now, as kiosk/cli.py does

        app = KioskApp(settings, gateway_url=url, headless=True, display=display)
        try:
            assert app.display is display
            app.draw_if_changed()
            # No jump: the app's own attract frame is the picture that was already on the display.
            assert pygame.image.tobytes(app.display.surface, "RGB") == boot_picture
            deadline = time.monotonic() + 10
            while app.flow.screen.value == "attract":
                assert time.monotonic() < deadline, "the touch made during start-up was lost"
                app.step()
                time.sleep(0.02)
            assert app.flow.screen.value == "home"
        finally:
            app.close()
    finally:
        os.close(read_fd)
        display.close()
