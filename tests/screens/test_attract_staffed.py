"""The attract screen says when staff are on the station's site (issue 24): by day until when, at night
when they are next — from the same opening hours that decide what help is (help.opening_hours) — in
every language and in elder mode, without pushing the most used items off the screen or clipping.
The real flow and renderer (tests/screens/resident.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pygame
import pytest
from layout_check import layout_problems
from resident import Resident

from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.opening_hours import OpeningHours
from screens.i18n import messages

HOURS = "mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00"
SATURDAY_NIGHT = dt.datetime(2026, 12, 5, 23, 0)
WEDNESDAY_MORNING = dt.datetime(2026, 12, 2, 10, 0)
WEDNESDAY_LUNCH = dt.datetime(2026, 12, 2, 12, 30)
SAID = {  # (when, language) → what the resident reads
    (SATURDAY_NIGHT, "zh_CN"): "工作人员周一 08:30 起在岗",
    (SATURDAY_NIGHT, "zh_TW"): "工作人員週一 08:30 起在崗",
    (SATURDAY_NIGHT, "en"): "Staff on site from Monday at 08:30",
    (WEDNESDAY_MORNING, "zh_CN"): "工作人员在岗至 12:00",
    (WEDNESDAY_MORNING, "zh_TW"): "工作人員在崗至 12:00",
    (WEDNESDAY_MORNING, "en"): "Staff on site until 12:00",
    (WEDNESDAY_LUNCH, "zh_CN"): "工作人员今天 14:00 起在岗",
    (WEDNESDAY_LUNCH, "zh_TW"): "工作人員今天 14:00 起在崗",
    (WEDNESDAY_LUNCH, "en"): "Staff on site today from 14:00",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def at_attract(surface: pygame.Surface, catalog: Catalog, when: dt.datetime, language: str, elder: bool,
               hours: str = HOURS) -> Resident:
    """The attract screen at ``when``; in elder mode as it is drawn after an elder-mode session ended."""
    r = Resident(surface, catalog)
    r.flow.wall_clock = lambda: when
    r.flow.help_hours = OpeningHours.parse(hours)
    r.event(flow.Tapped(f"lang:{language}"))
    assert r.screen == "attract"
    r.renderer.render(replace(r.view(), elder=elder))
    problems = layout_problems(r.renderer.canvas, r.renderer.buttons, r.renderer.message_rect)
    assert problems == [], problems
    return r


def texts(r: Resident) -> list[str]:
    return [text for text, _, _ in r.renderer.canvas.texts]


@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
@pytest.mark.parametrize("language", ["zh_CN", "zh_TW", "en"])
@pytest.mark.parametrize("when", [SATURDAY_NIGHT, WEDNESDAY_MORNING, WEDNESDAY_LUNCH],
                         ids=["night", "staffed", "lunch"])
def test_the_attract_screen_says_when_staff_are_there(surface, catalog, when, language, elder):
    r = at_attract(surface, catalog, when, language, elder)
    assert SAID[when, language] in texts(r)
    # The staffed line takes no one's place: the most used items, help and the ways in are all there.
    targets = r.targets()
    assert any(t.startswith("item:") for t in targets), "a row of the most used items still fits"
    assert {"start", "help", "elder", "progress"} <= set(targets)


def test_a_station_never_staffed_says_nothing_about_staff(surface, catalog):
    r = at_attract(surface, catalog, SATURDAY_NIGHT, "zh_CN", False, hours="")
    assert messages().text("zh_CN", "attract_staffed_now").split("{")[0] not in " ".join(texts(r))
    assert "工作人员" not in " ".join(texts(r)), "no promise of staff at a station that has none"
