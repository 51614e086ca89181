"""Attract loop: the station and its hours, the most used items as an icon grid, and the three ways to
start (the ID card on the reader, the government app's code, a touch), over the whole portrait height."""

from __future__ import annotations

from kiosk.flow.views import AttractView, View
from screens import icons, theme, tokens
from screens.chrome import Text, language_bar
from screens.widgets import Button, Canvas

LANGUAGE_Y = 1775  # the language bar at the foot of the screen
STAFF_ROW_H = 115  # the row above it: the simulated card (left) and the staff pass (right, screens/assisted.py)


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("app_title"))
    if view.out_of_service:
        # Operators took the terminal out of service: say so plainly, offer nothing to touch.
        message = view.out_of_service
        c.text(t("out_of_service_title"), 600, tokens.TYPE["title"], bold=True, colour=theme.DANGER)
        c.text(t("out_of_service") if message == "out_of_service" else message, 780, tokens.TYPE["heading"],
               width=900)
        return []
    elder = bool(view.elder)
    # The station and its hours, under the header.
    y = 185.0
    if c.place:
        y = c.text(c.place, y, tokens.TYPE["label"], bold=True, colour=theme.HEADER, width=960)
    hours = t("attract_hours", hours=c.hours) if c.hours else t("attract_open_24h")
    y = _with_icon(c, icons.name_for("actions", "hours"), hours, y + 4)
    # Each text starts below the one before, however many lines elder mode or English made it.
    # The invitation on one line: at the display size if it fits, else at the title size.
    title = t("attract_title")
    size = c.size(tokens.TYPE["display"])
    if theme.font(c.px(size), True).size(title)[0] > c.px(tokens.CONTENT_WIDTH):
        size = c.size(tokens.TYPE["title"])
    y = c.text(title, y + 20, size, bold=True, colour=theme.HEADER, asked=True)
    if not elder:  # elder mode's simpler page: the slogan is decoration
        y = c.text(t("attract_slogan"), y, tokens.TYPE["heading"], colour=theme.MUTED)
    buttons: list[Button] = []
    row_h = 130 if elder else 100
    start_h = 170 if elder else 160
    panel_h = 190 if elder else 150
    # Above the language bar, one row for the staff pass (screens/assisted.py) and the simulated card.
    action_top = LANGUAGE_Y - 20 - STAFF_ROW_H - 2 * row_h - 20
    # Three ways to start, first (the start button is the first control read in audio mode): the card and
    # the app's code are said, a touch is the big button.
    y = c.text(t("attract_ways"), y + 10, tokens.TYPE["label"], colour=theme.MUTED, x=60)
    for i, (icon, key) in enumerate((("card", "attract_way_card"), ("app_qr", "attract_way_app"))):
        left = 60 + i * 490
        c.panel((left, y + 10, 470, panel_h))
        icons.draw(c.surface, icons.name_for("actions", icon), (c.px(left + 60), c.px(y + 10 + panel_h / 2)),
                   c.px(tokens.ICON["inline"] + 16), theme.ICON)
        way = tokens.TYPE["caption"]
        c.text(t(key), y + 10 + (panel_h - c.text_height(t(key), way, width=350)) / 2, way, x=left + 110, width=350)
    y += 10 + panel_h + 20
    buttons.append(c.button(t("button_start"), "start", (60, y, 960, start_h), size=tokens.TYPE["title"],
                            icon=icons.name_for("actions", "touch")))
    y += start_h
    # When staff are on the station's site, just above help: until when, or when they are next. The
    # tiles take the height left above it.
    staffed = staffed_text(view, t)
    tiles_bottom = action_top - (c.text_height(staffed, tokens.TYPE["label"]) + 20 if staffed else 0)
    # The most used items, as tiles with their department's icon, in the height left above the other ways
    # in: a touch opens the item.
    cols = 2 if elder else 3
    items = view.items[:2 * cols]
    popular = t("attract_popular")
    gap = 20
    least = 200 if elder else 190
    room = tiles_bottom - 30 - (y + 20 + c.text_height(popular, tokens.TYPE["label"])) - 10
    rows = max(0, min(-(-len(items) // cols), int((room + gap) // (least + gap))))  # whole tiles only
    if rows:  # the caption only with tiles under it
        y = c.text(popular, y + 20, tokens.TYPE["label"], colour=theme.MUTED, x=60)
        width = (tokens.CONTENT_WIDTH - (cols - 1) * gap) / cols
        items = items[:rows * cols]
        height = max(least, min(280, room / rows - gap))
        for i, (code, name, _department) in enumerate(items):
            col, row = i % cols, i // cols
            buttons.append(c.button(name, f"item:{code}", (60 + col * (width + gap), y + 10 + row * (height + gap),
                                                          width, height),
                                    primary=False, size=tokens.TYPE["label"] if elder else tokens.TYPE["caption"],
                                    icon=icons.for_target(f"item:{code}")))
        y += 10 + rows * (height + gap) - gap
    if staffed:
        _with_icon(c, icons.name_for("actions", "staff"), staffed, max(y + 10, tiles_bottom))
    y = max(y + 20, action_top)
    buttons += [c.button(t("elder_on"), "elder", (60, y, 470, row_h), primary=False, size=tokens.TYPE["label"],
                         icon=icons.name_for("actions", "elder")),
                c.button(t("button_help"), "help", (550, y, 470, row_h), primary=False, size=tokens.TYPE["label"],
                         icon=icons.name_for("actions", "help")),
                # The hint's other way in: a receipt's progress, with no card and no session to start.
                c.button(t("attract_progress"), "progress", (60, y + row_h + 20, 960, row_h), primary=False,
                         size=tokens.TYPE["label"], icon=icons.name_for("actions", "progress"))]
    if view.simulated_reader:
        buttons.append(c.button(t("button_sim_card"), "sim:card", (60, LANGUAGE_Y - STAFF_ROW_H, 460, 95),
                                primary=False, size=tokens.TYPE["caption"], icon=icons.name_for("actions", "card")))
    return buttons + language_bar(c, t, LANGUAGE_Y)


def staffed_text(view: View, t: Text) -> str:
    """When staff are on site (kiosk/flow/staffed.py), in words; "" for a station never staffed."""
    if not isinstance(view, AttractView):
        return ""
    if view.staffed_until:
        return t("attract_staffed_now", time=view.staffed_until)
    if view.staffed_next_day < 0:
        return ""
    if view.staffed_today:
        return t("attract_staffed_today", time=view.staffed_next_time)
    return t("attract_staffed_next", day=t(f"weekday_{view.staffed_next_day}"), time=view.staffed_next_time)


def _with_icon(c: Canvas, icon: str, text: str, y: float) -> int:
    """A short line of muted text with a small icon before it, centred; the y below it."""
    size = c.size(tokens.TYPE["label"])
    width = theme.font(c.px(size)).size(text)[0]
    side = c.px(size)
    left = (c.width - width - side - c.px(12)) // 2
    icons.draw(c.surface, icon, (left + side // 2, c.px(y) + c.px(size) * 2 // 3), side, theme.ICON)
    return c.text(text, y, size, colour=theme.MUTED, x=(left + side + c.px(12)) / c.scale, asked=True)

