"""What one screen adds to the flow: its touches, the answers it waits for, its timers and its view.

Tuxemon's one-state-per-screen: :class:`~kiosk.flow.machine.KioskFlow` looks the current screen up in
its table (``HANDLERS``) and hands the event to that screen's handler. Handlers keep no state of their
own; the journey's state lives in the flow and its :class:`~kiosk.flow.model.Session`, so a handler is
a plain object shared by every flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.flow.model import Effect, Event
from kiosk.flow.views import View

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow


class ScreenHandler:
    """The default screen: ignores everything. Each screen's handler overrides what it answers."""

    def entered(self, flow: KioskFlow) -> list[Effect]:
        """Effects that arriving on the screen starts (the scan screen starts a scan)."""
        return []

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        """A touch the flow-wide buttons (language, help, home …) did not take; None: not this screen's."""
        return None

    def typed(self, flow: KioskFlow, text: str) -> list[Effect]:
        """The on-screen keyboard's text for the focused input."""
        return []

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        """An answer from the outside world (gateway, cameras, printer) while this screen shows."""
        return []

    def ticked(self, flow: KioskFlow) -> list[Effect]:
        """The screen's own deadlines (the flow-wide idle timeout is checked after)."""
        return []

    def view(self, flow: KioskFlow, base: View) -> View:
        """The screen's view: ``base`` (the parts every screen has), or its own view built on it."""
        return base
