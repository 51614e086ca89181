"""When staff are on the station's site, for the attract screen (issue 24): a resident who comes at night
sees when someone can help in person; by day, until when they are there.

From ``help.opening_hours`` (kiosk/opening_hours.py), the same hours that decide what help is
(kiosk/flow/help_desk.py). Pure: the caller gives the time (the flow's wall clock; the first frame's now).
"""

from __future__ import annotations

import datetime as _dt

from kiosk.flow.views import AttractView, View, shared
from kiosk.opening_hours import OpeningHours


def attract_view(base: View, hours: OpeningHours, now: _dt.datetime) -> AttractView:
    """``base`` with the staffed hours: until when staff are there now, or when they are next (neither
    for a station that is never staffed)."""
    minute = now.hour * 60 + now.minute
    until = max((end for day, start, end in hours.spans if day == now.weekday() and start <= minute < end),
                default=None)
    if until is not None:
        return AttractView(**shared(base), staffed_until=f"{until // 60:02d}:{until % 60:02d}")
    following = hours.next_opening(now)
    if following is None:
        return AttractView(**shared(base))
    return AttractView(**shared(base), staffed_next_day=following.weekday(),
                       staffed_next_time=following.strftime("%H:%M"), staffed_today=following.date() == now.date())
