"""Assisted mode (帮办代办, kiosk/flow/assisted.py): the staff sign-in, the resident's consent (or the
委托书 captured for a resident who is not there), and the banner on every screen while a staff member is
signed in — their staff number, never a name — with the staff sign-in / end button on attract and home.
"""

from __future__ import annotations

import io

import pygame

from kiosk.flow.views import DOCUMENT_IMAGE, MASKED_IMAGE, AssistedConsentView, StaffSignInView, View
from screens import theme
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
        size = theme.ELDER_MIN_PX if view.elder else 28
        c.text(t("staff_banner", staff_no=view.staff_no), 2, size, colour=BANNER_INK, bold=True, asked=True)
    if view.out_of_service or view.warning:
        return buttons
    if view.screen == "attract":
        if view.staff_no:
            buttons.append(c.button(t("staff_end_button"), "staff:end", STAFF_BUTTON, primary=False, size=30))
        else:
            buttons.append(c.button(t("staff_signin_button"), "staff:signin", STAFF_BUTTON, primary=False, size=30))
    elif view.screen == "home" and view.staff_no:
        buttons.append(c.button(t("staff_end_button"), "staff:end", HOME_END, primary=False, size=34))
    return buttons


def _viewfinder(c: Canvas, top: float) -> None:
    """Where to hold the pass: a framed square with a QR viewfinder's corner marks."""
    cx = c.width // 2
    pygame.draw.rect(c.surface, theme.SECONDARY, (cx - c.px(230), c.px(top), c.px(460), c.px(300)),
                     border_radius=c.px(24))
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
        x, y = cx + dx * c.px(120), c.px(top + 150) + dy * c.px(100)
        pygame.draw.line(c.surface, theme.PRIMARY, (x, y), (x - dx * c.px(50), y), c.px(8))
        pygame.draw.line(c.surface, theme.PRIMARY, (x, y), (x, y - dy * c.px(50)), c.px(8))


def draw_signin(c: Canvas, view: StaffSignInView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("staff_signin_title"))
    y = c.text(t("staff_signin_hint"), 210, 44, bold=True, width=900)
    top = max(y + 40, 420.0)
    _viewfinder(c, top)
    y = top + 340
    buttons: list[Button] = []
    if view.staff_scanning:
        c.text(t("scan_scanning", seconds=view.staff_left_s), y, 40, colour=theme.MUTED)
    else:
        if view.staff_problem:
            y = c.text(t(view.staff_problem), y, 38, bold=True, colour=theme.DANGER, width=900)
        buttons.append(c.button(t("scan_again"), "rescan", (140, y + 30, 800, 130), size=48))
    c.text(t("staff_signin_note"), 1500, 32, colour=theme.MUTED, width=900)
    return buttons + footer(c, t, back=True)


def _preview(c: Canvas, t: Text, preview: bytes, top: float) -> None:
    box = (290, top, 500, 500)
    if preview == MASKED_IMAGE:  # the operators' mirror: a placeholder, never the page
        c.panel(box)
        c.text(DOCUMENT_IMAGE, top + 220, 28, colour=theme.MUTED, width=460)
        return
    if not preview:
        c.panel(box)
        c.text(t("poa_none"), top + 220, 32, colour=theme.MUTED, width=460)
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
        y = c.text(view.item_name, y, 42, bold=True, colour=theme.HEADER, width=960) + 10
    if view.applicant_name:
        y = c.text(f"{t('consent_applicant')}：{view.applicant_name}  {view.applicant_id}", y, 34,
                   colour=theme.MUTED, width=960) + 10
    buttons: list[Button] = []
    if view.consent_step == "poa":
        y = c.text(t("poa_hint"), y + 20, 40, bold=True, width=900) + 20
        top = min(y, 700.0)
        _preview(c, t, view.poa_preview, top)
        y = top + 530
        if view.poa_capturing:
            c.text(t("poa_capturing"), y, 40, colour=theme.MUTED)
        else:
            taken = bool(view.poa_preview)
            buttons.append(c.button(t("poa_retake" if taken else "poa_capture"), "assisted:capture",
                                    (140, y, 800 if not taken else 390, 130), primary=not taken, size=40))
            if taken:
                buttons.append(c.button(t("poa_submit"), "assisted:poa_submit", (550, y, 390, 130), size=40))
        return buttons + footer(c, t, back=True)
    y = c.text(t("assisted_consent_text", staff_no=view.staff_no), y + 30, 44, bold=True, width=900) + 20
    y = c.text(t("assisted_consent_note"), y, 34, colour=theme.MUTED, width=900) + 40
    y = max(y, 900.0)
    buttons.append(c.button(t("assisted_consent_agree"), "assisted:consent", (140, y, 800, 160), size=52))
    buttons.append(c.button(t("assisted_consent_poa"), "assisted:poa", (140, y + 190, 800, 130), primary=False,
                            size=38))
    return buttons + footer(c, t, back=True)
