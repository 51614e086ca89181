"""Departments, or life events and 一件事 bundles: a grid of large buttons, paged (screens/paging.py)."""

from __future__ import annotations

from kiosk.flow.views import CategoriesView
from screens import paging
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

TOP, BOTTOM = 200, 1600  # the grid's band (design px); the pager sits under it, the footer under that


def draw(c: Canvas, view: CategoriesView, t: Text) -> list[Button]:
    c.fill()
    themes = view.categories_of == "themes"
    c.header(t("browse_themes" if themes else "browse_departments"))
    entries = view.categories
    cols = 1 if view.elder else 2
    width = (960 - (cols - 1) * 20) / cols
    height = 140 if view.elder else 120
    rows = [entries[i:i + cols] for i in range(0, len(entries), cols)]
    pager_h = paging.pager_height(bool(view.elder))
    band = paging.Band(c, TOP, BOTTOM + 110 - pager_h - 20, [height] * len(rows), gap=20)

    def row(index: int, y: float) -> list[Button]:
        return [c.button(name, target, (60 + col * (width + 20), y, width, height),
                         primary=target.startswith("bundle:"), size=38)
                for col, (target, name) in enumerate(rows[index])]

    buttons = band.draw(row)
    buttons += paging.pager(c, t, band.scrolled, BOTTOM + 110 - pager_h)
    return buttons + footer(c, t, back=True)
