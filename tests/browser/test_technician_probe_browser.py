"""The technician page's Probe button in real headless Chromium: the probe is queued for the kiosk app,
handed out with the next heartbeat (with the port), and its outcome shown in the app's words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip("needs the system Chromium (apt install chromium)", allow_module_level=True)
pytest.importorskip("playwright")

from browser_rig import Rig, beat, log_in, tokens, wait_for
from playwright.sync_api import Page, expect

from local_api.web.console import BY_ID_DIR_KEY


def test_probe_button_shows_what_the_app_found_on_the_port(page: Page, rig: Rig, tmp_path: Path) -> None:
    tech, _ = tokens(rig)
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    master, slave = os.openpty()
    try:
        link = by_id / "usb-1a86_USB_Serial-if00-port0"
        link.symlink_to(os.ttyname(slave))
        rig.gateway.app.config[BY_ID_DIR_KEY] = str(by_id)
        beat(rig)
        log_in(page, "/console/technician", tech)
        row = page.locator("#ports-body tr", has_text=link.name)
        row.get_by_role("button", name="探测 Probe").click()
        expect(page.locator("#probe-result")).to_contain_text("probe queued")
        commands = wait_for(lambda: beat(rig)["commands"], what="the queued probe in a heartbeat answer")
        assert commands == [{"command_id": commands[0]["command_id"], "device": "port", "action": "probe",
                             "port": str(link)}]
        words = "票据打印机 / receipt printer, paper OK, at 9600 baud"
        beat(rig, results=[{"command_id": commands[0]["command_id"], "ok": True, "detail": words}])
        expect(page.locator("#probe-result")).to_contain_text(words)
    finally:
        os.close(master)
        os.close(slave)
