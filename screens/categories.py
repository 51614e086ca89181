"""Departments, or life events and 一件事 bundles: a grid of large buttons."""

from __future__ import annotations

from kiosk.flow.views import CategoriesView
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: CategoriesView, t: Text) -> list[Button]:
    c.fill()
    themes = view.categories_of == "themes"
    c.header(t("browse_themes" if themes else "browse_departments"))
    buttons: list[Button] = []
    entries = view.categories
    cols = 1 if view.elder else 2
    width = (960 - (cols - 1) * 20) / cols
    height = 130 if len(entries) <= 2 * 10 else 100
    for i, (target, name) in enumerate(entries[: 10 * cols]):
        col, row = i % cols, i // cols
        buttons.append(c.button(name, target, (60 + col * (width + 20), 200 + row * (height + 20), width, height),
                                primary=target.startswith("bundle:"), size=38))
    return buttons + footer(c, t, back=True)
