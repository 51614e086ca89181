"""The first frame: the attract screen drawn before the rest of the app is imported.

A resident walking up to a terminal that has just (re)started sees the invitation to touch within
about half a second (TARGETS.md P1), while the catalog, the devices and the gateway connection are
still being set up behind it. Touches made meanwhile wait in pygame's event queue and are handled
once the app is ready, so nothing a resident does is lost. Only the display, the screens and the
texts are imported here.
"""

from __future__ import annotations

import datetime as _dt
import os

from kiosk.catalog.bundle import load_serving_catalog
from kiosk.catalog.loading import CatalogError
from kiosk.endpoints import parse_endpoint
from kiosk.flow import staffed
from kiosk.flow.views import View
from kiosk.opening_hours import OpeningHours
from kiosk.settings import Settings
from screens import visual
from screens.display import Display
from screens.renderer import Renderer

FIRST_FRAME_ENV = "KIOSK_FIRST_FRAME_FD"  # the benchmark's pipe: one "frame" line when it is on screen


def first_frame(settings: Settings, *, headless: bool | None, fullscreen: bool) -> Display:
    """Open the display and show the attract screen as the app will show it; returns the display."""
    k = settings.kiosk
    display = Display(k.screen_width, k.screen_height, fullscreen=fullscreen, headless=headless)
    view = View(screen="attract", language=k.language, items=featured(settings),
                simulated_reader=parse_endpoint(settings.devices.id_reader).is_simulator)
    # When staff are on site, as the flow says it (its wall clock is this one: the local time now).
    view = staffed.attract_view(view, OpeningHours.parse(settings.help.opening_hours), _dt.datetime.now())
    renderer = Renderer(display.surface)
    visual.configure(renderer.canvas, settings)  # the station and its hours, as the app shows them
    renderer.render(view)
    display.present()
    _report_frame()
    return display


def featured(settings: Settings) -> list[tuple[str, str, str]]:
    """The attract screen's most used items, as the flow will list them (the serving catalog's featured
    items), so the app's first frame is this one; none if the catalog does not load (the app says why)."""
    try:
        _, catalog = load_serving_catalog(settings.data_path, settings.kiosk.catalog)
    except (CatalogError, OSError):  # the app loads it again and reports the problem; the first frame just has no grid
        return []
    lang = settings.kiosk.language
    return [(i.code, i.name.get(lang), catalog.departments[i.department_code].name.get(lang)
             if i.department_code in catalog.departments else i.department) for i in catalog.featured(8)]


def _report_frame() -> None:
    fd = os.environ.pop(FIRST_FRAME_ENV, None)
    if fd:
        try:
            os.write(int(fd), b"frame\n")
            os.close(int(fd))
        except OSError:
            pass  # the benchmark went away; the kiosk carries on
