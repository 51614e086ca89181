"""Appointment slots: one button per time, paged (screens/paging.py); a full slot is shown, not offered."""

from __future__ import annotations

from kiosk.flow.views import SlotsView
from screens import paging, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

BOTTOM = 1740  # the band and its pager end here; the footer is under it


def draw(c: Canvas, view: SlotsView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("slots_title"))
    top = c.text(view.item_name, 180, tokens.TYPE["body"], bold=True, colour=theme.HEADER)
    if view.place:
        top = c.text(view.place, top + 5, tokens.TYPE["caption"], colour=theme.MUTED, width=960)
    top += 20
    slots = view.slots
    if not slots:
        c.text(t("slots_none"), max(top, 500), tokens.TYPE["body"], colour=theme.MUTED)
        return footer(c, t, back=True)
    cols = 1 if view.elder else 2
    width = (960 - (cols - 1) * 20) / cols
    height = 150 if view.elder else 130
    rows = [slots[i:i + cols] for i in range(0, len(slots), cols)]
    pager_y = BOTTOM - paging.pager_height(bool(view.elder))
    band = paging.Band(c, top, pager_y - 15, [height] * len(rows), gap=20)

    def row(index: int, y: float) -> list[Button]:
        buttons: list[Button] = []
        for col, (slot_id, label, left) in enumerate(rows[index]):
            rect = (60 + col * (width + 20), y, width, height)
            if left > 0:
                buttons.append(c.button(f"{label}  {t('slots_left', count=left)}", f"slot:{slot_id}", rect,
                                        size=tokens.TYPE["label"]))
            else:
                c.panel(rect)
                text = f"{label}  {t('slots_full')}"
                small = tokens.TYPE["caption"]
                c.text(text, y + (height - c.text_height(text, small, width=width - 40)) / 2, small,
                       colour=theme.MUTED, x=rect[0] + 20, width=width - 40)
        return buttons

    buttons = band.draw(row)
    buttons += paging.pager(c, t, band.scrolled, pager_y)
    return buttons + footer(c, t, back=True)
