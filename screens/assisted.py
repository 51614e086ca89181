"""Assisted mode (帮办代办, kiosk/flow/assisted.py): the staff sign-in, the resident's consent (or the
委托书 captured for a resident who is not there), and the banner on every screen while a staff member is
signed in — their staff number, never a name — with the staff sign-in / end button on attract and home.
"""

from __future__ import annotations

import io

import pygame

from kiosk.flow.views import DOCUMENT_IMAGE, MASKED_IMAGE, AssistedConsentView, StaffSignInView, View
from screens import guidance, icons, theme, tokens
from screens.chrome import FOOTER_TOP, Text, footer
from screens.widgets import Button, Canvas

BANNER_PX = 44  # design px at the top of the header, above its title (which starts at 45)
BANNER_FILL = (255, 200, 60)  # amber: unmistakably not the government blue of a resident's own session
BANNER_INK = (20, 20, 20)  # ≥ 7:1 on the amber
STAFF_BUTTON = (560, 1660, 460, 95)  # attract: the row above the language bar (screens/attract.py), right
HOME_END = (720, FOOTER_TOP, 300, 120)  # home has no back: the footer's third place


def decorate(c: Canvas, view: View, t: Text) -> list[Button]:
    """Drawn over every screen after its page: the banner (a staff session is active) and the staff
    buttons on attract and home. Returns the buttons added."""
    buttons: list[Button] = []
    if view.staff_no:
        pygame.draw.rect(c.surface, BANNER_FILL, (0, 0, c.width, c.px(BANNER_PX)))
        size = theme.ELDER_MIN_PX if view.elder else tokens.TYPE["caption"]  # one line in the banner
        c.text(t("staff_banner", staff_no=view.staff_no), 2, size, colour=BANNER_INK, bold=True, asked=True)
    if view.out_of_service or view.warning:
        return buttons
    staff = icons.name_for("actions", "staff")
    if view.screen == "attract":
        if view.staff_no:
            buttons.append(c.button(t("staff_end_button"), "staff:end", STAFF_BUTTON, primary=False,
                                    size=tokens.TYPE["caption"], icon=staff))
        else:
            buttons.append(c.button(t("staff_signin_button"), "staff:signin", STAFF_BUTTON, primary=False,
                                    size=tokens.TYPE["caption"], icon=staff))
    elif view.screen == "home" and view.staff_no:
        buttons.append(c.button(t("staff_end_button"), "staff:end", HOME_END, primary=False,
                                size=tokens.TYPE["caption"], icon=staff))
    return buttons


def _marked(c: Canvas, icon: str | None, text: str, y: float, size: int, *, colour: tuple[int, int, int] = theme.TEXT,
            mark: tuple[int, int, int] = theme.ICON, bold: bool = True) -> float:
    """``text`` at the left with its mark beside it; returns the y below both."""
    side = tokens.ICON["inline"]
    line = c.text_height("国", size, bold=bold)
    icons.draw(c.surface, icon, (c.px(60 + side / 2), c.px(y + line / 2)), c.px(side), mark)
    return max(c.text(text, y, size, bold=bold, colour=colour, x=60 + side + 16, width=960 - side - 16), y + side)


def draw_signin(c: Canvas, view: StaffSignInView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("staff_signin_title"))
    y = _marked(c, icons.name_for("actions", "staff"), t("staff_signin_hint"), 200, tokens.TYPE["body"])
    # Where the scan window is on this cabinet, and how to hold the pass to it (screens/guidance.py).
    y = guidance.draw(c, t, "scanner", y + 30, 380 if c.elder else 440) + 20
    buttons: list[Button] = []
    if view.staff_scanning:
        c.text(t("scan_scanning", seconds=view.staff_left_s), y, tokens.TYPE["body"], colour=theme.MUTED)
    else:
        if view.staff_problem:
            y = _marked(c, icons.name_for("status", "error"), t(view.staff_problem), y, tokens.TYPE["body"],
                        colour=theme.DANGER, mark=theme.DANGER)
        buttons.append(c.button(t("scan_again"), "rescan", (140, y + 30, 800, 130), size=tokens.TYPE["heading"],
                                icon=icons.name_for("actions", "scan")))
    c.text(t("staff_signin_note"), 1560, tokens.TYPE["caption"], colour=theme.MUTED, width=900)
    return buttons + footer(c, t, back=True)


def _preview(c: Canvas, t: Text, preview: bytes, top: float) -> None:
    box = (290, top, 500, 500)
    if preview == MASKED_IMAGE:  # the operators' mirror: a placeholder, never the page
        c.panel(box)
        c.text(DOCUMENT_IMAGE, top + 220, tokens.TYPE["caption"], colour=theme.MUTED, width=460)
        return
    if not preview:
        c.panel(box)
        c.text(t("poa_none"), top + 220, tokens.TYPE["caption"], colour=theme.MUTED, width=460)
        return
    img = pygame.image.load(io.BytesIO(preview), "p.png")
    rgb = pygame.Surface(img.get_size(), depth=24)
    rgb.blit(img, (0, 0))
    scale = c.px(500) / max(rgb.get_size())
    shown = pygame.transform.smoothscale(rgb, (int(rgb.get_width() * scale), int(rgb.get_height() * scale)))
    c.surface.blit(shown, ((c.width - shown.get_width()) // 2, c.px(top)))


def draw_consent(c: Canvas, view: AssistedConsentView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("assisted_consent_title"))
    y = 190.0
    if view.item_name:
        y = c.text(view.item_name, y, tokens.TYPE["heading"], bold=True, colour=theme.HEADER, width=960) + 10
    if view.applicant_name:  # the resident, as the card gave them (masked), beside the card's mark
        y = _marked(c, icons.name_for("actions", "card"),
                    f"{t('consent_applicant')}：{view.applicant_name}  {view.applicant_id}", y, tokens.TYPE["caption"],
                    colour=theme.MUTED, bold=False) + 10
    buttons: list[Button] = []
    if view.consent_step == "poa":
        y = _marked(c, icons.name_for("actions", "camera"), t("poa_hint"), y + 20, tokens.TYPE["body"]) + 20
        top = min(y, 1080.0)  # the preview and its buttons stay above the footer
        _preview(c, t, view.poa_preview, top)
        y = top + 530
        if view.poa_capturing:
            c.text(t("poa_capturing"), y, tokens.TYPE["body"], colour=theme.MUTED)
        else:
            taken = bool(view.poa_preview)
            buttons.append(c.button(t("poa_retake" if taken else "poa_capture"), "assisted:capture",
                                    (140, y, 800 if not taken else 390, 130), primary=not taken,
                                    size=tokens.TYPE["body"], icon=icons.name_for("actions", "camera")))
            if taken:
                buttons.append(c.button(t("poa_submit"), "assisted:poa_submit", (550, y, 390, 130),
                                        size=tokens.TYPE["body"], icon=icons.name_for("actions", "send")))
        return buttons + footer(c, t, back=True)
    y = _marked(c, icons.name_for("actions", "staff"), t("assisted_consent_text", staff_no=view.staff_no), y + 30,
                tokens.TYPE["heading"]) + 20
    y = c.text(t("assisted_consent_note"), y, tokens.TYPE["caption"], colour=theme.MUTED, width=900) + 40
    y = max(y, 1250.0)  # the two choices low, near the hand
    buttons.append(c.button(t("assisted_consent_agree"), "assisted:consent", (140, y, 800, 160),
                            size=tokens.TYPE["heading"]))
    buttons.append(c.button(t("assisted_consent_poa"), "assisted:poa", (140, y + 190, 800, 130), primary=False,
                            size=tokens.TYPE["label"], icon=icons.name_for("actions", "camera")))
    return buttons + footer(c, t, back=True)
