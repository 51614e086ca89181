"""A social security card identifies the resident in the kiosk app, through pyscard, the private
pcscd and the virtual card (the same path a real reader takes)."""

from __future__ import annotations

import time
from pathlib import Path

from devices.smartcard.ssc import sample_cards
from kiosk.privacy import mask_id_number
from kiosk.settings import load_settings
from local_api.server import start_gateway, start_platform_sim
from screens.app import KioskApp
from screens.demo import demo_settings


def test_ssc_card_starts_a_session_with_masked_identity(pcscd, make_card, tmp_path: Path):
    base = load_settings(environ={})
    platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
    try:
        settings = demo_settings(base, str(tmp_path), platform.url)
        reader_name = pcscd.reader_names()[0]
        settings = settings.model_copy(update={
            "devices": settings.devices.model_copy(update={"ssc_reader": f"pcsc://{reader_name}"})})
        gateway = start_gateway(settings)
        try:
            app = KioskApp(settings, gateway_url=gateway.url, headless=True)
            try:
                card = sample_cards()[0]
                number = card.social_security_number
                make_card(card).insert()
                deadline = time.monotonic() + 20
                while app.flow.screen.value != "home":
                    assert time.monotonic() < deadline, "the card did not start a session"
                    app.step()
                    time.sleep(0.02)
                view = app.view()
                assert view.applicant_id == mask_id_number(number)
                assert number not in str(view)
                assert "ssc_reader" in app.terminal.hardware.statuses()
            finally:
                app.close()
        finally:
            gateway.close()
    finally:
        platform.close()
