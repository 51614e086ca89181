"""Maintenance mode inside the app loop: the corner gesture, routing touches, the heartbeat's name.

``screens/app.py`` holds one :class:`MaintenanceScreen` and calls it from its press/release/touch,
step, view, dispatch and close; everything else about maintenance lives in ``kiosk/terminal/maintenance.py``
(state) and ``screens/maintenance.py`` (drawing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk import flow
from kiosk.terminal.maintenance import CornerGesture, Maintenance, MaintenanceConfig
from local_api.client import GatewayClient
from screens.maintenance import MaintenanceView

if TYPE_CHECKING:
    from screens.app import KioskApp

CORNER_DESIGN_PX = 160  # the header's height: the corners hold no resident's button
GESTURE_SCREENS = ("attract", "home")  # never during a session with personal data on screen


class MaintenanceScreen:
    """The app's side of maintenance mode; owns the :class:`Maintenance` controller (and so its worker)."""

    def __init__(self, app: KioskApp, gateway_url: str) -> None:
        self.app = app
        m = app.settings.maintenance
        scale = app.renderer.canvas.scale
        self.gesture = CornerGesture(app.renderer.canvas.width, round(CORNER_DESIGN_PX * scale))
        # Its own client: GatewayClient is one per thread, and this one is used on the maintenance worker.
        self.gateway = GatewayClient.for_settings(app.settings, gateway_url)
        self.controller = Maintenance(
            MaintenanceConfig(m.pin_hash, m.max_attempts, m.lockout_s, m.idle_exit_s),
            control=lambda: app.terminal.device_control, gateway=self.gateway, clock=app.clock,
            on_service=lambda on, message: app.terminal.events.put(flow.ServiceSwitched(on, message)),
            service_message=lambda: app.flow.out_of_service,
            camera=lambda: app.terminal.device_control.hardware.cameras.get("camera"))

    @property
    def is_open(self) -> bool:
        """Whether the maintenance pages are on screen."""
        return self.controller.is_open

    def press(self, pos: tuple[int, int]) -> None:
        """A finger went down (the gesture times the hold from here)."""
        self.gesture.press(pos, self.app.clock())

    def release(self, pos: tuple[int, int]) -> bool:
        """The finger came up; True when the touch was the gesture's (the residents' screen must not
        see it)."""
        if self.is_open:
            return False
        answer = self.gesture.release(pos, self.app.clock())
        if answer == "open":
            if self._may_open():
                self.open()
            return True
        return answer == "consumed"

    def _may_open(self) -> bool:
        f = self.app.flow
        session = f.session
        no_card = session is None or session.identity is None
        # A staff session (assisted mode) never reaches maintenance: the staff member signs out first.
        return f.screen.value in GESTURE_SCREENS and not f.warning and no_card and f.staff is None

    def open(self) -> None:
        """End any session (the flow's wipe), then show the PIN pad."""
        f = self.app.flow
        if f.session is not None or f.screen.value != "attract":
            self.app.dispatch(flow.Tapped("exit"))
        self.controller.open()
        self.app.draw_if_changed()

    def tap(self, target: str) -> None:
        """A touch on a maintenance page's target."""
        self.controller.tap(target)
        if not self.controller.is_open:
            self.gesture.reset()

    def swallows(self, event: flow.Event) -> bool:
        """While maintenance is open a card read starts no session (a test read's card is nobody's)."""
        if not self.is_open or not isinstance(event, flow.CardRead):
            return False
        wipe = getattr(event.identity, "wipe", None)
        if wipe is not None:
            wipe()
        return True

    def step(self) -> None:
        """Each turn of the loop: finished work, lock-out countdown, idle exit, audit retries."""
        self.controller.poll()

    def screen_name(self) -> str:
        """The heartbeat's screen name: operators see "maintenance" while a technician is in."""
        return "maintenance" if self.is_open else self.app.flow.screen.value

    def view(self) -> MaintenanceView:
        """The maintenance page's view for the renderer."""
        return MaintenanceView(**self.controller.view())

    def close(self) -> None:
        """Stop the worker threads and close the client (the app is closing)."""
        self.controller.close()
        self.gateway.close()
