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


def test_a_card_that_stops_answering_is_told_to_the_resident_and_the_next_card_is_read(
        pcscd, make_card, tmp_path: Path):
    """A mute card (it stops answering mid-read) gives the resident a banner that says so, in the session's
    language, within the per-command limit the settings give; the next card starts the session."""
    from devices.smartcard.ssc import read_record  # lazy: only this test needs the APDU builder
    from screens.i18n import messages  # lazy: only this test reads the banner's text

    base = load_settings(environ={})
    platform = start_platform_sim("127.0.0.1", 0, base.platform.secret)
    try:
        settings = demo_settings(base, str(tmp_path), platform.url)
        reader_name = pcscd.reader_names()[0]
        settings = settings.model_copy(update={"devices": settings.devices.model_copy(update={
            "ssc_reader": f"pcsc://{reader_name}", "ssc_apdu_timeout_s": 0.5})})
        gateway = start_gateway(settings)
        try:
            app = KioskApp(settings, gateway_url=gateway.url, headless=True)
            try:
                assert app.terminal.hardware.ssc_reader.apdu_timeout_s == 0.5  # the setting, not the default
                mute = make_card(sample_cards()[0])
                mute.mute_on(read_record(0x08))
                mute.insert()
                deadline = time.monotonic() + 20
                while app.view().notice_key != "notice_ssc_card_mute":
                    assert time.monotonic() < deadline, "the mute card was never told to the resident"
                    app.step()
                    time.sleep(0.02)
                assert app.flow.session is None or app.flow.session.identity is None
                assert messages().text("en", "notice_ssc_card_mute") != messages().text("zh_CN", "notice_ssc_card_mute")
                mute.pull()
                time.sleep(1.0)
                make_card(sample_cards()[1], slot=0).insert()
                deadline = time.monotonic() + 20
                while app.flow.screen.value != "home":
                    assert time.monotonic() < deadline, "the next card did not start a session"
                    app.step()
                    time.sleep(0.02)
            finally:
                app.close()
        finally:
            gateway.close()
    finally:
        platform.close()
