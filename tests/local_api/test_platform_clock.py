"""The platform's date, for checking identity documents: read from the Date header of the platform's answers,
passed on to the app with each heartbeat answer, and kept by the app against its monotonic clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from gateway_rig import Rig, wait_for

from kiosk.terminal.trusted_date import TrustedDate
from local_api.link.client import clock_offset_of


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def test_the_heartbeat_answer_carries_the_platforms_clock(rig: Rig) -> None:
    # The forwarder's first health probe dates the platform; the next heartbeat answer passes it on.
    def offset() -> float | None:
        value = rig.client.heartbeat("attract", {})["platform"].get("clock_offset_s")
        return None if value is None else float(value)
    heard = wait_for(lambda: offset() is not None, 10, "the platform's clock in the heartbeat answer")
    assert heard
    value = offset()
    assert value is not None and abs(value) < 5  # the simulator runs on this machine's clock


def test_an_http_date_gives_the_offset_from_our_clock() -> None:
    ours = dt.datetime(2026, 12, 4, 8, 0, 0, tzinfo=dt.UTC).timestamp()
    assert clock_offset_of("Fri, 04 Dec 2026 08:00:30 GMT", now=ours) == 30.0
    assert clock_offset_of("Thu, 03 Dec 2026 08:00:00 GMT", now=ours) == -86400.0
    for unreadable in (None, "", "yesterday", "Fri, 04 Dec 2026 08:00:30"):
        assert clock_offset_of(unreadable, now=ours) is None


class Clocks:
    def __init__(self) -> None:
        self.wall = dt.datetime(2026, 12, 4, 12, 0).timestamp()  # local noon
        self.mono = 500.0
        self.synced = False


def trusted(c: Clocks, fresh_s: float = 3600.0) -> TrustedDate:
    return TrustedDate(wall=lambda: c.wall, monotonic=lambda: c.mono, synced=lambda: c.synced, fresh_s=fresh_s)


def test_the_platforms_date_wins_and_survives_a_wall_clock_step() -> None:
    c = Clocks()
    d = trusted(c)
    assert d.today() is None and d.source() == "none"  # unsynced clock, nothing heard: no date
    c.synced = True
    assert d.today() == dt.date(2026, 12, 4) and d.source() == "clock"
    d.platform_said(2 * 86400.0)  # the platform is two days ahead of this machine
    assert d.today() == dt.date(2026, 12, 6) and d.source() == "platform"
    c.wall -= 10 * 365 * 86400  # the wall clock is stepped back ten years: the platform's date holds
    c.mono += 60
    assert d.today() == dt.date(2026, 12, 6)


def test_a_stale_platform_date_falls_back_to_the_clock_only_when_synchronised() -> None:
    c = Clocks()
    d = trusted(c, fresh_s=3600.0)
    d.platform_said(0.0)
    c.mono += 3601
    assert d.today() is None  # the platform was last heard over an hour ago and the clock is not synced
    c.synced = True
    assert d.today() == dt.date(2026, 12, 4) and d.source() == "clock"
