"""Scanning a QR code: a receipt's progress link (办件进度查询) or the government app's sign-in code.

The scan runs off the UI thread (kiosk/terminal/scanning.py); this screen only shows where to hold the code,
the seconds left, and — when nothing usable was read — why, in plain words, with the other ways
right here: scan again, type the receipt number, or (signing in) the ID or social security card.
"""

from __future__ import annotations

from kiosk.flow.views import ScanView
from screens import guidance, icons, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

WAYS_TOP = 1420  # the other ways (type the number, a card) sit low, near the hand, above the footer


def _way_icon(target: str) -> str | None:
    """The icon of another way: the keyboard (type the receipt number) or the card named."""
    if target == "type_receipt":
        return icons.name_for("actions", "keyboard")
    card = target.removeprefix("use:")
    return icons.name_for("actions", "card" if card == "id_card" else card)


def draw(c: Canvas, view: ScanView, t: Text) -> list[Button]:
    c.fill()
    purpose = view.scan_purpose
    c.header(t(f"scan_title_{purpose}"))
    # Laid out top to bottom from what the texts need: elder mode's larger text pushes things down.
    y = 190.0
    if purpose == "signin" and view.item_name:
        y = c.text(view.item_name, y, tokens.TYPE["heading"], bold=True, colour=theme.HEADER) + 10
    # What to do, beside the scan window's mark.
    side = tokens.ICON["inline"]
    line = c.text_height("国", tokens.TYPE["body"], bold=True)
    icons.draw(c.surface, icons.name_for("actions", "scan"), (c.px(60 + side / 2), c.px(y + 10 + line / 2)),
               c.px(side), theme.ICON)
    y = max(c.text(t(f"scan_hint_{purpose}"), y + 10, tokens.TYPE["body"], bold=True, x=60 + side + 16,
                   width=960 - side - 16), y + 10 + side)
    # Where the scan window is on this cabinet, and how to hold the code to it (screens/guidance.py): as
    # large as the room above the other ways allows.
    room = 420 if c.elder else 500
    if purpose == "signin" and view.item_name:
        room -= 80
    y = guidance.draw(c, t, "scanner", y + 30, room) + 20
    buttons: list[Button] = []
    failed = view.scan_failed
    if view.scanning:
        y = c.text(t("scan_scanning", seconds=view.scan_left_s), y, tokens.TYPE["body"], colour=theme.MUTED)
    elif failed:
        mark = tokens.ICON["inline"]
        line = c.text_height("国", tokens.TYPE["body"], bold=True)
        icons.draw(c.surface, icons.name_for("status", "error"), (c.px(60 + mark / 2), c.px(y + line / 2)),
                   c.px(mark), theme.DANGER)
        y = max(c.text(t(failed), y, tokens.TYPE["body"], bold=True, colour=theme.DANGER, x=60 + mark + 16,
                       width=960 - mark - 16), y + mark)
    if not view.scanning:
        buttons.append(c.button(t("scan_again"), "rescan", (140, y + 20, 800, 130), size=tokens.TYPE["heading"],
                                icon=icons.name_for("actions", "scan")))
        y += 160
    ways = [("scan_type_receipt", "type_receipt")] if purpose == "progress" else \
        [(f"id_{a}", f"use:{a}") for a in view.scan_alternatives]
    if ways:
        y = max(y + 20, WAYS_TOP)
        y = c.text(t("scan_other_ways"), y, tokens.TYPE["caption"], colour=theme.MUTED)
        for i, (key, target) in enumerate(ways[:2]):
            w = 800 if len(ways) == 1 else 390
            buttons.append(c.button(t(key), target, (140 + i * 410, min(y + 10, 1610), w, 130), primary=False,
                                    size=tokens.TYPE["body"], icon=_way_icon(target)))
    return buttons + footer(c, t, back=True)
