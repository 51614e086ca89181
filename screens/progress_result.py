"""办件进度: the status and steps of an earlier submission, or why they cannot be shown now.

The receipt number stays on screen whatever happened, so a resident told "try later" still has it;
the progress link is offered as a QR code for the government app, and printing when the printer can.
"""

from __future__ import annotations

from kiosk.flow.views import ProgressResultView
from screens import theme
from screens.chrome import Text, footer
from screens.messages import message_box
from screens.qr import qr_surface
from screens.widgets import Button, Canvas


def _status(t: Text, status: str, text: str) -> str:
    """The platform's and gateway's status codes in the resident's language; their text otherwise."""
    try:
        return t(f"progress_status_{status}") if status else text
    except KeyError:
        return text


def draw(c: Canvas, view: ProgressResultView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("progress_title"))
    c.text(t("progress_receipt"), 190, 32, colour=theme.MUTED)
    c.text(view.progress_no, 240, 44, bold=True)
    buttons: list[Button] = []
    reason = view.progress_reason
    y = 330.0
    if reason:
        y = message_box(c, t(reason), "error", y + 20)
        buttons.append(c.button(t("progress_retry"), "retry", (60, y + 30, 470, 140), size=44))
        buttons.append(c.button(t("scan_type_receipt"), "type_receipt", (550, y + 30, 470, 140), primary=False,
                                size=40))
        y += 200
    else:
        c.text(t("progress_status"), y, 32, colour=theme.MUTED)
        y = c.text(_status(t, view.progress_status, view.progress_status_text), y + 50, 56,
                   bold=True, colour=theme.SUCCESS)
        if view.progress_source == "gateway":
            y = c.text(t("progress_from_gateway"), y + 10, 34, colour=theme.MUTED, width=900)
        steps = view.progress_steps
        if steps:
            c.text(t("progress_steps"), y + 20, 32, colour=theme.MUTED, x=100)
            y += 80
            for at, text in steps[:6]:  # a bundle's item names (left) may take more than one line
                below = c.text(at, y, 32, x=100, width=360, colour=theme.MUTED)
                y = max(below, c.text(text, y, 36, x=470, width=520, bold=True)) + 14
        y += 20
    url = view.progress_url
    if url and y + 330 <= 1440:  # the phone QR only where it fits above the buttons
        size = c.px(260)
        c.surface.blit(qr_surface(url, size), ((c.width - size) // 2, c.px(y)))
        y = c.text(t("progress_scan_phone"), y + 280, 32, colour=theme.MUTED)
    row_h = 150 if view.elder else 130  # elder English labels take two lines
    if not reason and view.available.get("printer", True):
        buttons.append(c.button(t("progress_print"), "print", (60, 1460, 300, row_h), size=40))
    buttons.append(c.button(t("progress_another"), "another", (390, 1460, 300, row_h), primary=False, size=36))
    buttons.append(c.button(t("progress_finish"), "finish", (720, 1460, 300, row_h), primary=False, size=36))
    return buttons + footer(c, t, back=True)
