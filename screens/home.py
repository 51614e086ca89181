"""Home: the featured items as large buttons, and the ways to find any other item."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import icons, theme
from screens.chrome import FOOTER_TOP, Text, footer, tools
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("home_title"))
    buttons = tools(c, t, view)
    y = 290.0
    if view.applicant_name:
        c.text(f"{view.applicant_name}  {view.applicant_id}", y, 36, colour=theme.MUTED)
        y += 60
    # Entry points: by department, by life event / 一件事, search, everything.
    entries = [("browse_departments", "browse:departments", "departments"), ("browse_themes", "browse:themes", "themes"),
               ("browse_search", "search", "search"), ("browse_all", "browse:all", "all")]
    for i, (key, target, icon) in enumerate(entries):
        col, row = i % 2, i // 2
        buttons.append(c.button(t(key), target, (60 + col * 490, y + row * 140, 470, 120), primary=False,
                                size=40, icon=icons.name_for("actions", icon)))
    # 办件进度查询: a receipt from an earlier visit, scanned (or its number typed) without any card.
    buttons.append(c.button(t("home_progress"), "progress", (60, y + 280, 960, 110), size=40,
                            icon=icons.name_for("actions", "progress")))
    y += 420
    c.text(t("home_featured"), y, 36, colour=theme.MUTED, x=60)
    y += 60
    elder = view.elder
    height = 200 if elder else 150
    # Shortcuts only: as many as fit above the footer (every item is also under 全部事项 and its
    # department), so a long featured list in the settings never runs under the exit button.
    fits = max(0, int((FOOTER_TOP - 20 - y) // (height + 20)))
    for code, name, department in view.items[:fits]:
        label = name if elder else f"{department} · {name}"
        buttons.append(c.button(label, f"item:{code}", (60, y, 960, height), size=44,
                                icon=icons.for_target(f"item:{code}")))
        y += height + 20
    return buttons + footer(c, t)
