"""What the touchscreen's look takes from the settings (issue 24): the station's name and hours for the
attract screen, where each device sits on the cabinet (the device guidance points there), reduced motion,
and the palette (``[ui] contrast``: standard, or high contrast for a bright hall or residents with low vision)."""

from __future__ import annotations

from kiosk.settings import Settings
from screens import tokens
from screens.widgets import Canvas

DEVICES = ("id_card_reader", "ssc_reader", "scanner", "document_camera", "printer")


def configure(canvas: Canvas, settings: Settings) -> None:
    canvas.place = settings.kiosk.place
    canvas.hours = settings.ui.hours
    canvas.cabinet = {device: getattr(settings.cabinet, device) for device in DEVICES}
    canvas.palette = tokens.CONTRAST[settings.ui.contrast]
