"""The operator console in real headless Chromium (issue 10): log-in and throttling, what an operator
sees (health, devices, outbox, events, audit, the kiosk's screen), the out-of-service switch.
Leaves a screenshot a person can look at in the test's tmp folder; with KIOSK_UPDATE_SCREENSHOTS=1 it
also refreshes docs/screenshots/console.png for the README."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip("needs the system Chromium (apt install chromium)", allow_module_level=True)
pytest.importorskip("playwright")

from browser_rig import Rig, beat, identities, log_in, masked_frame, tokens, wait_for
from playwright.sync_api import Page, expect

PERSON = identities(3)[2]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "console.png"


def test_a_wrong_token_is_refused_and_repeated_failures_are_throttled_but_not_the_right_token(page: Page,
                                                                                             rig: Rig) -> None:
    # Issue 17: repeated failures used to lock the browser's address out, even for the right token;
    # now further wrong tries are throttled (429) and the right token still logs in.
    tech, _ = tokens(rig)
    page.goto("/console")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    for attempt in range(3):
        page.fill("#token", tech[:-4] + "AAAA")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_contain_text("令牌无效")
        expect(page.locator("#login-error")).to_contain_text("HTTP 401")
        page.locator("#login-error").evaluate("e => e.textContent = ''")
    page.fill("#token", tech[:-4] + "BBBB")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("请稍后再试")
    expect(page.locator("#login-error")).to_contain_text("HTTP 429")
    expect(page.locator("#app")).to_be_hidden()
    log_in(page, "/console", tech)
    expect(page.locator("#whoami")).to_contain_text("Technician")
    page.reload()  # the session cookie keeps the page logged in
    expect(page.locator("#app")).to_be_visible()
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()


def test_console_shows_health_devices_outbox_events_and_the_kiosk_screen(page: Page, rig: Rig,
                                                                         tmp_path: Path) -> None:
    _, operator = tokens(rig)
    beat(rig, "user_error")
    receipt = rig.client.submit("application", "rs-sydj", PERSON, {})["receipt_no"]
    rig.client.wait_delivered(receipt, 10)
    rig.faults(status=422)  # the platform refuses the next one: it is parked for an operator
    parked = rig.client.submit("application", "rs-sydj", PERSON, {})["receipt_no"]
    wait_for(lambda: rig.client.submission(parked)["state"] == "rejected", what="a parked submission")
    rig.faults()  # the platform behaves again (the picture should not show an outage that is over)
    wait_for(lambda: rig.get("/api/v1/status", operator).json()["platform"]["breaker"] == "closed",
             what="the platform reachable again")
    frame = masked_frame(PERSON)
    assert rig.post("/api/v1/screen", data=frame, headers={"Content-Type": "image/png"}).status_code == 201
    log_in(page, "/console", operator)
    expect(page.locator("#whoami")).to_contain_text("Operator")
    printer_row = page.locator("#devices-body tr[data-device=printer]")
    expect(printer_row).to_contain_text("需处理")
    expect(printer_row).to_contain_text("缺纸 paper out")
    expect(page.locator("#devices-body tr[data-device=id_reader]")).to_contain_text("正常")
    expect(page.locator("#health-summary")).to_contain_text("需要处理")  # the printer needs paper
    expect(page.locator("#health-list")).to_contain_text("HC-TEST-001")
    expect(page.locator("#outbox-body")).to_contain_text(receipt)
    expect(page.locator("#outbox-body")).to_contain_text(parked)
    expect(page.locator("#outbox-body")).to_contain_text("rejected")
    # Issue 22: the item's name, not its code; ages in words; pages; needs-attention says which rule and why.
    expect(page.locator("#outbox-body")).to_contain_text("失业登记")
    expect(page.locator("#outbox-body")).not_to_contain_text("rs-sydj")
    expect(page.locator("#outbox-body")).to_contain_text("ago")
    expect(page.locator("#outbox-page")).to_contain_text("Page 1 of 1")
    expect(page.locator("#attention-list")).to_contain_text("printer: needs staff (缺纸 paper out)")
    expect(page.locator("#attention-list")).to_contain_text("KioskDeviceNeedsStaff")
    assert page.request.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
    expect(page.locator("#events-body")).to_contain_text("printer: unknown → user_error")
    expect(page.locator("#audit-body")).to_contain_text("login [ok] operator")
    image = page.locator("#screen-img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 360
    page_text = page.locator("body").inner_text()
    assert PERSON["id_number"] not in page_text and PERSON["name"] not in page_text
    # An operator may look but not requeue: that is a technician's action, refused in words.
    page.locator("#outbox-body button").first.click()
    expect(page.locator("#outbox-result")).to_contain_text("technician")
    page.evaluate("document.fonts.ready")
    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":  # refresh the README's picture on request only
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_out_of_service_switch_round_trip_reaches_the_kiosk_app(page: Page, rig: Rig) -> None:
    _, operator = tokens(rig)
    beat(rig)
    log_in(page, "/console", operator)
    expect(page.locator("#service-state")).to_contain_text("服务中")
    page.fill("#service-message", "打印机维修中，请到3号窗口办理")
    expect(page.locator("#service-toggle")).to_have_text("暂停服务 Take out of service")  # one button: what it does now
    page.click("#service-toggle")
    expect(page.locator("#service-state")).to_contain_text("已暂停服务")
    expect(page.locator("#service-toggle")).to_have_text("恢复服务 Put back in service")
    expect(page.locator("#service-result")).to_contain_text("Taken out of service")
    service = beat(rig)["service"]
    assert service["in_service"] is False and service["message"] == "打印机维修中，请到3号窗口办理"
    page.click("#service-toggle")
    expect(page.locator("#service-state")).to_contain_text("服务中 In service")
    assert beat(rig)["service"]["in_service"] is True
    expect(page.locator("#audit-body")).to_contain_text("service_switch [ok] operator")


def test_an_unplugged_camera_shows_in_the_console_by_name_with_the_reason(page: Page, rig: Rig) -> None:
    _, operator = tokens(rig)
    online = {"state": "online", "operations": 9, "errors": 0, "detail": {}, "last_error": None}
    gone = {"name": "camera", "state": "no_device", "operations": 120, "errors": 1, "detail": {"fps": 0.0},
            "last_error": {"message": "camera camera 0 went away (unplugged, or its device node vanished)",
                           "hint": "maintenance", "at": 0}}
    rig.client.heartbeat("attract", {"id_reader": dict(online, name="id_reader"), "printer": dict(online, name="printer"),
                                     "camera": dict(online, name="camera"),
                                     "document_camera": dict(online, name="document_camera")})
    rig.client.heartbeat("attract", {"id_reader": dict(online, name="id_reader"), "printer": dict(online, name="printer"),
                                     "camera": gone, "document_camera": dict(online, name="document_camera")})
    log_in(page, "/console", operator)
    row = page.locator("#devices-body tr[data-device=camera]")
    expect(row).to_contain_text("人像摄像头 Face camera")
    expect(row).to_contain_text("未连接 no device")
    expect(row).to_contain_text("went away")
    expect(page.locator("#devices-body tr[data-device=document_camera]")).to_contain_text("正常")
    expect(page.locator("#health-summary")).to_contain_text("需要处理")
    expect(page.locator("#events-body")).to_contain_text("camera: online → no_device (camera camera 0 went away")


def test_paper_low_shows_at_a_glance_with_the_rule_and_what_to_do(page: Page, rig: Rig) -> None:
    """Issue 22: paper low used to leave the pill 正常 and the printer row green."""
    _, operator = tokens(rig)
    online = {"state": "online", "operations": 9, "errors": 0, "last_error": None}
    rig.client.heartbeat("home", {"id_reader": dict(online, name="id_reader", detail={}),
                                  "printer": dict(online, name="printer", detail={"paper": "low"})})
    log_in(page, "/console", operator)
    expect(page.locator("#health-summary")).to_contain_text("需要处理 Needs attention (1)")
    expect(page.locator("#attention-list")).to_contain_text("printer: paper low")
    expect(page.locator("#attention-list")).to_contain_text("Replace the roll at the next visit")
    expect(page.locator("#attention-list")).to_contain_text("KioskPaperLow")
    expect(page.locator("#health-list")).to_contain_text("纸张将尽 paper low")
    row = page.locator("#devices-body tr[data-device=printer]")
    expect(row).to_contain_text("纸张将尽 paper low")
    assert "paper-low" in (row.get_attribute("class") or "")
