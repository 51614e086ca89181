"""Short notices after a session: thanks, timed out, or could not be done."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text
from screens.messages import message_box
from screens.widgets import Button, Canvas

TEXTS = {
    "thanks": ("thanks_title", "thanks_hint"),
    "timeout": ("timeout_title", "timeout_hint"),
}


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("app_title"))
    screen = view.screen
    if screen == "error":
        title, hint = t("error_title"), t(view.error_key or "error_gateway_unavailable")
    else:
        title, hint = (t(k) for k in TEXTS[screen])
    if screen == "error":  # what went wrong, as an error message (colour and icon)
        c.text(title, 600, 64, bold=True, colour=theme.DANGER)
        message_box(c, hint, "error", 760)
    else:
        below = c.text(title, 600, 64, bold=True, colour=theme.HEADER)
        c.text(hint, max(780, below + 30), 44, width=880)  # a two-line title (elder English) pushes it down
    buttons = [c.button(t("button_home"), "home", (240, 1200, 600, 160), size=52)]
    if screen == "error":  # another way: staff help or a report, right here
        buttons.append(c.button(t("button_help"), "help", (240, 1400, 600, 130), primary=False, size=40))
    return buttons
