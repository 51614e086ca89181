"""办件进度: the status and steps of an earlier submission, or why they cannot be shown now.

The receipt number stays on screen whatever happened, so a resident told "try later" still has it;
the progress link is offered as a QR code for the government app, and printing when the printer can.
"""

from __future__ import annotations

from kiosk.flow.views import ProgressResultView
from screens import icons, theme, tokens
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


# What the status means to the resident: its mark and colour (the words say the same; WCAG 1.4.1).
DONE = frozenset({"completed"})
STUCK = frozenset({"rejected", "expired"})


def status_mark(status: str) -> tuple[str, tuple[int, int, int]]:
    """The status kind (config/icons.toml [status]) and its colour: done, stuck (see staff) or under way."""
    if status in DONE:
        return "success", theme.SUCCESS
    if status in STUCK:
        return "warning", theme.WARNING
    return "info", theme.HEADER


def draw(c: Canvas, view: ProgressResultView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("progress_title"))
    caption, label = tokens.TYPE["caption"], tokens.TYPE["label"]
    y = c.text(t("progress_receipt"), 190, caption, colour=theme.MUTED)
    y = c.text(view.progress_no, y, tokens.TYPE["heading"], bold=True)
    buttons: list[Button] = []
    reason = view.progress_reason
    y += 20
    if reason:
        y = message_box(c, t(reason), "error", y + 20)
        body = tokens.TYPE["body"]
        buttons.append(c.button(t("progress_retry"), "retry", (60, y + 30, 470, 140), size=body,
                                icon=icons.name_for("actions", "repeat")))
        buttons.append(c.button(t("scan_type_receipt"), "type_receipt", (550, y + 30, 470, 140), primary=False,
                                size=body, icon=icons.name_for("actions", "keyboard")))
        y += 200
    else:
        # A large status mark beside the status in words (as the result screen's).
        y = c.text(t("progress_status"), y, caption, colour=theme.MUTED, x=60)
        kind, colour = status_mark(view.progress_status)
        words = _status(t, view.progress_status, view.progress_status_text)
        mark = tokens.ICON["inline"] * 2 + 24  # 120
        icons.draw(c.surface, icons.name_for("status", kind), (c.px(60 + mark // 2), c.px(y + 10 + mark // 2)),
                   c.px(mark), colour)
        size = tokens.TYPE["title"]
        width = 960 - mark - 30
        below = c.text(words, y + 10 + max(0.0, (mark - c.text_height(words, size, width=width, bold=True)) / 2), size,
                       bold=True, colour=colour, x=60 + mark + 30, width=width)
        y = max(below, y + 10 + mark) + 10
        if view.progress_source == "gateway":
            y = c.text(t("progress_from_gateway"), y + 10, caption, colour=theme.MUTED, width=900)
    row_h = 150 if view.elder else 130  # elder English labels take two lines
    row_y = 1720 - row_h  # above the footer
    printable = not reason and view.available.get("printer", True)
    print_y = row_y - 20 - row_h  # printing, the one action on the answer, is a wide row of its own
    if not reason:
        steps = view.progress_steps
        if steps:
            y = c.text(t("progress_steps"), y + 20, caption, colour=theme.MUTED, x=100) + 10
            room = (print_y if printable else row_y) - 20
            more_h = c.text_height(t("progress_steps_more", n=len(steps)), caption, width=900) + 10
            for n, (at, text) in enumerate(steps):  # a bundle's item names (left) may take more than one line
                need = max(c.text_height(at, caption, width=360), c.text_height(text, label, width=520, bold=True))
                rest = len(steps) - n
                if y + need + (0 if rest == 1 else more_h) > room:  # the slip lists them all
                    y = c.text(t("progress_steps_more", n=rest), y, caption, colour=theme.MUTED, width=900)
                    break
                below = c.text(at, y, caption, x=100, width=360, colour=theme.MUTED)
                y = max(below, c.text(text, y, label, x=470, width=520, bold=True)) + 14
        y += 20
    url = view.progress_url
    if url and y + 330 <= (print_y if printable else row_y) - 20:  # the phone QR only where it fits above the buttons
        size = c.px(260)
        c.surface.blit(qr_surface(url, size), ((c.width - size) // 2, c.px(y)))
        y = c.text(t("progress_scan_phone"), y + 280, caption, colour=theme.MUTED)
    if printable:
        buttons.append(c.button(t("progress_print"), "print", (60, print_y, 960, row_h), size=tokens.TYPE["body"],
                                icon=icons.name_for("actions", "print")))
    buttons.append(c.button(t("progress_another"), "another", (60, row_y, 470, row_h), primary=False,
                            size=label, icon=icons.name_for("actions", "scan")))
    buttons.append(c.button(t("progress_finish"), "finish", (550, row_y, 470, row_h), primary=False, size=label,
                            icon=icons.name_for("actions", "home")))
    return buttons + footer(c, t, back=True)
