"""Short notices after a session: thanks, timed out, or could not be done."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import icons, theme, tokens
from screens.chrome import Text
from screens.messages import message_box
from screens.widgets import Button, Canvas

# Each notice's status mark and the theme colour it is drawn in.
STATUS = {"thanks": ("success", "SUCCESS"), "timeout": ("info", "HEADER"), "error": ("error", "DANGER")}
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
    # A large status mark above the words that say the same: done and wiped (thanks), wiped after a pause
    # (timeout), or what went wrong (error: the message below carries the error's own sign as well).
    status, colour = STATUS[screen]
    side = tokens.ICON["status"] * (4 if view.elder else 5) // 5
    icons.draw(c.surface, icons.name_for("status", status), (c.width // 2, c.px(580 - side / 2)), c.px(side),
               getattr(theme, colour))
    if screen == "error":  # what went wrong, as an error message (colour and icon)
        c.text(title, 600, tokens.TYPE["title"], bold=True, colour=theme.DANGER)
        message_box(c, hint, "error", 760)
    else:
        below = c.text(title, 600, tokens.TYPE["title"], bold=True, colour=theme.HEADER)
        # A two-line title (elder English) pushes the hint down.
        c.text(hint, max(780, below + 30), tokens.TYPE["body"], width=880)
    buttons = [c.button(t("button_home"), "home", (240, 1200, 600, 160), size=tokens.TYPE["heading"],
                        icon=icons.name_for("actions", "home"))]
    if screen == "error":  # another way: staff help or a report, right here
        buttons.append(c.button(t("button_help"), "help", (240, 1400, 600, 130), primary=False,
                                size=tokens.TYPE["body"], icon=icons.name_for("actions", "help")))
    return buttons
