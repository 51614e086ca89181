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
    entry_h = 140 if elder else 120
    gap = 20
    entries = [("browse_departments", "browse:departments", "departments"), ("browse_themes", "browse:themes", "themes"),
               ("browse_search", "search", "search"), ("browse_all", "browse:all", "all")]
    for i, (key, target, icon) in enumerate(entries):
        col, row = i % 2, i // 2
        buttons.append(c.button(t(key), target, (60 + col * 490, y + row * (entry_h + gap), 470, entry_h),
                                primary=False, size=tokens.TYPE["body"], icon=icons.name_for("actions", icon)))
    # 办件进度查询: a receipt from an earlier visit, scanned (or its number typed) without any card.
    buttons.append(c.button(t("home_progress"), "progress", (60, y + 2 * (entry_h + gap), 960, 110),
                            size=tokens.TYPE["body"], icon=icons.name_for("actions", "progress")))
    y += 2 * (entry_h + gap) + 110 + tokens.SPACE["l"]
    y = c.text(t("home_featured"), y, tokens.TYPE["label"], colour=theme.MUTED, x=60) + tokens.SPACE["s"]
    # The featured items as an icon grid (as the attract screen's most used): two tiles a row, each its
    # department's icon above its name. Shortcuts only: as many rows as fit above the footer (every item is
    # also under 全部事项 and its department), so a long featured list never runs under the exit button;
    # a short one grows its tiles into the height there is.
    cols, least = 2, 240 if elder else 200
    room = FOOTER_TOP - 30 - y
    rows = min(-(-len(view.items) // cols), max(0, int((room + gap) // (least + gap))))
    height = min(400, (room + gap) / rows - gap) if rows else least
    width = (tokens.CONTENT_WIDTH - gap) / cols
    for i, (code, name, _department) in enumerate(view.items[:rows * cols]):
        col, row = i % cols, i // cols
        buttons.append(c.button(name, f"item:{code}", (60 + col * (width + gap), y + row * (height + gap), width,
                                                      height),
                                primary=False, size=tokens.TYPE["body"], icon=icons.for_target(f"item:{code}")))
    return buttons + footer(c, t)
