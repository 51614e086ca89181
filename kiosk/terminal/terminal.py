"""One terminal's runtime, wired: the flow, its devices, device control, the effect runner, the
heartbeat and the gateway clients.

The screens (``screens/app.py``) own the display, the loop and the resident's input; everything else
a terminal does is here, with no pygame. Device events arrive on device threads and become typed flow
events (:func:`flow_event`) on one queue; the UI thread takes them with :meth:`Terminal.pending` and
hands each to :meth:`Terminal.handle`, which runs the flow and queues its effects.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from devices.base import DeviceEvent
from kiosk import flow
from kiosk.catalog.bundle import ActiveCatalogWatch, BundleStore, load_serving_catalog
from kiosk.endpoints import parse_endpoint
from kiosk.flow.identity import Identity
from kiosk.settings import Settings
from kiosk.terminal.memory import MemoryTrimmer
from kiosk.terminal.trusted_date import TrustedDate

if TYPE_CHECKING:
    from kiosk.terminal.device_control import DeviceControl
    from kiosk.terminal.effects import EffectRunner
    from kiosk.terminal.hardware import Hardware
    from kiosk.terminal.heartbeat import Heartbeat

log = logging.getLogger(__name__)

SIM_CARD_ON_PAD_S = 2.0  # a simulated card stays on the pad this long, like a resident's hand


def flow_event(event: DeviceEvent) -> flow.Event | None:
    """What a device's event means to the resident's flow; None for what only operators see (state
    changes, print outcomes: those reach the flow through :meth:`Terminal.device_states`)."""
    match (event.device, event.kind, event.payload):
        case ("id_reader", "card_read", Identity() as card):
            return flow.CardRead(card, "id_card")
        case ("ssc_reader", "ssc_read", Identity() as card):
            return flow.CardRead(card, "social_security_card")
        case ("ssc_reader", "card_removed", _):
            # Only the social security card sits in its slot for the whole visit; an ID card is laid
            # on the pad and taken back at once, which ends nothing.
            return flow.CardRemoved("social_security_card")
        case ("ssc_reader", "read_failed", {"notice": str(notice)}):
            # A card pulled mid-read, a mute card, one no issuer's encoding explains: the reader says
            # which, and the resident is told what to do (insert it again, use another way).
            return flow.CardRejected(notice)
        case (_, "card_invalid" | "card_unsupported", _):
            return flow.CardRejected(f"notice_{event.kind}")
    return None


class Terminal:
    """Builds and owns one terminal's runtime; :meth:`close` stops every thread it started."""

    def __init__(self, settings: Settings, *, gateway_url: str,
                 clock: Callable[[], float] = time.monotonic, start: bool = True) -> None:
        """The flow at once; the devices, device control, effect runner and heartbeat on :meth:`start`
        (at once unless ``start`` is False: `kiosk app` serves the attract screen's first touch before
        opening the devices, P1). Effects the flow asks for before then run, in order, on :meth:`start`."""
        self.settings = settings
        self.clock = clock
        self.gateway_url = gateway_url
        self.events: queue.Queue[flow.Event] = queue.Queue()
        k = settings.kiosk
        # The date identity documents are checked against: the platform's, else a synchronised clock's.
        self.trusted_date = TrustedDate()
        # The active signed catalog bundle's catalog (issue 22), else the configured or packaged one.
        version, catalog = load_serving_catalog(settings.data_path, k.catalog)
        self.catalog_watch = ActiveCatalogWatch(BundleStore.for_data_folder(settings.data_path), version,
                                                configured=k.catalog, warm=lambda c: c.warm_up())
        self.catalog_version = version
        self.flow = flow.KioskFlow(catalog, clock, language=k.language,
                                   idle_timeout_s=k.idle_timeout_s, warning_s=k.timeout_warning_s,
                                   today=self.trusted_date.today)
        self.started = False
        self._held: list[flow.Effect] = []  # asked for before start()
        self._sim_card_off_at: float | None = None
        if start:
            self.start()

    def start(self) -> None:
        """Open the devices and start device control, the effect runner and the heartbeat; then run the
        effects held since the flow began. Raises what opening a device raises (nothing is left open)."""
        if self.started:
            return
        # lazy: devices, OpenCV and the gateway client are not needed to serve the first touch (P1)
        from kiosk.terminal.device_control import DeviceControl
        from kiosk.terminal.effects import EffectRunner
        from kiosk.terminal.hardware import Hardware
        from kiosk.terminal.heartbeat import Heartbeat
        from local_api.client import GatewayClient

        settings, gateway_url = self.settings, self.gateway_url
        self.hardware: Hardware = Hardware.open(settings, self.device_event)
        try:
            # Device tests and settings changes (maintenance mode, the gateway's technician door).
            self.device_control: DeviceControl = DeviceControl(settings, self.hardware, self.device_event)
            self.runner: EffectRunner = EffectRunner(settings, GatewayClient.for_settings(settings, gateway_url),
                                                     self.hardware.printer, self.events.put,
                                                     cameras=self.hardware.cameras, device_control=self.device_control)
            # Its own connection: a slow effect must not delay what operators see.
            self.heartbeat: Heartbeat = Heartbeat(GatewayClient.for_settings(settings, gateway_url), self.events.put,
                                                  device_control=self.device_control,
                                                  platform_clock=self.trusted_date.platform_said)
            self.runner.start()
            self.heartbeat.start()
            self.catalog_watch.start()
            self.trimmer = MemoryTrimmer()  # freed pages back to the system after each session (P9)
        except BaseException:
            self.hardware.close()
            raise
        self.started = True
        held, self._held = self._held, []
        for effect in held:
            self._run(effect)

    # -- events in --

    def device_event(self, event: DeviceEvent) -> None:
        """Called on device threads: only queue, never touch the flow from here."""
        meaning = flow_event(event)
        if meaning is not None:
            self.events.put(meaning)

    def pending(self) -> Iterator[flow.Event]:
        """The events queued by devices, the effect runner and the heartbeat since the last call."""
        while True:
            try:
                yield self.events.get_nowait()
            except queue.Empty:
                return

    def handle(self, event: flow.Event) -> list[flow.Effect]:
        """Run ``event`` through the flow and queue its effects; returns them (the screens clear what
        they drew on :class:`flow.SessionWiped`)."""
        effects = self.flow.handle(event)
        for effect in effects:
            if self.started:
                self._run(effect)
            else:
                self._held.append(effect)
        return effects

    def _run(self, effect: flow.Effect) -> None:
        if isinstance(effect, flow.SessionWiped):
            self.heartbeat.count(effect)
            self.trimmer.request()
        self.runner.run(effect)

    def device_states(self) -> flow.DeviceStates:
        """Which devices are usable now, for the flow's item availability."""
        return flow.DeviceStates(self.hardware.available())

    def swap_catalog(self) -> bool:
        """Show a newly activated catalog bundle (loaded and warmed on the watch's thread) once no resident
        is served: only on the attract screen, without a restart. True when it was swapped."""
        if self.flow.screen != flow.Screen.ATTRACT or self.flow.session is not None:
            return False
        ready = self.catalog_watch.take()
        if ready is None:
            return False
        self.catalog_version, self.flow.catalog = ready
        log.warning("catalog %s now shown (%d items)", self.catalog_version, len(ready[1]))
        return True

    # -- simulated devices --

    @property
    def simulated_reader(self) -> bool:
        if not self.started:  # what the reader will be: the settings say (as the boot frame does)
            return parse_endpoint(self.settings.devices.id_reader).is_simulator
        return self.hardware.id_simulator is not None

    @property
    def sample_card_on_pad(self) -> bool:
        """Whether a sample card laid by :meth:`insert_sample_card` is still on the simulated pad."""
        return self._sim_card_off_at is not None

    def insert_sample_card(self, index: int = 0) -> None:
        """Lay a test card on the simulated reader (simulator mode only); it is taken back after
        :data:`SIM_CARD_ON_PAD_S`, on a later :meth:`tick`."""
        if not self.started:
            return
        # lazy: the sample cards are for the simulated reader only
        from devices.id_card.identity import sample_cards

        sim = self.hardware.id_simulator
        if sim is None:
            return
        sim.insert(sample_cards()[index])
        self._sim_card_off_at = self.clock() + SIM_CARD_ON_PAD_S

    def tick(self) -> None:
        """Time passes: a new catalog is swapped in at the attract screen; a sample card leaves the pad."""
        if not self.started:
            return
        self.swap_catalog()
        sim = self.hardware.id_simulator
        if self._sim_card_off_at is not None and self.clock() >= self._sim_card_off_at and sim:
            sim.remove()
            self._sim_card_off_at = None

    # -- operators --

    def report(self, screen: str, screen_png: Callable[[], bytes] | None = None) -> None:
        """Queue a heartbeat with the screen shown and the devices' states (once started)."""
        if not self.started:
            return
        self.heartbeat.beat(screen, self.hardware.statuses(), screen_png)

    def close(self) -> None:
        if not self.started:
            return
        self.trimmer.close()
        self.catalog_watch.stop()
        self.heartbeat.stop()
        self.runner.stop()
        self.hardware.close()
