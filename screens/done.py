"""Done: the receipt number, what happened to the print, and the 好差评 rating."""

from __future__ import annotations

from typing import Any

from screens import theme
from screens.chrome import Text
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: dict[str, Any], t: Text) -> list[Button]:
    c.fill()
    c.header(t("done_title"))
    c.text(view.get("item_name", ""), 220, 48, bold=True, colour=theme.HEADER)
    c.text(t("done_receipt"), 330, 36, colour=theme.MUTED)
    y = c.text(view.get("receipt_no", ""), 390, 48, bold=True)
    if view.get("printed"):
        y = c.text(t("printing_hint"), y + 30, 40, colour=theme.MUTED)
    else:
        y = c.text(t("done_not_printed", reason=view.get("print_reason") or "?"), y + 30, 40,
                   colour=theme.DANGER, width=900)
    c.text(t("rate_prompt"), max(y + 60, 640), 48, bold=True)
    buttons = []
    top = max(y + 160, 760)
    for level in range(1, 6):
        buttons.append(c.button(t(f"rate_{level}"), f"rate:{level}", (140, top + (level - 1) * 190, 800, 160),
                                primary=level <= 3, size=48))
    buttons.append(c.button(t("button_home"), "home", (340, top + 5 * 190 + 20, 400, 110), primary=False,
                            size=40))
    return buttons
