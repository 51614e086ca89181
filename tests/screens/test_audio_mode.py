"""A blind resident's journeys end to end: keys only, judged by what was spoken (issue 23).

A real KioskApp (SDL's dummy drivers) with its device simulators, the gateway and the platform simulator
on 127.0.0.1. The resident presses keys — pygame KEYDOWN events posted into the app, as a USB HID keypad
sends them — and listens: every assertion is on the announcements the speech layer made
(``Speaker.transcript``), never on the screen. The journeys are the ones ``kiosk demo --journey audio``
plays (screens/demo_journeys.py); the ID card is laid on the simulated reader, as a resident lays it.
"""

from __future__ import annotations

import os
import time

import pygame
import pytest

from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.settings import load_settings
from kiosk.terminal.headphones import EV_SW, EVENT
from local_api.server import start_gateway, start_platform_sim
from screens.app import KioskApp
from screens.demo import ScriptedResident, demo_settings
from screens.demo_journeys import AUDIO_APPLY, DEMO_ITEM, audio_apply, audio_print, press_until
from screens.i18n import messages


@pytest.fixture
def app(tmp_path):
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    settings = load_settings(environ={})
    platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
    s = demo_settings(settings, str(tmp_path / "data"), platform.url)
    gateway = start_gateway(s)
    kiosk = KioskApp(s, gateway_url=gateway.url, headless=True)
    kiosk.speaker.transcript = []
    yield kiosk
    kiosk.close()
    gateway.close()
    platform.close()


def said(app) -> list[str]:
    return [s.text for s in app.speaker.transcript]


def t(key: str, language: str = "zh_CN", **values: object) -> str:
    """A text as announcements carry it (a sentence's full stop is the announcement's own)."""
    return messages().text(language, key, **values).rstrip("。")


def index_of(lines: list[str], *parts: str, after: int = -1) -> int:
    """The first announcement after ``after`` holding every one of ``parts``."""
    for i, line in enumerate(lines):
        if i > after and all(p in line for p in parts):
            return i
    raise AssertionError(f"no announcement after #{after} with {parts}; heard: {lines[after + 1:after + 12]}")


def test_print_item_by_keys_alone(app):
    """社保参保缴费证明打印 from the attract screen: help key, the item, the card, consent by Enter, print, rate."""
    r = ScriptedResident(app)
    seen = audio_print(r)
    lines = said(app)
    item = Catalog.load().get(DEMO_ITEM).name.get("zh_CN")
    # The orientation first: where the keys are, how to repeat; then the attract screen and its first control.
    start = index_of(lines, t("a11y_orientation"), t("a11y_position", index=1, count=8).split("，")[0])
    assert t("button_start") in lines[start]
    home = index_of(lines, t("home_title"), after=start)
    focus = index_of(lines, t("a11y_role_button"), item, after=home)  # role, name and place
    assert "第" in lines[focus] and "共" in lines[focus]
    card = index_of(lines, t("card_title"), t("a11y_card_reader"), after=focus)  # the reader's place
    # The consent read in full, then how to answer it by keys.
    consent = index_of(lines, t("consent_title"), after=card)
    assert t("consent_text") in lines[consent]
    assert lines[consent].endswith(t("a11y_consent_keys"))
    assert t("consent_agree_print") in lines[consent]
    assert "张 " + t("a11y_masked") in lines[consent]  # the masked name is read as hidden
    done = index_of(lines, t("rate_prompt"), after=consent)
    # The receipt number is read digit by digit.
    receipt = seen["receipt_no"]
    assert " ".join(receipt.replace("-", "")[-6:]) in lines[done]
    index_of(lines, t("thanks_title"), after=done)
    assert seen["printed"]


def test_apply_item_with_a_form_by_keys_alone(app):
    """家庭共济绑定: departments → 医保 → the item → face check → a choice, an ID number with X and a
    mobile number typed on the 12-key pad → 下一步 → submit → rate."""
    r = ScriptedResident(app)
    seen = audio_apply(r)
    lines = said(app)
    catalog = Catalog.load()
    item = catalog.get(AUDIO_APPLY)
    form = index_of(lines, t("form_title"), item.name.get("zh_CN"))
    # A field from the card is read as read-only and masked.
    assert t("a11y_read_only") in lines[form] and t("a11y_masked") in lines[form]
    relation = index_of(lines, t("a11y_role_choice"), t("a11y_selected"), after=form)
    member = index_of(lines, t("a11y_role_field"), "家庭成员公民身份号码", t("a11y_typing"), after=relation)
    typed = lines[member + 1:member + 19]
    assert typed == list("11010519491231002") + ["X"]  # each key said back as it was pressed
    # '#' finished it: the field is read again, now filled (hidden).
    index_of(lines, t("a11y_role_field"), "家庭成员公民身份号码", t("a11y_masked"), after=member + 18)
    review = index_of(lines, t("review_title"), after=member)
    assert "1101 " + t("a11y_masked") + " 002X" in lines[review]  # masked numbers read as hidden
    index_of(lines, t("thanks_title"), after=review)
    assert seen["receipt_no"].startswith("HC-")


def test_keys_interrupt_repeat_volume_rate_and_the_spoken_timeout(app):
    """Each key is heard at once; repeat says the last again; volume and speed keys answer; the idle
    warning comes later in audio mode, is spoken, and any key extends it."""
    r = ScriptedResident(app)
    r.wait_for("attract")
    r.press(pygame.K_F1)
    r.press(pygame.K_RETURN)
    r.wait_for("home")
    press_until(r, pygame.K_DOWN, t("browse_all"))
    before = said(app)[-1]
    r.press(pygame.K_F3)  # repeat
    assert said(app)[-1] == before
    volume = app.speaker.volume
    r.press(pygame.K_KP_PLUS)
    assert app.speaker.volume > volume and said(app)[-1] == t("a11y_volume", level=app.speaker.volume // 20)
    rate = app.speaker.rate
    r.press(pygame.K_ASTERISK)
    assert app.speaker.rate < rate and said(app)[-1] == t("a11y_rate", level=app.speaker.rate)
    # Timeouts: three times the usual before the warning, and the warning is spoken.
    f = app.flow
    assert f.audio and f._idle_limit() == f.idle_timeout_s * f.AUDIO_FACTOR
    f.last_input = time.monotonic() - f._idle_limit() - 1
    app.dispatch(flow.Tick())
    assert said(app)[-1].startswith(t("a11y_warning", seconds=0).split("？")[0])
    r.press(pygame.K_DOWN)  # any key
    assert not f.warning and said(app)[-1].rstrip("。") == t("a11y_extended")
    assert f.screen.value == "home"
    r.press(pygame.K_F3)  # and the focus is where it was before the warning
    r.press(pygame.K_UP)
    r.press(pygame.K_DOWN)
    assert t("browse_all") in said(app)[-1]


def test_the_screen_is_blanked_for_privacy_in_audio_mode(app):
    """With [speech] blank_screen (the default) the resident's screen shows only 语音模式使用中."""
    r = ScriptedResident(app)
    r.wait_for("attract")
    app.step()  # the first frame
    before = {app.display.surface.get_at((x, y))[:3] for x in range(0, 1080, 40) for y in range(0, 1920, 40)}
    r.press(pygame.K_F1)
    r.press(pygame.K_RETURN)
    r.wait_for("home")
    after = {app.display.surface.get_at((x, y))[:3] for x in range(0, 1080, 40) for y in range(0, 1920, 40)}
    assert len(before) > 8 and len(after) <= 4  # the background and the one line's anti-aliased ink


def test_headphones_plugged_in_start_audio_mode_and_pulled_out_end_it(tmp_path):
    """``[speech] audio_jack``: the jack's input device (here a FIFO carrying the kernel's input_event
    records) reports SW_HEADPHONE_INSERT; plugging in starts audio mode with its orientation, pulling out
    ends it and the screen shows again."""
    jack = tmp_path / "jack-event"
    os.mkfifo(jack)
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    settings = load_settings(environ={})
    platform = start_platform_sim("127.0.0.1", 0, settings.platform.secret)
    s = demo_settings(settings, str(tmp_path / "data"), platform.url)
    s = s.model_copy(update={"speech": s.speech.model_copy(update={"audio_jack": str(jack)})})
    gateway = start_gateway(s)
    app = KioskApp(s, gateway_url=gateway.url, headless=True)
    writer = os.open(jack, os.O_RDWR)  # keeps the FIFO open, as the kernel keeps the device
    try:
        app.speaker.transcript = []
        r = ScriptedResident(app)
        r.wait_for("attract")
        app.step()
        assert not app.audio.on
        os.write(writer, EVENT.pack(0, 0, EV_SW, 0x02, 1) + EVENT.pack(0, 0, 0, 0, 0))  # plugged (+ EV_SYN)
        app.step()
        assert app.audio.on and app.flow.audio and t("a11y_orientation") in said(app)[-1]
        os.write(writer, EVENT.pack(0, 0, EV_SW, 0x02, 0))  # pulled out
        app.step()
        assert not app.audio.on and not app.flow.audio
    finally:
        os.close(writer)
        app.close()
        gateway.close()
        platform.close()


@pytest.mark.parametrize("language", ["zh_TW", "en"])
def test_the_language_chosen_by_keys_is_the_language_spoken(app, language):
    """The language buttons are in the reading order; choosing one by Enter switches the announcements."""
    r = ScriptedResident(app)
    r.wait_for("attract")
    r.press(pygame.K_F1)
    press_until(r, pygame.K_DOWN, t(f"lang_{language}"))
    r.press(pygame.K_RETURN)
    assert app.speaker.transcript[-1].language == language
    assert t("a11y_selected", language) in said(app)[-1]  # the language button now says it is on
    r.press(pygame.K_UP)
    assert app.speaker.transcript[-1].language == language
    assert t("a11y_role_language", language) in said(app)[-1] or t("a11y_role_button", language) in said(app)[-1]
