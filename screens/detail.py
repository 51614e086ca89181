"""Item detail: its 办事指南 in readable sections (paged where long) — and 办理 / 打印办事指南.

The screen is three parts, drawn in this order (the order audio mode reads them):

1. the heading: the department and the kind of item;
2. the guide's band (screens/paging.py): one entry per paragraph (a section's first under its heading), from the
   view's ``item_guide`` (kiosk/catalog/guide.py: 事项说明, 易混事项, 申请条件, 申请材料, 办理地点和时间,
   收费标准, 办理时限, 设定依据, 进度查询), 上一页 / 下一页 under it when it does not fit;
3. the action: 办理 (打印办事指南 for a guide item; 查询办理情况 for a 免申即办 item), or why it cannot be
   done here now.

:func:`entries` is the list the band shows; a block of another kind (a notice above the guide) is one
more :class:`Entry` put in front of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.flow.views import View
from screens import icons, paging, theme, tokens
from screens.chrome import FOOTER_TOP, Text, footer
from screens.widgets import Button, Canvas

ACTION_TOP = 1560  # design px: the 办理 button, above the footer
BAND_TOP_GAP = 20
TEXT_X, TEXT_W = 60, 960
PARAGRAPH_X, PARAGRAPH_W = 80, 940
HEADING_GAP = 6


@dataclass(frozen=True)
class Entry:
    """One entry of the guide's band: a paragraph, under its section's heading when it is the first one (so
    a heading never ends a page alone)."""

    text: str
    heading: str = ""
    colour: tuple[int, int, int] = theme.TEXT


def entries(view: View, t: Text | None = None) -> list[Entry]:
    """The band's entries: each section's paragraphs, the first one with the section's heading — after
    免申即办's notes when ``t`` is given (no application for this item; what this one sets going)."""
    out: list[Entry] = []
    if t is not None and view.item_exempt:
        out.append(Entry(t("detail_exempt_hint"), heading=t("detail_exempt"), colour=theme.SUCCESS))
    if t is not None and view.item_follow_ups:
        items = "、".join(view.item_follow_ups) if view.language != "en" else "; ".join(view.item_follow_ups)
        out.append(Entry(t("detail_follow_ups", items=items), colour=theme.SUCCESS))
    for _key, title, lines in view.item_guide:
        out += [Entry(line, heading=title if i == 0 else "") for i, line in enumerate(lines)]
    return out


SECTION = tokens.TYPE["label"]  # a guide section's heading
PARAGRAPH = tokens.TYPE["caption"]  # the guide's paragraphs (36 px in elder mode)
ICON_GAP = 16  # between an icon and its words


def _height(c: Canvas, entry: Entry) -> float:
    above = c.text_height(entry.heading, SECTION, width=TEXT_W, bold=True) + HEADING_GAP if entry.heading else 0.0
    return above + c.text_height(entry.text, PARAGRAPH, width=PARAGRAPH_W)


def _draw_entry(c: Canvas, entry: Entry, y: float) -> list[Button]:
    if entry.heading:
        y = c.text(entry.heading, y, SECTION, bold=True, colour=theme.HEADER, x=TEXT_X, width=TEXT_W) + HEADING_GAP
    c.text(entry.text, y, PARAGRAPH, colour=entry.colour, x=PARAGRAPH_X, width=PARAGRAPH_W)
    return []


def _labelled(c: Canvas, icon: str | None, text: str, x: float, y: float, width: float) -> float:
    """An icon with its words beside it (the words wrap in ``width``); returns the y below both."""
    side = tokens.ICON["inline"]
    line = c.text_height("国", tokens.TYPE["label"])
    icons.draw(c.surface, icon, (c.px(x + side / 2), c.px(y + line / 2)), c.px(side), theme.ICON)
    below = c.text(text, y, tokens.TYPE["label"], bold=True, colour=theme.MUTED, x=x + side + ICON_GAP,
                   width=width - side - ICON_GAP)
    return max(below, y + side)


def _heading(c: Canvas, view: View, t: Text) -> float:
    """The item's name in the header; under it its department and its kind, each with its icon."""
    c.header(view.item_name)
    kind = view.item_kind or "guide"
    y = 185.0
    below = _labelled(c, icons.for_target(f"item:{view.item_code}"), view.item_department, TEXT_X, y, 470)
    return max(below, _labelled(c, icons.name_for("kinds", kind), t("kind_" + kind), 560, y, 460))


def _guide(c: Canvas, view: View, t: Text, top: float, bottom: float) -> list[Button]:
    shown = entries(view, t)
    pager_y = bottom - paging.pager_height(bool(view.elder))
    heights = [_height(c, e) for e in shown]
    band = paging.Band(c, top, pager_y - 15, heights, gap=16)
    buttons = band.draw(lambda i, y: _draw_entry(c, shown[i], y))
    return buttons + paging.pager(c, t, band.scrolled, pager_y)


def _action_top(c: Canvas, view: View, t: Text) -> float:
    """Where the action part starts: the 办理 button's place, or higher for a reason and its way out."""
    reason = view.item_unavailable
    if not reason:
        return ACTION_TOP
    height = (c.text_height(t(reason), tokens.TYPE["caption"], width=TEXT_W - 56, bold=True) + 8
              + c.text_height(t(reason + "_alt"), tokens.TYPE["caption"], width=TEXT_W))
    return min(ACTION_TOP, FOOTER_TOP - 30 - height)


def _action(c: Canvas, view: View, t: Text, top: float) -> list[Button]:
    reason = view.item_unavailable
    if reason:
        mark = icons.name_for("status", "warning")
        line = c.text_height("国", tokens.TYPE["caption"], bold=True)
        icons.draw(c.surface, mark, (c.px(TEXT_X + 20), c.px(top + line / 2)), c.px(40), theme.WARNING)
        y = c.text(t(reason), top, tokens.TYPE["caption"], bold=True, colour=theme.WARNING, x=TEXT_X + 56,
                   width=TEXT_W - 56)
        c.text(t(reason + "_alt"), y + 8, tokens.TYPE["caption"], x=TEXT_X, width=TEXT_W)
        return []
    size = tokens.TYPE["heading"]
    if view.item_exempt:  # 免申即办: no application; its status (and decision) instead
        return [c.button(t("detail_exempt_status"), "exempt:status", (140, top, 800, 160), size=size,
                         icon=icons.name_for("actions", "progress"))]
    if view.item_kind == "guide":
        return [c.button(t("detail_print_guide"), "begin", (140, top, 800, 160), size=size,
                         icon=icons.name_for("actions", "print"))]
    return [c.button(t("detail_begin"), "begin", (140, top, 800, 160), size=size,
                     icon=icons.name_for("kinds", view.item_kind or "apply"))]


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    top = _heading(c, view, t) + BAND_TOP_GAP
    action_top = _action_top(c, view, t)
    buttons = _guide(c, view, t, top, action_top - 20)
    buttons += _action(c, view, t, action_top)
    return buttons + footer(c, t, back=True)
