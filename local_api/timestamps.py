"""How the gateway writes a moment in its answers: ISO 8601 with the terminal's UTC offset.

One formatter for every time the gateway shows (a submission's ``accepted_at``, an event, the
out-of-service switch, the screen picture), so the web, ops and outbox packages agree without
importing each other for it.

The local offset is looked up once per quarter hour of the moment shown (every time zone changes
its offset on a quarter-hour boundary), not on every call: ``astimezone()`` asks the C library
each time, which was a tenth of the gateway's work per submission (issue 25). The last second
written is kept too: a burst of answers within one second formats it once.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache

_QUARTER_HOUR_S = 900
_last: tuple[int, str] = (-1, "")  # (whole second, its text): replaced whole, so safe across threads


@lru_cache(maxsize=64)
def _zone(quarter: int) -> timezone:
    """The local UTC offset in force during quarter hour ``quarter`` (Unix seconds // 900)."""
    return timezone(timedelta(seconds=time.localtime(quarter * _QUARTER_HOUR_S).tm_gmtoff))


def iso(ts: float | None) -> str | None:
    """Unix seconds → ISO 8601 with the local UTC offset, to the second (None stays None)."""
    global _last
    if ts is None:
        return None
    second = int(ts // 1)
    last = _last
    if last[0] == second:
        return last[1]
    text = datetime.fromtimestamp(second, _zone(second // _QUARTER_HOUR_S)).isoformat(timespec="seconds")
    _last = (second, text)
    return text
