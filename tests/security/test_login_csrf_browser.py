"""Login CSRF in real headless Chromium (issue 17): a page served from another origin (another port
on 127.0.0.1, so the same site and the same cookie jar) posts a form with the attacker's token to
``/console/session``; the browser must not end up logged in to the attacker's console session.
The console's own log-in form keeps working."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip("needs the system Chromium (apt install chromium)", allow_module_level=True)
pytest.importorskip("playwright")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))

from browser_rig import UI_TIMEOUT_MS, chromium, log_in
from flask import Flask
from playwright.sync_api import expect
from security_rig import Rig, read_first_token

from local_api.server import ServerHandle

ATTACK_PAGE = """<!doctype html><html><body>
<form id="f" method="post" action="{target}/console/session">
<input type="hidden" name="token" value="{token}"></form>
<script>document.getElementById("f").submit();</script>
</body></html>"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


@pytest.fixture
def attacker(rig: Rig):
    """A site on another 127.0.0.1 port whose page auto-submits a log-in with the attacker's token."""
    tech = read_first_token(rig)
    attackers_token = rig.post("/api/v1/tokens", tech, json={"role": "technician", "label": "attacker"}).json()["token"]
    app = Flask("attacker")

    @app.get("/")
    def page() -> Any:
        return ATTACK_PAGE.format(target=rig.url, token=attackers_token)

    server = ServerHandle(app, name="attacker").start()
    yield server.url, tech
    server.close()


@pytest.fixture
def context(browser: Any, rig: Rig):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    yield ctx
    ctx.close()


def _logged_in_role(context: Any, rig: Rig) -> int:
    """What the browser's cookies give on the gateway: the status of ``GET /console/session`` from its own page."""
    page = context.new_page()
    page.goto(rig.url + "/console")
    status = page.evaluate("fetch('/console/session', {credentials: 'same-origin'}).then(r => r.status)")
    page.close()
    return int(status)


def test_a_cross_site_form_cannot_log_the_browser_in(context: Any, rig: Rig, attacker: tuple[str, str]) -> None:
    attack_url, _tech = attacker
    page = context.new_page()
    with page.expect_response(lambda r: r.url.startswith(rig.url + "/console/session")) as posted:
        page.goto(attack_url)
    assert posted.value.status == 403
    assert not [c for c in context.cookies(rig.url) if c["name"] == "kgw_session"]
    assert _logged_in_role(context, rig) == 401


def test_the_consoles_own_log_in_still_works(context: Any, rig: Rig, attacker: tuple[str, str]) -> None:
    _attack_url, tech = attacker
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    log_in(page, rig.url + "/console", tech)
    expect(page.locator("#whoami")).to_contain_text("Technician")
    assert _logged_in_role(context, rig) == 200


def test_the_technician_page_shows_last_use_and_expiry_and_revoking_ends_another_browsers_session(
        browser: Any, context: Any, rig: Rig, attacker: tuple[str, str]) -> None:
    _attack_url, tech = attacker
    page = context.new_page()
    log_in(page, rig.url + "/console/technician", tech)
    page.select_option("#token-role", "operator")
    page.fill("#token-label", "夜班 night shift")
    page.fill("#token-expires", "2099-12-31T23:00")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-result")).to_contain_text("kgw_")
    operator = page.locator("#token-result").inner_text().split(": ", 1)[1].strip()
    operator_id = operator.removeprefix("kgw_").split(".")[0]
    row = page.locator(f'#tokens-body tr[data-token="{operator_id}"]')
    expect(row.locator(".expires")).to_contain_text("2099")
    expect(row.locator(".last-used")).to_contain_text("never")
    expect(page.locator(f'#tokens-body tr[data-token="{tech.removeprefix("kgw_").split(".")[0]}"] .last-used')
           ).not_to_contain_text("never")

    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        night = other.new_page()
        night.set_default_timeout(UI_TIMEOUT_MS)
        log_in(night, rig.url + "/console", operator)
        page.reload()
        expect(row.locator(".last-used")).not_to_contain_text("never")
        row.locator("button").click()
        expect(page.locator("#token-result")).to_contain_text(f"Revoked {operator_id}")
        expect(row).to_have_count(0)
        night.reload()  # the operator's page, still holding its cookie
        expect(night.locator("#login")).to_be_visible()
        expect(night.locator("#app")).to_be_hidden()
        assert _logged_in_role(other, rig) == 401
    finally:
        other.close()
