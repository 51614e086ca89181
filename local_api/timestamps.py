"""How the gateway writes a moment in its answers: ISO 8601 with the terminal's UTC offset.

One formatter for every time the gateway shows (a submission's ``accepted_at``, an event, the
out-of-service switch, the screen picture), so the web, ops and outbox packages agree without
importing each other for it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    """Unix seconds → ISO 8601 with the local UTC offset, to the second (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")
