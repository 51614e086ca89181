"""Departments, or life events and 一件事 bundles: a grid of large buttons, paged (screens/paging.py)."""

from __future__ import annotations

from kiosk.flow.views import CategoriesView
from screens import icons, paging, tokens
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
    bottom = BOTTOM + 110 - pager_h - 20
    # Use the height there is: when every row fits at a taller size, the rows grow (up to 200) and
    # nothing is paged; a longer list keeps the compact rows.
    if rows:
        height = max(height, min(200, (bottom - TOP + 20) / len(rows) - 20))
    band = paging.Band(c, TOP, bottom, [height] * len(rows), gap=20)

    def row(index: int, y: float) -> list[Button]:
        return [c.button(name, target, (60 + col * (width + 20), y, width, height),
                         primary=target.startswith("bundle:"), size=tokens.TYPE["body"], icon=icons.for_target(target))
                for col, (target, name) in enumerate(rows[index])]

    buttons = band.draw(row)
    buttons += paging.pager(c, t, band.scrolled, BOTTOM + 110 - pager_h)
    return buttons + footer(c, t, back=True)
