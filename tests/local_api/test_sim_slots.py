"""The platform simulator's appointment calendar: no slot that has begun, none on a closed day."""

from __future__ import annotations

from datetime import date, datetime

from local_api.sim.data import is_open, parse_slot_id, slots


def test_no_slot_that_has_begun_is_listed():
    listed = slots("rs-ywyy", date(2026, 11, 23), {}, now=datetime(2026, 11, 23, 16, 48))
    first_day = [s for s in listed if s["date"] == "2026-11-23"]
    assert not first_day  # 09:00 … 16:30 have all begun at 16:48
    listed = slots("rs-ywyy", date(2026, 11, 23), {}, now=datetime(2026, 11, 23, 14, 10))
    assert [s["time"] for s in listed if s["date"] == "2026-11-23"] == ["14:30", "15:00", "15:30", "16:00", "16:30"]


def test_closed_days_have_no_slots_and_worked_weekends_do():
    assert not is_open(date(2026, 10, 1)) and not is_open(date(2026, 11, 22))  # National Day, a Sunday
    assert is_open(date(2026, 10, 10))  # a Saturday worked in place of a holiday
    listed = slots("rs-ywyy", date(2026, 9, 30), {}, now=datetime(2026, 9, 29, 8, 0))
    days = sorted({s["date"] for s in listed})
    assert days[0] == "2026-09-30" and not [d for d in days if "2026-10-01" <= d <= "2026-10-07"]
    assert "2026-10-09" in days and "2026-10-10" in days
    assert parse_slot_id("rs-ywyy@2026-10-01T09:00", "rs-ywyy") is None
