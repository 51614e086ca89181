"""The end-to-end suites' shared fixtures: one real kiosk per test module (``kiosk run --headless`` with
its gateway, the platform simulator and simulated devices: tests/e2e/kiosk_rig.py), the packaged catalog,
and a finger on its attract screen with the simulator's faults and the printer reset around each test.
A module that needs another kiosk (other settings, a device of its own) defines its own ``kiosk``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kiosk_rig import Finger, Kiosk

from kiosk.catalog.loading import Catalog


@pytest.fixture(scope="module")
def kiosk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    rig = Kiosk(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])).start()
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def finger(kiosk: Kiosk) -> Iterator[Finger]:
    kiosk.faults()
    kiosk.printer.set_state()
    f = kiosk.finger
    f.wait_for("attract", 60)
    yield f
    kiosk.faults()
    kiosk.printer.set_state()
