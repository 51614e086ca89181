"""Home: the featured items as large buttons, and the ways to find any other item."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import icons, theme, tokens
from screens.chrome import FOOTER_TOP, Text, footer, tools
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("home_title"))
    buttons = tools(c, t, view)
    y = 290.0
    if view.applicant_name:
        c.text(f"{view.applicant_name}  {view.applicant_id}", y, tokens.TYPE["label"],
               colour=theme.MUTED)
        y += 60
    # Entry points: by department, by life event / 一件事, search, everything.
    elder = view.elder
    entry_h = 130 if elder else 120
    gap = 20
    entries = [("browse_departments", "browse:departments", "departments"), ("browse_themes", "browse:themes", "themes"),
               ("browse_search", "search", "search"), ("browse_all", "browse:all", "all")]
    for i, (key, target, icon) in enumerate(entries):
        col, row = i % 2, i // 2
        buttons.append(c.button(t(key), target, (60 + col * 490, y + row * (entry_h + gap), 470, entry_h),
                                primary=False, size=tokens.TYPE["body"], icon=icons.name_for("actions", icon)))
    # 办件进度查询: a receipt from an earlier visit, scanned (or its number typed) without any card.
    buttons.append(c.button(t("home_progress"), "progress", (60, y + 2 * (entry_h + gap), 960, entry_h),
                            size=tokens.TYPE["body"], icon=icons.name_for("actions", "progress")))
    y += 3 * (entry_h + gap) + tokens.SPACE["m"]
    y = c.text(t("home_featured"), y, tokens.TYPE["label"], colour=theme.MUTED, x=60) + tokens.SPACE["s"]
    least = 200 if elder else 150
    # Shortcuts only: as many as fit above the footer (every item is also under 全部事项 and its
    # department), so a long featured list in the settings never runs under the exit button; a short
    # list grows its buttons into the height there is (up to 1.3 times), bigger targets for the same items.
    room = FOOTER_TOP - 30 - y
    fits = min(len(view.items), max(0, int((room + gap) // (least + gap))))
    height = min(least * 1.3, (room + gap) / fits - gap) if fits else least
    for code, name, department in view.items[:fits]:
        label = name if elder else f"{department} · {name}"
        buttons.append(c.button(label, f"item:{code}", (60, y, 960, height), size=tokens.TYPE["body"],
                                icon=icons.for_target(f"item:{code}")))
        y += height + gap
    return buttons + footer(c, t)
