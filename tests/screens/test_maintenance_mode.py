"""Maintenance mode on the touchscreen, driven by synthetic touches through the real app (issue 10).

A real KioskApp with simulated devices, the gateway and the platform simulator on 127.0.0.1. The
app's clock runs on real time plus an offset the test can push forward, so a 3-second hold and a
5-minute lock-out take no real waiting. Screenshots of each page go to the test's tmp folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pygame
import pytest
import requests

from devices.printer.simulator import VirtualPrinter
from screens.app import KioskApp

SAMPLE_PIN = "246810"


class Clock:
    """Monotonic time plus a jump the test controls."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def kiosk(kiosk_stack):
    clock = Clock()
    stack = kiosk_stack(clock=clock)
    return stack.app, clock, stack.url, stack.auth


def step_until(app: KioskApp, predicate, timeout_s: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    app.step()
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached; view: {_summary(app)}"
        app.step()
        time.sleep(0.01)


def _summary(app: KioskApp) -> dict:
    keys = ("screen", "page", "message", "busy", "out_of_service")
    return {k: v for k, v in vars(app.view()).items() if k in keys}


def touch_at(app: KioskApp, pos: tuple[int, int], hold_s: float = 0.0, clock: Clock | None = None) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    app.step()
    if hold_s and clock is not None:
        clock.offset += hold_s
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    app.step()


def tap(app: KioskApp, target: str) -> None:
    step_until(app, app.ready_for_tap, what="tap ready")
    touch_at(app, app.renderer.target_centre(target))


def page(app: KioskApp) -> str:
    view = app.view()
    return view.page if view.screen == "maintenance" else view.screen


def gesture(app: KioskApp, clock: Clock) -> None:
    """Hold the top-left corner 3 s, then tap the top-right corner."""
    width = app.renderer.canvas.width
    touch_at(app, (10, 10), hold_s=3.2, clock=clock)
    touch_at(app, (width - 10, 10))


def enter_pin(app: KioskApp, pin: str) -> None:
    for digit in pin:
        tap(app, f"pin:{digit}")
    tap(app, "pin:ok")
    step_until(app, lambda: not app.view().busy, what="PIN checked")


def wait_done(app: KioskApp) -> dict:
    step_until(app, lambda: not app.view().busy and app.view().message, what="work finished")
    return app.view()


def audit_actions(url: str, auth: dict) -> list[str]:
    answer = requests.get(f"{url}/api/v1/events?source=audit&limit=200", headers=auth, timeout=5)
    answer.raise_for_status()
    return [e["action"] for e in answer.json()["events"] if e.get("actor", {}).get("kind") == "kiosk"]


def test_technician_maintains_the_kiosk_by_touch_alone(kiosk, tmp_path: Path):
    app, clock, url, auth = kiosk
    shots = tmp_path / "shots"
    shots.mkdir()
    step_until(app, lambda: app.flow.screen.value == "attract")

    # A hold that is too short, or a top-right tap without the hold, is an ordinary touch.
    touch_at(app, (app.renderer.canvas.width - 10, 10))
    assert app.view().screen != "maintenance"
    tap(app, "start")
    step_until(app, lambda: app.flow.screen.value == "home")
    gesture(app, clock)
    assert page(app) == "pin", "the gesture opens the PIN pad from the home screen too"
    assert app.flow.screen.value == "attract" and app.flow.session is None  # the visit was ended and wiped
    app.display.save(str(shots / "01-pin.png"))

    for attempt in range(1, 6):
        enter_pin(app, "135790")
        if attempt < 5:
            assert f"还可再试 {5 - attempt} 次" in app.view().message
            assert app.view().pin_length == 0
    assert page(app) == "locked"
    assert app.view().locked_left_s > 200
    app.display.save(str(shots / "02-locked.png"))
    step_until(app, lambda: audit_actions(url, auth).count("maintenance_login_failed") == 5
               and "maintenance_locked" in audit_actions(url, auth),
               what="the lock-out in the gateway's audit")

    tap(app, "m:exit")
    assert app.view().screen == "attract"
    gesture(app, clock)
    assert page(app) == "locked", "leaving and coming back does not lift the lock"
    clock.offset += app.settings.maintenance.lockout_s  # longer than idle_exit_s: the idle page closes too
    step_until(app, lambda: app.view().screen == "attract", what="idle exit from the locked page")
    gesture(app, clock)
    assert page(app) == "pin", "the lock-out is over"

    enter_pin(app, SAMPLE_PIN)
    assert page(app) == "devices"
    step_until(app, lambda: {r["name"]: r["state"] for r in app.view().rows}.get("id_reader") == "online"
               and {r["name"]: r["state"] for r in app.view().rows}.get("printer") == "online",
               what="reader and printer online in the table")
    app.display.save(str(shots / "03-devices.png"))

    printer = app.terminal.device_control.hardware.printer_simulator
    jobs_before = len(printer.jobs())
    tap(app, "test:printer:test_print")
    assert wait_done(app).message_ok, app.view().message
    printer.wait_for_job(timeout=10, count=jobs_before + 1)

    tap(app, "camera:preview")
    wait_done(app)
    assert app.view().preview is not None
    app.display.save(str(shots / "04-camera-preview.png"))

    tap(app, "page:ports")
    assert app.view().preview is None  # the camera frame is gone with the page
    tap(app, "ports:scan")
    wait_done(app)
    assert app.view().ports is not None
    app.display.save(str(shots / "05-ports.png"))

    tap(app, "page:paper")
    tap(app, "paper:replaced")
    assert wait_done(app).message
    app.display.save(str(shots / "06-paper.png"))

    tap(app, "page:service")
    tap(app, "svc:msg:1")
    tap(app, "svc:off")
    view = wait_done(app)
    assert view.message_ok, view.message
    chosen = view.service_messages[1]
    step_until(app, lambda: app.view().out_of_service == chosen,
               what="out of service shown on the page")
    app.display.save(str(shots / "07-service.png"))
    step_until(app, lambda: requests.get(f"{url}/api/v1/status", headers=auth, timeout=5).json()["screen"]
               == "maintenance", what="operators see the maintenance screen")

    tap(app, "m:exit")
    assert app.view().screen == "attract" and app.view().out_of_service == chosen
    assert app.renderer.buttons == []  # residents see the message and nothing to touch
    app.display.save(str(shots / "08-out-of-service.png"))

    gesture(app, clock)  # the technician can still get in with no buttons on screen
    enter_pin(app, SAMPLE_PIN)
    tap(app, "page:service")
    tap(app, "svc:on")
    assert wait_done(app).message_ok
    tap(app, "m:exit")
    step_until(app, lambda: not app.view().out_of_service and app.renderer.buttons,
               what="back in service with buttons")
    assert requests.get(f"{url}/api/v1/service", headers=auth, timeout=5).json()["in_service"] is True

    def all_recorded() -> bool:
        actions = audit_actions(url, auth)
        return {"maintenance_login", "maintenance_exit", "device_test", "paper_replaced",
                "service_switch"} <= set(actions) and actions.count("service_switch") == 2

    step_until(app, all_recorded, what="every step in the audit")
    print("screenshots:", sorted(str(p) for p in shots.iterdir()))


def test_gesture_is_ignored_during_a_session_with_an_id_card(kiosk):
    app, clock, _url, _auth = kiosk
    step_until(app, lambda: app.flow.screen.value == "attract")
    app.insert_sample_card()
    step_until(app, lambda: app.flow.session is not None and app.flow.session.identity is not None,
               what="card read")
    gesture(app, clock)
    assert app.view().screen != "maintenance"
    assert app.flow.session is not None and app.flow.session.identity is not None


def test_idle_maintenance_goes_back_to_the_residents_screen(kiosk):
    app, clock, url, auth = kiosk
    step_until(app, lambda: app.flow.screen.value == "attract")
    gesture(app, clock)
    enter_pin(app, SAMPLE_PIN)
    assert page(app) == "devices"
    clock.offset += app.settings.maintenance.idle_exit_s + 1
    step_until(app, lambda: app.view().screen == "attract", what="idle exit")
    step_until(app, lambda: "maintenance_exit" in audit_actions(url, auth), what="idle exit audited")


def test_assigning_real_hardware_with_the_sample_pin_is_refused_at_once(kiosk, tmp_path: Path):
    """The sample PIN rule applies when the technician taps "assign", not at the next boot."""
    app, clock, url, auth = kiosk
    step_until(app, lambda: app.flow.screen.value == "attract")
    gesture(app, clock)
    enter_pin(app, SAMPLE_PIN)
    tap(app, "page:ports")
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        # What the port wizard holds after a probe found a receipt printer on this port.
        app.maintenance.controller.probe_result = {"index": 0, "port": port, "found": "printer", "baud": 9600,
                                                   "detail": "", "endpoint": port}
        tap(app, "assign:printer:0")
        view = wait_done(app)
    finally:
        os.close(master)
        os.close(slave)
    assert not view.message_ok
    assert "sample" in view.message and "kiosk maintenance pin-hash" in view.message
    assert not (app.settings.data_path / "kiosk.local.toml").exists()
    assert app.terminal.hardware.printer.endpoint.uri == "sim://printer"
    step_until(app, lambda: "settings_changed" in audit_actions(url, auth), what="the refusal in the audit")


def test_a_terminal_with_real_hardware_and_the_sample_pin_warns_in_maintenance_only(kiosk_stack, tmp_path: Path):
    clock = Clock()
    with VirtualPrinter() as real:
        def real_printer(settings):
            return settings.model_copy(update={"devices": settings.devices.model_copy(update={"printer": real.uri})})

        stack = kiosk_stack(clock=clock, adjust=real_printer)
        app = stack.app
        step_until(app, lambda: app.flow.screen.value == "attract")
        assert "warnings" not in vars(app.view()) or not app.view().warnings  # residents see nothing
        gesture(app, clock)
        enter_pin(app, SAMPLE_PIN)
        step_until(app, lambda: page(app) == "devices" and app.view().warnings, what="the warning on the devices page")
        assert "kiosk maintenance pin-hash" in app.view().warnings[0]
        app.display.save(str(tmp_path / "devices-warning.png"))
