"""Face verification consent (人脸识别告知同意), always next to the non-biometric alternatives.

Shown for every item that asks for 身份证+人脸. For print and query items the agree button also
confirms the action (同意并打印), so the item and the masked applicant are shown here too. When the
face check did not pass, the same screen says why in plain words and puts the other ways first.
"""

from __future__ import annotations

from kiosk.flow.views import ConsentView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

NON_BIOMETRIC = ("social_security_card", "app_qr")


def _agree_label(view: ConsentView, t: Text) -> str:
    confirms = view.consent_confirms
    return t(f"consent_agree_{confirms}") if confirms in ("print", "query") else t("consent_agree")


def draw(c: Canvas, view: ConsentView, t: Text) -> list[Button]:
    c.fill()
    failed = view.face_failed
    possible = view.face_possible
    c.header(t("face_failed_title") if failed else t("consent_title"))
    y = c.text(view.item_name, 195, tokens.TYPE["body"], bold=True, colour=theme.HEADER)
    if view.applicant_name:
        y = c.text(f"{t('consent_applicant')}  {view.applicant_name}  {view.applicant_id}",
                   max(255, y + 5), tokens.TYPE["caption"], colour=theme.MUTED)
    # A long item name (English, elder mode) takes more lines: everything below moves down with it.
    shift = max(0, y + 10 - 310)
    c.panel((60, 310 + shift, 960, 550))
    buttons: list[Button] = []
    if failed:
        below = c.text(t(failed), 350 + shift, tokens.TYPE["body"], x=100, width=880, bold=True, colour=theme.DANGER)
    else:
        below = c.text(t("consent_text"), 340 + shift, tokens.TYPE["label"], x=100, width=880)
    if not possible:
        c.text(t(view.face_unavailable_key or "face_unavailable"), max(700 + shift, below + 10), tokens.TYPE["label"],
               x=100,
               width=880, colour=theme.DANGER)
    else:
        label = t("face_retry") if failed else _agree_label(view, t)
        buttons.append(c.button(label, "consent", (140, 900 + shift, 800, 170), size=tokens.TYPE["heading"],
                                icon=icons.name_for("actions", "camera")))
    alternatives = view.alternatives or [a for a in view.item_identity if a in NON_BIOMETRIC]
    y = c.text(t("face_other_way") if failed else t("consent_other_way"), 1110 + shift, tokens.TYPE["label"],
               colour=theme.MUTED)
    for i, alt in enumerate(alternatives):
        buttons.append(c.button(t("id_" + alt), f"alt:{alt}", (140, max(1180 + shift, y + 10) + i * 150, 800, 130),
                                primary=bool(failed), size=tokens.TYPE["body"], icon=icons.name_for("actions", alt)))
    return buttons + footer(c, t, back=True)
