"""Appointment slots: one button per time; a full slot is shown, not offered."""

from __future__ import annotations

from kiosk.flow.views import SlotsView
from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: SlotsView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("slots_title"))
    c.text(view.item_name, 180, 40, bold=True, colour=theme.HEADER)
    if view.place:
        c.text(view.place, 250, 32, colour=theme.MUTED, width=960)
    buttons: list[Button] = []
    slots = view.slots
    shown = slots[:8] if view.elder else slots[:16]
    cols = 1 if view.elder else 2
    width = 960 / cols - (10 if cols > 1 else 0)
    for i, (slot_id, label, left) in enumerate(shown):
        col, row = i % cols, i // cols
        rect = (60 + col * (width + 20), 320 + row * 150, width, 130)
        if left > 0:
            buttons.append(c.button(f"{label}  {t('slots_left', count=left)}", f"slot:{slot_id}", rect, size=36))
        else:
            c.panel(rect)
            c.text(f"{label}  {t('slots_full')}", rect[1] + 40, 32, colour=theme.MUTED, x=rect[0] + 20,
                   width=width - 40)
    if not slots:
        c.text(t("slots_none"), 500, 40, colour=theme.MUTED)
    return buttons + footer(c, t, back=True)
