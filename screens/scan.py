"""Scanning a QR code: a receipt's progress link (办件进度查询) or the government app's sign-in code.

The scan runs off the UI thread (kiosk/terminal/scanning.py); this screen only shows where to hold the code,
the seconds left, and — when nothing usable was read — why, in plain words, with the other ways
right here: scan again, type the receipt number, or (signing in) the ID or social security card.
"""

from __future__ import annotations

from kiosk.flow.views import ScanView
from screens import guidance, theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: ScanView, t: Text) -> list[Button]:
    c.fill()
    purpose = view.scan_purpose
    c.header(t(f"scan_title_{purpose}"))
    # Laid out top to bottom from what the texts need: elder mode's larger text pushes things down.
    y = 200.0
    if purpose == "signin" and view.item_name:
        y = c.text(view.item_name, y, 42, bold=True, colour=theme.HEADER) + 10
    y = c.text(t(f"scan_hint_{purpose}"), y + 10, 44, bold=True, width=900)
    top = max(y + 40, 420.0)
    # Where the scan window is on this cabinet, and how to hold the code to it (screens/guidance.py).
    y = guidance.draw(c, t, "scanner", top, 380) + 20
    buttons: list[Button] = []
    failed = view.scan_failed
    if view.scanning:
        y = c.text(t("scan_scanning", seconds=view.scan_left_s), y, 40, colour=theme.MUTED)
    elif failed:
        y = c.text(t(failed), y, 38, bold=True, colour=theme.DANGER, width=900)
    if not view.scanning:
        buttons.append(c.button(t("scan_again"), "rescan", (140, y + 20, 800, 130), size=48))
        y += 160
    ways = [("scan_type_receipt", "type_receipt")] if purpose == "progress" else \
        [(f"id_{a}", f"use:{a}") for a in view.scan_alternatives]
    if ways:
        y = max(y + 20, 1400.0) if not failed and not view.scanning else y + 20
        y = c.text(t("scan_other_ways"), y, 34, colour=theme.MUTED)
        for i, (key, target) in enumerate(ways[:2]):
            w = 800 if len(ways) == 1 else 390
            buttons.append(c.button(t(key), target, (140 + i * 410, min(y + 10, 1610), w, 130), primary=False,
                                    size=40))
    return buttons + footer(c, t, back=True)
