"""Home: the items on offer, one large button each."""

from __future__ import annotations

from typing import Any

from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: dict[str, Any], t: Text) -> list[Button]:
    c.fill()
    c.header(t("home_title"))
    c.text(t("home_subtitle"), 200, 40, colour=theme.MUTED)
    if view.get("applicant_name"):
        c.text(f"{view['applicant_name']}  {view['applicant_id']}", 270, 36, colour=theme.MUTED)
    buttons = []
    y = 360.0
    for code, name, department in view["items"]:
        buttons.append(c.button(f"{department} · {name}", f"item:{code}", (90, y, 900, 190), size=48))
        y += 225
    return buttons + footer(c, t)
