"""The kiosk app: pygame events in, flow effects out, frames drawn when the view changes."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import pygame

from devices.base import DeviceEvent
from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.catalog import Catalog
from kiosk.effects import EffectRunner
from kiosk.hardware import Hardware
from kiosk.settings import Settings
from local_api.client import GatewayClient
from screens.display import Display
from screens.renderer import Renderer

log = logging.getLogger(__name__)

TICK_S = 0.25
HEARTBEAT_S = 5.0
SIM_CARD_ON_PAD_S = 2.0  # a simulated card stays on the pad this long, like a resident's hand


class KioskApp:
    """Owns the display, the devices and the flow for one terminal.

    ``on_frame(screen, app)`` is called after each frame that shows a different view (the demo
    saves screenshots there).
    """

    def __init__(self, settings: Settings, *, gateway_url: str, headless: bool | None = None,
                 fullscreen: bool = False, clock: Callable[[], float] = time.monotonic,
                 on_frame: Callable[[str, KioskApp], None] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.on_frame = on_frame
        self.events: queue.Queue[flow.Event] = queue.Queue()
        k = settings.kiosk
        self.flow = flow.KioskFlow(Catalog.load(k.catalog or None), clock, language=k.language,
                                   idle_timeout_s=k.idle_timeout_s, warning_s=k.timeout_warning_s)
        self.display = Display(k.screen_width, k.screen_height, fullscreen=fullscreen, headless=headless)
        self.renderer = Renderer(self.display.surface)
        self.hardware = Hardware.open(settings, self._device_event)
        try:
            self.runner = EffectRunner(settings, GatewayClient(gateway_url), self.hardware.printer,
                                       self.events.put)
            self.runner.start()
        except BaseException:
            self.hardware.close()
            raise
        self.frames = 0
        self._last_view: dict[str, Any] | None = None
        self._next_tick = clock()
        self._next_heartbeat = clock()
        self._sim_card_off_at: float | None = None

    # -- input --

    def _device_event(self, event: DeviceEvent) -> None:
        """Called on device threads: only queue, never touch the flow from here."""
        if event.kind in ("card_read", "ssc_read"):
            self.events.put(flow.CardRead(event.payload))
        elif event.kind in ("card_invalid", "card_unsupported"):
            self.events.put(flow.CardRejected(f"notice_{event.kind}"))

    def dispatch(self, event: flow.Event) -> None:
        for effect in self.flow.handle(event):
            self.runner.run(effect)
        self._draw_if_changed()

    def touch(self, pos: tuple[int, int]) -> None:
        target = self.renderer.hit(pos)
        if target is None:
            return
        if target == "sim:card":
            self.insert_sample_card()
        else:
            self.dispatch(flow.Tapped(target))

    def insert_sample_card(self, index: int = 0) -> None:
        """Lay a test card on the simulated reader (simulator mode only)."""
        sim = self.hardware.id_simulator
        if sim is None:
            return
        sim.insert(sample_cards()[index])
        self._sim_card_off_at = self.clock() + SIM_CARD_ON_PAD_S

    # -- loop --

    def step(self) -> None:
        """One turn of the loop: input, device and service events, time, and drawing."""
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                raise SystemExit(0)
            if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                self.touch(event.pos)
            elif event.type == pygame.FINGERDOWN:
                w, h = self.display.surface.get_size()
                self.touch((int(event.x * w), int(event.y * h)))
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_F2:
                self.insert_sample_card()
        while True:
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                break
            self.dispatch(item)
        now = self.clock()
        if self._sim_card_off_at is not None and now >= self._sim_card_off_at and self.hardware.id_simulator:
            self.hardware.id_simulator.remove()
            self._sim_card_off_at = None
        if now >= self._next_tick:
            self._next_tick = now + TICK_S
            self.dispatch(flow.Tick())
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + HEARTBEAT_S
            self.runner.heartbeat(self.flow.screen.value, self.hardware.statuses())
        self._draw_if_changed()

    def view(self) -> dict[str, Any]:
        view = self.flow.view()
        view["simulated_reader"] = self.hardware.id_simulator is not None
        return view

    def _draw_if_changed(self) -> None:
        view = self.view()
        if view == self._last_view:
            return
        screen_changed = self._last_view is None or view["screen"] != self._last_view["screen"]
        self.renderer.render(view)
        self.display.present()
        self.frames += 1
        self._last_view = view
        if screen_changed and self.on_frame is not None:
            self.on_frame(view["screen"], self)

    def run_forever(self, stop: threading.Event, fps: int = 30) -> None:
        pace = pygame.time.Clock()
        while not stop.is_set():
            self.step()
            pace.tick(fps)

    def close(self) -> None:
        self.runner.stop()
        self.hardware.close()
        self.display.close()
