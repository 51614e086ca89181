"""Assisted mode in the running app (platform simulator → gateway → app): a staff pass held up to the
simulated QR camera is decoded from camera frames and checked by the gateway; a pass of a technician is
refused; while the staff member is signed in the maintenance gesture opens nothing, and after
结束代办 it does again."""

from __future__ import annotations

import time

import pygame
import requests

from kiosk.qrcodes import staff_pass_payload
from screens.app import KioskApp


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def step_until(app: KioskApp, predicate, timeout_s: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    app.step()
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached; screen {app.view().screen}"
        app.step()
        time.sleep(0.01)


def touch_at(app: KioskApp, pos: tuple[int, int], hold_s: float = 0.0, clock: Clock | None = None) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    app.step()
    if hold_s and clock is not None:
        clock.offset += hold_s
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    app.step()


def tap(app: KioskApp, target: str) -> None:
    step_until(app, lambda: app.ready_for_tap() and any(b.target == target for b in app.renderer.buttons),
               what=f"{target!r} on screen")
    touch_at(app, app.renderer.target_centre(target))


def gesture(app: KioskApp, clock: Clock) -> None:
    """Hold the top-left corner 3 s, then tap the top-right corner (maintenance mode's way in)."""
    touch_at(app, (10, 10), hold_s=3.2, clock=clock)
    touch_at(app, (app.renderer.canvas.width - 10, 10))


def test_a_scanned_staff_pass_signs_in_and_keeps_maintenance_shut(kiosk_stack):
    clock = Clock()
    stack = kiosk_stack(clock=clock)
    app = stack.app
    step_until(app, lambda: app.flow.screen.value == "attract" and app.terminal.started, what="attract")
    created = requests.post(stack.url + "/api/v1/tokens", headers=stack.auth,
                            json={"role": "helper", "label": "0427"}, timeout=10)
    assert created.status_code == 201, created.text
    phone = app.terminal.hardware.cameras["qr_camera"].app
    # A technician's token is no staff pass: refused, with the reason on screen.
    phone.hold_up(staff_pass_payload(stack.auth["Authorization"].removeprefix("Bearer ")))
    tap(app, "staff:signin")
    step_until(app, lambda: getattr(app.view(), "staff_problem", "") == "staff_pass_refused", what="refused")
    assert app.flow.staff is None
    phone.hold_up(staff_pass_payload(created.json()["token"]))
    tap(app, "rescan")
    step_until(app, lambda: app.view().staff_no == "0427", what="the staff member signed in")
    assert app.view().screen == "home"
    gesture(app, clock)
    for _ in range(5):
        app.step()
    assert app.view().screen == "home" and app.flow.staff is not None  # no PIN pad for a staff session
    tap(app, "staff:end")
    step_until(app, lambda: app.view().staff_no == "" and app.view().screen == "attract", what="signed out")
    gesture(app, clock)
    step_until(app, lambda: app.view().screen == "maintenance", what="maintenance after the staff session")
