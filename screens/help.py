"""帮办代办 (call a member of staff) and 办不成事反映 (report that something could not be done).

The station's opening hours decide what help is (issue 21; kiosk/flow/help_desk.py): while staff are on
site, someone comes over; after hours, the remote help desk, a call-back, the hotline and when the
station opens next.
"""

from __future__ import annotations

from kiosk.flow.views import HelpView
from screens import icons, theme, tokens
from screens.chrome import Text
from screens.messages import message_box
from screens.widgets import Button, Canvas

GROUPS = ("elderly", "disabled", "other")
REPORTS = ("cannot_handle", "too_slow", "system_fault", "other")


def draw(c: Canvas, view: HelpView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("help_title"))
    if view.help_open:
        y = c.text(t("help_hint"), 190, tokens.TYPE["label"], width=940)
        top = max(y + 30, 330.0)
        buttons = [c.button(t("help_" + group), f"help:{group}", (60 + i * 330, top, 300, 200),
                            size=tokens.TYPE["body"]) for i, group in enumerate(GROUPS)]
        report_y = top + 200 + 80
    else:
        buttons, report_y = after_hours(c, view, t)
        report_y += 40
    y = c.text(t("report_title"), report_y, tokens.TYPE["heading"], bold=True, colour=theme.HEADER)
    y = c.text(t("report_hint"), y + 10, tokens.TYPE["caption"], colour=theme.MUTED, width=940)
    top = y + 20
    for i, category in enumerate(REPORTS):
        col, row = i % 2, i // 2
        buttons.append(c.button(t("report_" + category), f"report:{category}",
                                (60 + col * 490, top + row * 170, 470, 150), primary=False,
                                size=tokens.TYPE["label"]))
    if view.help_no and not view.notice_key.startswith("notice_help_no_"):  # the banner says it meanwhile
        message_box(c, t("help_number", number=view.help_no), "success", top + 340)
    buttons.append(c.button(t("button_back"), "back", (240, 1650, 600, 150), size=tokens.TYPE["heading"],
                            icon=icons.name_for("actions", "back")))
    return buttons


def after_hours(c: Canvas, view: HelpView, t: Text) -> tuple[list[Button], float]:
    """No staff on site: the remote desk, a call-back, the hotline, and when the station opens next; the
    buttons and the y below them."""
    nxt = t("help_next_open", day=t(f"weekday_{view.help_next_day}"), time=view.help_next_time) \
        if view.help_next_day >= 0 else ""
    y = c.text(" ".join(x for x in (t("help_closed_hint"), nxt) if x), 180, tokens.TYPE["label"], width=960)
    top = max(y + 10, 300.0)
    body = tokens.TYPE["body"]
    buttons = [c.button(t("help_remote"), "help:remote", (60, top, 960, 140), size=body,
                        icon=icons.name_for("actions", "remote")),
               c.button(t("help_callback"), "help:callback", (60, top + 160, 960, 120), primary=False, size=body,
                        icon=icons.name_for("actions", "callback"))]
    y = c.text(t("help_hotline", hotline=view.hotline), top + 310, body, bold=True, colour=theme.SUCCESS,
               width=960)
    return buttons, y
