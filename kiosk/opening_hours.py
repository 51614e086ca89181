"""A service station's opening hours (``help.opening_hours``): when staff are on site.

Written as people write them on the door: ``"mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00"``
(days ``mon`` … ``sun``, a range or a comma list of days, then one or more ``HH:MM-HH:MM`` spans).
The help screen (kiosk/flow/help_desk.py) asks :meth:`OpeningHours.is_open` whether to offer the staff
on site or, after hours, the remote desk, a call-back and the hotline, with :meth:`next_opening`.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class OpeningHours:
    """Open spans as (weekday 0=Monday, start minute, end minute) of local time."""

    spans: tuple[tuple[int, int, int], ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """Parse ``text``; ValueError says what is wrong. "" is never open (an unstaffed terminal)."""
        spans: list[tuple[int, int, int]] = []
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            days_text, _, times_text = part.partition(" ")
            days = _days(days_text.strip().lower())
            for span in (s.strip() for s in times_text.split(",")):
                m = _SPAN.match(span)
                if not m:
                    raise ValueError(f"{span!r}: a span is HH:MM-HH:MM (e.g. 08:30-12:00)")
                h1, m1, h2, m2 = (int(x) for x in m.groups())
                start, end = h1 * 60 + m1, h2 * 60 + m2
                if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
                    raise ValueError(f"{span!r}: the span must start before it ends, within one day")
                spans.extend((day, start, end) for day in days)
        return cls(tuple(sorted(spans)), text)

    def is_open(self, now: _dt.datetime) -> bool:
        """Whether staff are on site at ``now`` (local time)."""
        minute = now.hour * 60 + now.minute
        return any(day == now.weekday() and start <= minute < end for day, start, end in self.spans)

    def next_opening(self, now: _dt.datetime) -> _dt.datetime | None:
        """When the station next opens after ``now`` (None when it never does)."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        minute = now.hour * 60 + now.minute
        for ahead in range(8):
            date = midnight + _dt.timedelta(days=ahead)
            for day, start, _end in self.spans:
                if day == date.weekday() and (ahead > 0 or start > minute):
                    return date + _dt.timedelta(minutes=start)
        return None


def _days(text: str) -> list[int]:
    days: list[int] = []
    for piece in text.split(","):
        first, _, last = piece.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{piece!r}: days are {', '.join(DAYS)} (a range like mon-fri)")
        a = DAYS.index(first)
        b = DAYS.index(last) if last else a
        if b < a:
            raise ValueError(f"{piece!r}: a range of days runs forward (mon-fri)")
        days.extend(range(a, b + 1))
    return days
