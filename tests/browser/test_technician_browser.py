"""The technician page and the console's defences in real headless Chromium (issue 10): ports by
stable id, assigning one, a device test through the heartbeat, forged and replayed forms, roles."""

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


def test_technician_page_lists_ports_assigns_one_and_runs_a_device_test(page: Page, rig: Rig,
                                                                        tmp_path: Path) -> None:
    tech, _ = tokens(rig)
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    master, slave = os.openpty()  # a real tty where the reader's USB serial adapter would be
    try:
        link = by_id / "usb-SYNJONES_SAM_Reader_0001-if00-port0"
        link.symlink_to(os.ttyname(slave))
        rig.gateway.app.config[BY_ID_DIR_KEY] = str(by_id)
        beat(rig)
        log_in(page, "/console/technician", tech)
        row = page.locator("#ports-body tr", has_text=link.name)
        expect(row).to_be_visible()
        row.get_by_role("button", name="设为阅读器 Use for ID reader").click()
        expect(page.locator("#settings-result")).to_contain_text("已保存")
        expect(row.locator("td.uses")).to_have_text("id_reader")
        expect(page.locator("#set-id_reader")).to_have_value(str(link))
        handed = beat(rig)["device_settings"]
        assert handed["devices"]["id_reader"] == str(link) and handed["revision"]

        page.fill("#set-id_reader", "none")  # would leave the kiosk without a reader
        page.click("#settings-form button[type=submit]")
        expect(page.locator("#settings-result")).to_contain_text("without an ID card reader")
        assert beat(rig)["device_settings"]["devices"]["id_reader"] == str(link)  # last good settings

        page.locator("#tests-body tr[data-device=printer] button[data-action=test_print]").click()
        expect(page.locator("#test-result")).to_contain_text("queued")
        commands = wait_for(lambda: beat(rig)["commands"], what="the queued test in a heartbeat answer")
        assert commands[0]["device"] == "printer" and commands[0]["action"] == "test_print"
        beat(rig, results=[{"command_id": commands[0]["command_id"], "ok": True, "detail": "测试页已打印"}])
        expect(page.locator("#test-result")).to_contain_text("通过 passed 测试页已打印")
        page.screenshot(path=str(tmp_path / "technician.png"), full_page=True)  # for a person to look at
    finally:
        os.close(master)
        os.close(slave)


def test_forged_and_replayed_forms_are_refused(page: Page, rig: Rig) -> None:
    tech, _ = tokens(rig)
    log_in(page, "/console", tech)
    old_csrf = page.evaluate("fetch('/console/session').then(r => r.json()).then(j => j.csrf_token)")
    form = """([csrf]) => {
        const f = document.createElement('form');
        f.method = 'POST'; f.action = '/api/v1/service';
        for (const [k, v] of Object.entries({in_service: 'false', message: '伪造 forged', csrf_token: csrf})) {
            if (v === null) continue;
            const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.append(i);
        }
        document.body.append(f); f.submit();
    }"""
    page.evaluate(form, [None])  # a form without the CSRF token, sent with the session cookie
    expect(page.locator("body")).to_contain_text("csrf_failed")
    assert beat(rig)["service"]["in_service"] is True

    page.goto("/console")
    page.click("#logout")
    log_in(page, "/console", tech)  # a new session: the old CSRF token belongs to the old one
    page.evaluate(form, [old_csrf])
    expect(page.locator("body")).to_contain_text("csrf_failed")
    assert beat(rig)["service"]["in_service"] is True

    page.goto("/console")
    expect(page.locator("#app")).to_be_visible()
    current = page.evaluate("fetch('/console/session').then(r => r.json()).then(j => j.csrf_token)")
    page.evaluate(form, [current])  # the same form with the session's token goes through
    expect(page.locator("body")).to_contain_text('"in_service":false')
    assert beat(rig)["service"]["in_service"] is False


def test_an_operator_token_cannot_use_technician_actions(page: Page, rig: Rig) -> None:
    _, operator = tokens(rig)
    beat(rig)
    log_in(page, "/console/technician", operator)
    expect(page.locator("#page-error")).to_contain_text("technician role")
    expect(page.locator("#ports-body tr")).to_have_count(0)
    answer = page.evaluate("""async () => {
        const s = await (await fetch('/console/session')).json();
        const r = await fetch('/api/v1/devices/settings', {method: 'PUT', headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': s.csrf_token}, body: JSON.stringify({paper_width_mm: 58})});
        return [r.status, (await r.json()).error];
    }""")
    assert answer == [403, "forbidden"]
    assert beat(rig)["device_settings"]["revision"] is None
