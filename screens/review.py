"""Review before submitting: the item, the masked applicant, every answer and the materials."""

from __future__ import annotations

from kiosk.flow.views import ReviewView
from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: ReviewView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("review_title"))
    top = c.text(view.item_name, 180, 40, bold=True, colour=theme.HEADER) + 10  # a long name takes 2 lines
    c.panel((60, top, 960, 1440 - top))
    y = top + 30
    rows = [(t("confirm_name"), view.applicant_name), (t("confirm_id"), view.applicant_id)]
    # Card fields are already in the two rows above; the rest are what the resident entered.
    rows += [(f.label, dict(f.choices).get(f.value, f.value) or "—") for f in view.fields if not f.locked]
    for label, value in rows[:11]:
        below = c.text(label, y, 30, colour=theme.MUTED, x=100, width=330)
        y = max(below, c.text(value, y, 34, x=440, width=560)) + 18
    pages = sum(view.pages.values())
    if pages:
        y = c.text(t("review_pages", count=pages), y + 10, 32, colour=theme.MUTED, x=100, width=880)
    fetched = sum(1 for state in view.e_licences.values() if state == "fetched")  # 数据互认
    if fetched:
        c.text(t("review_licences", count=fetched), y + 10, 32, colour=theme.MUTED, x=100, width=880)
    if not view.available.get("platform", True):
        c.text(t("review_offline"), 1460, 32, colour=theme.MUTED, width=940)
    buttons = [c.button(t("review_submit"), "submit", (140, 1560, 800, 170), size=56)]
    return buttons + footer(c, t, back=True)
