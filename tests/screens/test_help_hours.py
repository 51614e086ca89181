"""Help that tells the truth about the hour, the call-back, and the remote desk on the resident's screen
(issue 21): the real flow and renderer, touches at the centre of what was drawn (tests/screens/resident.py)."""

from __future__ import annotations

import datetime as dt

import pygame
import pytest
from resident import Resident

from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow.views import mirror_view
from screens.i18n import messages
from screens.mirror import Mirror

SATURDAY_NIGHT = dt.datetime(2026, 12, 5, 23, 0)  # after hours: opens again Monday 08:30
WEDNESDAY_MORNING = dt.datetime(2026, 12, 2, 10, 0)
LANGUAGES = ("zh_CN", "zh_TW", "en")
NEXT_OPEN = {"zh_CN": "周一 08:30", "zh_TW": "週一 08:30", "en": "Monday at 08:30"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def at_help(surface: pygame.Surface, catalog: Catalog, when: dt.datetime, language: str, elder: bool) -> Resident:
    r = Resident(surface, catalog)
    r.flow.wall_clock = lambda: when
    r.touch(f"lang:{language}") if f"lang:{language}" in r.targets() else r.event(flow.Tapped(f"lang:{language}"))
    if elder:
        r.event(flow.Tapped("elder"))
    r.event(flow.Tapped("help"))
    assert r.screen == "help"
    return r


def texts(r: Resident) -> str:
    return " ".join(text for text, _, _ in r.renderer.canvas.texts)


@pytest.mark.parametrize("elder", [False, True])
@pytest.mark.parametrize("language", LANGUAGES)
def test_after_hours_help_offers_the_remote_desk_a_call_back_and_the_hotline(surface, catalog, language, elder):
    r = at_help(surface, catalog, SATURDAY_NIGHT, language, elder)
    assert {"help:remote", "help:callback"} <= set(r.targets())
    assert not any(t.startswith("help:elderly") for t in r.targets()), "nobody can come over after hours"
    shown = texts(r)
    assert "12345" in shown and NEXT_OPEN[language] in shown
    assert r.problems == {}


@pytest.mark.parametrize("elder", [False, True])
@pytest.mark.parametrize("language", LANGUAGES)
def test_during_hours_help_sends_staff_and_gives_a_number(surface, catalog, language, elder):
    r = at_help(surface, catalog, WEDNESDAY_MORNING, language, elder)
    assert "help:elderly" in r.targets() and "help:remote" not in r.targets()
    effects = r.flow.handle(flow.Tapped("help:elderly"))
    assert [e.what for e in effects if isinstance(e, flow.RequestHelp)] == ["help"]
    r.event(flow.HelpQueued("HC-1-20261202-000001-0001", "help"))
    assert "HC-1-20261202-000001-0001" in r.renderer.message_text, "the number is spoken with the banner"
    assert r.problems == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_call_back_takes_a_valid_mobile_and_a_time_window(surface, catalog, language):
    r = at_help(surface, catalog, SATURDAY_NIGHT, language, True)
    r.touch("help:callback")
    assert r.screen == "help_callback"
    for digit in "1234567":
        r.touch(f"pk:{digit}")
    r.touch("win:evening")
    r.touch("cb:send")
    assert r.view().callback_problem == "callback_bad_phone" and r.screen == "help_callback"
    r.touch("pk:CLEAR")
    for digit in "13912345678":
        r.touch(f"pk:{digit}")
    assert mirror_view(r.view()).callback_phone != "13912345678", "the mirror masks the number"
    effects = r.flow.handle(flow.Tapped("cb:send"))
    asked = [e for e in effects if isinstance(e, flow.RequestHelp)]
    assert [(e.what, e.phone, e.window) for e in asked] == [("callback", "13912345678", "evening")]
    r.draw()
    assert r.screen == "help"
    assert r.problems == {}


def ring_at(surface: pygame.Surface, x: int, y: int) -> bool:
    """Whether the highlight's ring colour is drawn near design (x, y) (1080-wide surface)."""
    return any(surface.get_at((x + dx, y)).r > 180 and surface.get_at((x + dx, y)).g < 60
               for dx in range(-90, 91, 2) if 0 <= x + dx < surface.get_width())


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_remote_desk_asks_consent_then_points_and_speaks_in_the_residents_language(surface, catalog, language):
    r = at_help(surface, catalog, SATURDAY_NIGHT, language, False)
    effects = r.flow.handle(flow.Tapped("help:remote"))
    assert [e.what for e in effects if isinstance(e, flow.RequestHelp)] == ["remote"]
    r.event(flow.HelpQueued("HC-1-20261205-000001-0007", "remote"))
    assert "HC-1-20261205-000001-0007" in r.renderer.message_text
    r.flow.clock.now += 7  # the banner has faded
    r.event(flow.Tick())
    r.touch("back")
    assert r.view().desk == "waiting" and "HC-1-20261205-000001-0007" in texts(r)
    r.event(flow.DeskUpdate("accepted", staff="0427"))
    assert sorted(r.targets()) == ["desk:consent", "desk:decline"], "consent first: nothing else counts"
    assert "0427" in texts(r)
    replies = r.flow.handle(flow.Tapped("desk:consent"))
    assert [(e.answer, e.request_no) for e in replies if isinstance(e, flow.DeskReply)] == [
        ("consent", "HC-1-20261205-000001-0007")]
    r.event(flow.DeskUpdate("point", x=540, y=1000, seq=1))
    assert ring_at(r.renderer.canvas.surface, 540, 1000)
    mirrored = Mirror(surface.get_size()).frame(r.view())
    assert ring_at(mirrored, 540, 1000), "the desk sees its own highlight in the kiosk's frame"
    r.event(flow.DeskUpdate("message", key="desk_msg_next"))
    expected = messages().text(language, "desk_msg_next")
    assert expected in texts(r) and expected in r.renderer.message_text, "shown and spoken in their language"
    r.flow.clock.now += 5  # the highlight has stopped pulsing
    r.draw()
    assert not ring_at(r.renderer.canvas.surface, 540, 1000)
    assert r.problems == {}
    ended = r.flow.handle(flow.Tapped("desk:end"))
    assert [e.answer for e in ended if isinstance(e, flow.DeskReply)] == ["end"]
    r.draw()
    assert r.view().desk == "" and "desk:end" not in r.targets()


@pytest.mark.parametrize("elder", [False, True])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_report_takes_optional_free_text_on_the_pinyin_keyboard_and_an_optional_phone(
        surface, catalog, language, elder):
    r = at_help(surface, catalog, WEDNESDAY_MORNING, language, elder)
    r.touch("report:cannot_handle")
    assert r.screen == "help_report"
    r.touch("field:text")
    assert r.renderer.keyboard is not None and r.renderer.keyboard.layout == "pinyin"
    r.touch("key:b")
    r.touch("key:u")
    r.touch("key:x")
    r.touch("key:i")
    r.touch("key:n")
    r.touch("key:g")
    r.touch("cand:0")  # 不行: the first candidate
    typed = r.view().focus_text
    assert typed, "the keyboard's text went to the field"
    r.touch("kb:done")
    r.touch("field:phone")
    assert r.renderer.keyboard.layout == "numeric"
    r.type_rest("1391234")
    r.touch("kb:done")
    r.touch("report:send")
    assert r.screen == "help_report" and r.view().fields[1].problem == "callback_bad_phone"
    r.touch("field:phone")
    r.type_rest("13912345678")
    effects = r.flow.handle(flow.Tapped("report:send"))
    sent = [e for e in effects if isinstance(e, flow.RequestHelp)]
    assert [(e.what, e.category, e.text, e.phone) for e in sent] == [("report", "cannot_handle", typed, "13912345678")]
    r.draw()
    assert r.screen == "help"
    assert mirror_view(r.view()).help_no == "", "nothing was queued in this test"
    assert r.problems == {}


def test_a_report_needs_neither_text_nor_phone(surface, catalog):
    r = at_help(surface, catalog, SATURDAY_NIGHT, "zh_CN", False)
    r.touch("report:too_slow")
    effects = r.flow.handle(flow.Tapped("report:send"))
    assert [(e.what, e.category, e.text, e.phone) for e in effects if isinstance(e, flow.RequestHelp)] == [
        ("report", "too_slow", "", "")]
