"""Done: the receipt number, what happened to the print, and the 好差评 rating."""

from __future__ import annotations

from kiosk.flow.views import View
from screens import theme
from screens.chrome import Text
from screens.qr import qr_surface
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("done_title"))
    y = max(330, c.text(view.item_name, 220, 48, bold=True, colour=theme.HEADER) + 10)
    if view.receipt_no:
        below = c.text(t("done_receipt"), y, 36, colour=theme.MUTED)
        y = c.text(view.receipt_no, below + 4, 48, bold=True)
    if view.printed:
        y = c.text(t("printing_hint"), y + 30, 40, colour=theme.MUTED)
    else:
        reason = view.print_reason or "?"
        reason = t("reason_printer_unavailable") if reason == "printer_unavailable" else reason
        y = c.text(t("done_not_printed", reason=reason), y + 30, 40, colour=theme.DANGER, width=900)
        if view.result_url:
            # The electronic copy: the resident scans it with the government app instead of paper.
            size = c.px(300)
            c.surface.blit(qr_surface(view.result_url, size), ((c.width - size) // 2, c.px(y + 10)))
            y = c.text(t("done_scan_qr"), y + 330, 36, colour=theme.MUTED)
    if view.rating_followup:
        # A bad rating is followed up: what went wrong, in one touch.
        y = c.text(t("why_prompt"), max(y + 50, 640), 44, bold=True, width=900)
        buttons = [c.button(t("why_" + r), f"why:{r}", (60 + (i % 2) * 490, y + 30 + (i // 2) * 170, 470, 150),
                            primary=False, size=38) for i, r in enumerate(("slow", "unclear", "device", "not_done"))]
        return buttons + [c.button(t("button_help"), "help", (340, y + 380, 400, 110), primary=False, size=36)]
    y = c.text(t("rate_prompt"), max(y + 50, 640), 48, bold=True)
    # Five levels in one row, as on counter-side 好差评 pads; every level is labelled in words.
    buttons = []
    width, gap = 180, 15
    left = (1080 - 5 * width - 4 * gap) / 2
    for level in range(1, 6):
        buttons.append(c.button(t(f"rate_{level}"), f"rate:{level}", (left + (level - 1) * (width + gap), y + 30,
                                                                     width, 200), primary=level <= 3, size=34))
    buttons.append(c.button(t("button_home"), "home", (120, y + 290, 400, 110), primary=False, size=40))
    buttons.append(c.button(t("button_help"), "help", (560, y + 290, 400, 110), primary=False, size=36))
    return buttons
