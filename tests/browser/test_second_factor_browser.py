"""The two-factor console log-in in real headless Chromium (issue 27): a technician token with a TOTP
secret enrolled (``kiosk totp enrol``) asks for the authenticator's code after the token, refuses a
wrong one and keeps the token typed, and logs in with the right one."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip("needs the system Chromium (apt install chromium)", allow_module_level=True)
pytest.importorskip("playwright")

from browser_rig import Rig, tokens
from playwright.sync_api import Page, expect

from kiosk.cli import main
from local_api.web.credentials import totp


def test_token_then_code_logs_a_technician_in(page: Page, rig: Rig, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    tech, _operator = tokens(rig)
    monkeypatch.setenv("KIOSK_GATEWAY__DATA_DIR", str(rig.data_dir))
    assert main(["totp", "enrol", tech.removeprefix("kgw_").split(".")[0], "--no-qr"]) == 0
    found = re.search(r"TOTP secret for token \w+: ([A-Z2-7]+)", capsys.readouterr().out)
    assert found is not None
    secret = base64.b32decode(found.group(1))

    page.goto("/console/technician")
    expect(page.locator("#totp-row")).to_be_hidden()
    page.fill("#token", tech)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#totp-row")).to_be_visible()  # the token was right: now the second factor
    expect(page.locator("#login-error")).to_contain_text("6 位动态码")
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#token")).to_have_value(tech)  # kept for the second step

    wrong = "000000" if totp(secret, time.time()) != "000000" else "111111"
    page.fill("#totp", wrong)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("动态码错误")
    expect(page.locator("#login-error")).to_contain_text("HTTP 401")
    expect(page.locator("#app")).to_be_hidden()

    page.fill("#totp", totp(secret, time.time()))
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#whoami")).to_contain_text("Technician")
    expect(page.locator("#token")).to_have_value("")
    page.reload()  # the session holds; the code is not asked again
    expect(page.locator("#app")).to_be_visible()
