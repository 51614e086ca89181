"""Face verification consent (人脸识别告知同意), always next to the non-biometric alternatives."""

from __future__ import annotations

from typing import Any

from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: dict[str, Any], t: Text) -> list[Button]:
    c.fill()
    c.header(t("consent_title"))
    c.text(view.get("item_name", ""), 200, 42, bold=True, colour=theme.HEADER)
    c.panel((60, 290, 960, 560))
    c.text(t("consent_text"), 320, 36, x=100, width=880)
    buttons = [c.button(t("consent_agree"), "consent", (140, 900, 800, 170), size=52)]
    c.text(t("consent_other_way"), 1110, 36, colour=theme.MUTED)
    alternatives = [a for a in view.get("item_identity", []) if a in ("social_security_card", "app_qr")]
    for i, alt in enumerate(alternatives):
        buttons.append(c.button(t("id_" + alt), f"alt:{alt}", (140, 1180 + i * 150, 800, 130), primary=False))
    return buttons + footer(c, t, back=True)
