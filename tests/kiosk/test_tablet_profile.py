"""The portable terminal's settings profile (``config/tablet.example.toml``, issue 21): it loads with every
device target allowed, and says what a grid worker's tablet is — a USB ID reader, a 58 mm USB printer, a
9:16 panel the 1080 × 1920 design scales onto, an outbox that never expires, a shorter staff session."""

from __future__ import annotations

from pathlib import Path

from kiosk.endpoints import parse_endpoint
from kiosk.settings import load_settings, settings_warnings

PROFILE = Path(__file__).resolve().parents[2] / "config" / "tablet.example.toml"


def test_the_tablet_profile_loads_and_describes_a_portable_terminal():
    settings = load_settings(PROFILE, environ={}, check_devices=True)
    k, d = settings.kiosk, settings.devices
    assert k.screen_width * 1920 == k.screen_height * 1080  # the design scales by width: 9:16 fits whole
    assert d.id_reader.startswith("/dev/serial/by-id/") and parse_endpoint(d.printer).scheme == "usb"
    assert d.paper_width_mm == 58
    assert settings.gateway.expire_after_s == 0 and settings.gateway.host == "127.0.0.1"
    assert settings.assisted.staff_idle_s < load_settings(environ={}).assisted.staff_idle_s
    # What remains is this tablet's own: its devices plugged in and its own maintenance PIN.
    left = {p.key for p in settings_warnings(settings)}
    assert left <= {"maintenance.pin_hash", "devices.id_reader", "devices.camera", "devices.document_camera"}, left
