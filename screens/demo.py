"""``kiosk demo``: one scripted resident journey, headless, through the real flow, simulators and
gateway, saving each screen shown as ``NN-<screen>.png``, the receipt as ``receipt.png`` and a
``summary.json``.

The journey: a resident lays an ID card on the reader at the attract screen, picks
社保参保缴费证明打印, confirms, takes the printed certificate, rates the service 非常满意, and
the kiosk forgets them.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pygame

from kiosk.settings import Settings
from local_api.client import GatewayClient
from local_api.server import start_gateway, start_platform_sim
from screens.app import KioskApp

DEMO_ITEM = "rs-sbjfzm"


class JourneyError(RuntimeError):
    """The scripted journey did not reach a screen it expected."""


class ScriptedResident:
    """Drives a :class:`KioskApp` the way a person would: touches at widget positions."""

    def __init__(self, app: KioskApp) -> None:
        self.app = app
        self.touches = 0

    def wait_for(self, screen: str, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.app.flow.screen.value != screen:
            if time.monotonic() > deadline:
                raise JourneyError(f"expected the {screen!r} screen, still on {self.app.flow.screen.value!r}")
            self.app.step()
            time.sleep(0.01)

    def touch(self, target: str) -> None:
        pos = self.app.renderer.target_centre(target)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
        self.touches += 1
        self.app.step()


def demo_settings(settings: Settings, data_dir: str, platform_url: str) -> Settings:
    """The given settings with simulators, a throw-away data folder and the demo's platform."""
    return settings.model_copy(update={
        "devices": settings.devices.model_copy(update={"id_reader": "sim://id-reader", "printer": "sim://printer"}),
        "gateway": settings.gateway.model_copy(update={"port": 0, "data_dir": data_dir}),
        "platform": settings.platform.model_copy(update={"url": platform_url}),
    })


def run_demo(settings: Settings, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9]-*.png"):
        old.unlink()
    shots: list[str] = []

    def save_frame(screen: str, app: KioskApp) -> None:
        name = f"{len(shots) + 1:02d}-{screen}.png"
        app.display.save(str(out / name))
        shots.append(name)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as data_dir:
        platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
        try:
            s = demo_settings(settings, data_dir, platform.url)
            gateway = start_gateway(s)
            try:
                app = KioskApp(s, gateway_url=gateway.url, headless=True, on_frame=save_frame)
                try:
                    resident = ScriptedResident(app)
                    resident.wait_for("attract")
                    app.insert_sample_card()
                    resident.wait_for("home")
                    resident.touch(f"item:{DEMO_ITEM}")
                    resident.wait_for("confirm")
                    resident.touch("confirm")
                    resident.wait_for("done")
                    printed = bool(app.flow.view().get("printed"))
                    receipt_no = app.flow.view().get("receipt_no", "")
                    resident.touch("rate:1")
                    resident.wait_for("thanks")
                    duration = time.monotonic() - started
                    wiped = app.flow.session is None
                    sim = app.hardware.printer_simulator
                    if sim is not None and sim.jobs():
                        (out / "receipt.png").write_bytes(sim.render_png(None))
                finally:
                    app.close()
                delivered = GatewayClient(gateway.url).wait_delivered(receipt_no, timeout_s=15)
            finally:
                gateway.close()
            held = platform_holds(platform.url, receipt_no)
        finally:
            platform.close()

    summary = {
        "screens": shots,
        "touches": resident.touches,
        "duration_s": round(duration, 2),
        "receipt_no": receipt_no,
        "printed": printed,
        "delivered": delivered.get("state") == "delivered",
        "platform_holds_receipt": held,
        "session_wiped": wiped,
        "receipt_png": "receipt.png" if (out / "receipt.png").exists() else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def platform_holds(platform_url: str, receipt_no: str) -> bool:
    """Ask the simulator's admin door whether it received this receipt number's application."""
    import requests

    listing = requests.get(f"{platform_url}/admin/applications", timeout=5).json()
    keys = listing.get("applications", listing) if isinstance(listing, dict) else listing
    return any(receipt_no in json.dumps(entry, ensure_ascii=False) for entry in keys)
