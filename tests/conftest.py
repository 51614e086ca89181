import os

# Every test runs headless: no window, no sound card.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@dataclasses.dataclass
class KioskStack:
    """A headless kiosk app with simulated devices, its real gateway and the platform simulator."""

    app: Any  # screens.app.KioskApp
    url: str  # the gateway
    auth: dict[str, str]  # the first technician token, as request headers
    settings: Any
    data_dir: Path


@pytest.fixture
def kiosk_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., KioskStack]]:
    """``kiosk_stack(clock=…)`` starts platform simulator → gateway → app (heartbeat every 0.2 s) and
    stops them all after the test."""
    from kiosk.settings import load_settings
    from local_api.server import start_gateway, start_platform_sim
    from screens import app as app_module
    from screens.app import KioskApp
    from screens.demo import demo_settings

    closers: list[Callable[[], Any]] = []

    def start(*, adjust: Callable[[Any], Any] | None = None, **app_options: Any) -> KioskStack:
        """``adjust(settings) -> settings`` changes the settings both the gateway and the app get."""
        monkeypatch.setattr(app_module, "HEARTBEAT_S", 0.2)
        base = load_settings(environ={})
        platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
        closers.append(platform.close)
        data_dir = tmp_path / "data"
        settings = demo_settings(base, str(data_dir), platform.url)
        if adjust is not None:
            settings = adjust(settings)
        gateway = start_gateway(settings)
        closers.append(gateway.close)
        app = KioskApp(settings, gateway_url=gateway.url, headless=True, **app_options)
        closers.append(app.close)
        token = (data_dir / "first-token.txt").read_text().strip()
        return KioskStack(app, gateway.url, {"Authorization": f"Bearer {token}"}, settings, data_dir)

    yield start
    for close in reversed(closers):
        close()


@pytest.fixture(params=["intl", "sm"])
def crypto_suite(request: pytest.FixtureRequest) -> str:
    """``security.suite``, both of them (issue 27): a test that takes this fixture runs once with ``intl``
    (AES-256-GCM, HMAC-SHA256, Ed25519) and once with ``sm`` (SM4-GCM, HMAC-SM3, SM2). Only the focused
    outbox, signing, link and sign-in tests take it, so the default run covers both suites without
    doubling the whole suite's time."""
    return str(request.param)
