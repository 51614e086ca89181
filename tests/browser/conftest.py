"""The browser tests' fixtures: the system Chromium for a test module, a gateway rig and a fresh tab on it.
The helpers they use live in browser_rig.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_rig import UI_TIMEOUT_MS, Rig, chromium


@pytest.fixture(scope="module")
def browser():
    """The system Chromium for one test module (launching it is the slow part)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def rig(tmp_path: Path):
    """A platform simulator and a gateway on 127.0.0.1 (throttled after 3 failed checks of a token id)."""
    r = Rig(tmp_path / "data", KIOSK_GATEWAY__AUTH_MAX_FAILURES="3", KIOSK_GATEWAY__AUTH_LOCKOUT_S="60")
    yield r
    r.close()


@pytest.fixture
def page(browser: Any, rig: Rig):
    """A fresh browser tab (no cookies) on the gateway."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=rig.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()
