"""The flow tests' shared pieces: a clock the test moves, the packaged catalog, and a kiosk flow on both."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk import flow
from kiosk.catalog.loading import Catalog


class FakeClock:
    """Monotonic time that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kiosk(catalog: Catalog, clock: FakeClock) -> flow.KioskFlow:
    # The wall clock stands on a Saturday morning before the slots the tests list (2026-11-23, a Monday).
    return flow.KioskFlow(catalog, clock, idle_timeout_s=90, warning_s=20,
                          wall_clock=lambda: datetime(2026, 11, 21, 10, 0))
