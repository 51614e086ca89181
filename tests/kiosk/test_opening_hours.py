"""The station's opening hours (issue 21; kiosk/opening_hours.py, ``help.opening_hours``)."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.opening_hours import OpeningHours
from kiosk.settings import SettingsError, load_settings

HOURS = OpeningHours.parse("mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00")


@pytest.mark.parametrize(("when", "is_open", "opens"), [
    (dt.datetime(2026, 12, 2, 10, 0), True, dt.datetime(2026, 12, 2, 14, 0)),  # Wednesday morning
    (dt.datetime(2026, 12, 2, 12, 30), False, dt.datetime(2026, 12, 2, 14, 0)),  # lunch
    (dt.datetime(2026, 12, 2, 17, 30), False, dt.datetime(2026, 12, 3, 8, 30)),  # closing time itself
    (dt.datetime(2026, 12, 5, 23, 0), False, dt.datetime(2026, 12, 7, 8, 30)),  # Saturday night → Monday
    (dt.datetime(2026, 12, 6, 8, 0), False, dt.datetime(2026, 12, 7, 8, 30)),  # Sunday
])
def test_open_now_and_the_next_opening(when, is_open, opens):
    assert HOURS.is_open(when) is is_open
    assert HOURS.next_opening(when) == opens


def test_an_unstaffed_terminal_is_never_open():
    never = OpeningHours.parse("")
    assert not never.is_open(dt.datetime(2026, 12, 2, 10, 0)) and never.next_opening(dt.datetime(2026, 12, 2)) is None


@pytest.mark.parametrize("text", ["mon 9-12", "funday 08:00-12:00", "fri-mon 08:00-12:00", "mon 12:00-08:00",
                                  "mon 08:00-25:00"])
def test_a_wrong_text_says_what_is_wrong(text):
    with pytest.raises(ValueError):
        OpeningHours.parse(text)
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"KIOSK_HELP__OPENING_HOURS": text})
    assert "opening_hours" in str(refused.value)
