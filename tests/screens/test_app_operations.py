"""The kiosk app and the operators' doors, over real HTTP: the out-of-service switch reaches the
screen through the heartbeat, and the console's screen picture is the app's current (masked) frame."""

from __future__ import annotations

import time

import pytest
import requests

from screens.app import KioskApp
from screens.demo import ScriptedResident


@pytest.fixture
def kiosk(kiosk_stack):
    stack = kiosk_stack()
    return stack.app, stack.url, stack.auth


def step_until(app: KioskApp, predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        app.step()
        time.sleep(0.02)


def test_out_of_service_switch_reaches_the_screen_and_blocks_new_sessions(kiosk):
    app, url, auth = kiosk
    resident = ScriptedResident(app)
    resident.wait_for("attract")
    answer = requests.post(f"{url}/api/v1/service", json={"in_service": False, "message": "打印机维修中，请明天再来"},
                           headers=auth, timeout=5)
    assert answer.status_code == 200, answer.text
    step_until(app, lambda: app.view().out_of_service == "打印机维修中，请明天再来")
    assert app.renderer.buttons == []  # nothing to touch
    app.insert_sample_card()
    for _ in range(60):
        app.step()
        time.sleep(0.02)
    assert app.flow.screen.value == "attract" and app.flow.session is None  # nobody new gets in
    requests.post(f"{url}/api/v1/service", json={"in_service": True}, headers=auth, timeout=5)
    step_until(app, lambda: not app.view().out_of_service)
    assert app.renderer.buttons, "back in service: the attract screen offers its buttons again"


def test_console_screen_picture_is_the_apps_current_frame(kiosk):
    app, url, auth = kiosk
    resident = ScriptedResident(app)
    resident.wait_for("attract")

    def picture() -> bytes:
        response = requests.get(f"{url}/api/v1/screen.png", headers=auth, timeout=5)
        return response.content if response.status_code == 200 else b""

    step_until(app, lambda: picture().startswith(b"\x89PNG"))
    assert requests.get(f"{url}/api/v1/screen.png", timeout=5).status_code == 401  # operators only


def test_finished_sessions_are_counted_for_the_fleet_without_personal_data(kiosk):
    app, url, auth = kiosk
    resident = ScriptedResident(app)
    resident.wait_for("attract")
    resident.touch("start")
    resident.wait_for("home")
    resident.touch("exit")  # a resident who walks away
    resident.wait_for("attract")

    def counted() -> bool:
        metrics = requests.get(f"{url}/metrics", headers=auth, timeout=5).text
        return 'kiosk_gateway_sessions_total{item_kind="none",outcome="abandoned"} 1.0' in metrics

    step_until(app, counted)


def test_heartbeats_go_on_while_a_resident_scans_a_code(kiosk):
    """A scan waits up to 30 s for a code; meanwhile operators must still see a live terminal."""
    app, url, auth = kiosk
    resident = ScriptedResident(app)
    resident.wait_for("attract")
    app.terminal.hardware.cameras["qr_camera"].app.hold_up("")  # the resident holds nothing up: the scan keeps looking
    resident.touch("progress")
    resident.wait_for("scan")
    resident.wait_until(lambda: not app.terminal.runner.idle(), "the scan to start")

    def last_beat() -> str:
        return requests.get(f"{url}/api/v1/status", headers=auth, timeout=5).json()["heartbeat"]["last_at"]

    first = last_beat()
    resident.wait_until(lambda: last_beat() != first, "a heartbeat during the scan", timeout_s=15)
    assert not app.terminal.runner.idle() and app.flow.screen.value == "scan"  # the scan was still running
    resident.touch("back")
    resident.wait_until(app.terminal.runner.idle, "the scan to let go", timeout_s=10)
