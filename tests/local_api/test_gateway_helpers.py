"""The gateway's small helpers on their own: the free-space reading and the time format."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local_api.files import FreeSpace
from local_api.timestamps import iso

MB = 1024 * 1024


def test_free_space_is_read_once_a_second_far_from_the_limit_and_every_time_near_it(tmp_path: Path) -> None:
    now = [100.0]
    disk = FreeSpace(tmp_path, near_bytes=0, clock=lambda: now[0])
    first = disk.free(keep=0, incoming=5 * MB)
    # Within the second, far from the limit: the reading is reused, less the write announced since.
    assert disk.free(keep=0) == first - 5 * MB
    # Near the limit (what must stay free is more than the estimate): read afresh, the announced write
    # forgotten (it is on the disk now, in the new reading).
    fresh = disk.free(keep=first)
    assert disk.free(keep=0) == fresh
    with pytest.raises(OSError):
        FreeSpace(tmp_path / "gone").free(keep=0)


@pytest.fixture
def berlin() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_iso_names_the_offset_in_force_on_both_sides_of_a_clock_change(berlin: None) -> None:
    change = 1711846800  # 2024-03-31 01:00 UTC: Berlin goes from +01:00 to +02:00
    assert iso(change - 1) == "2024-03-31T01:59:59+01:00"
    assert iso(change) == "2024-03-31T03:00:00+02:00"
    for ts in range(change - 3600, change + 3600, 450):
        assert iso(ts + 0.5) == datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")
    assert iso(None) is None
