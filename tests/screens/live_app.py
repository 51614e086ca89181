"""A real KioskApp for the screen tests that drive it with pygame events (test_ui_events, test_motion):
its device simulators, the gateway and the platform simulator on 127.0.0.1, under SDL's dummy driver."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pygame

from kiosk.settings import load_settings
from local_api.server import start_gateway, start_platform_sim
from screens.app import KioskApp
from screens.demo import demo_settings


def running_app(data_dir: Path) -> Iterator[KioskApp]:
    """A headless app with its gateway and platform simulator, closed after use (a fixture's body)."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    settings = load_settings(environ={})
    platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
    s = demo_settings(settings, str(data_dir), platform.url)
    gateway = start_gateway(s)
    kiosk = KioskApp(s, gateway_url=gateway.url, headless=True)
    yield kiosk
    kiosk.close()
    gateway.close()
    platform.close()


def settle(app: KioskApp, until: Callable[[], object] = lambda: True, timeout_s: float = 20.0) -> None:
    """Step the app until ``until()`` holds (a resident waiting for the screen to change)."""
    deadline = time.monotonic() + timeout_s
    app.step()
    while not until():
        assert time.monotonic() < deadline, f"still on {app.flow.screen.value}"
        app.step()
        time.sleep(0.01)


def post(kind: int, **fields: object) -> None:
    pygame.event.post(pygame.event.Event(kind, **fields))
