"""免申即办: 您已自动享受… — what the platform granted without an application, with its dates and amounts.

After the card was read (``purpose == "notice"``): one touch continues where the resident was. Asked on
an exempt item (``status``): that item's state, its decision to print when it was granted.
"""

from __future__ import annotations

from kiosk.flow.views import MASK, BenefitRow, ExemptView, View
from screens import paging, theme
from screens.chrome import Text, footer
from screens.done import day_text
from screens.messages import message_box
from screens.widgets import Button, Canvas

BUTTONS_TOP = 1540


def row_lines(row: BenefitRow, language: str, t: Text) -> list[str]:
    """What one benefit says under its name: its date and its amount (masked values as they are)."""
    lines: list[str] = []
    if row.day:
        day = row.day if row.day == MASK else day_text(row.day, language)
        lines.append(t("exempt_granted_on" if row.status == "granted" else "exempt_due_on", date=day))
    if row.amount:
        lines.append(t("exempt_amount_month" if row.period == "month" else "exempt_amount", amount=row.amount))
    return lines


def _row(c: Canvas, row: BenefitRow, language: str, t: Text, y: float, *, draw: bool) -> float:
    """One benefit as a card from design ``y``; returns the y below it (nothing drawn unless ``draw``)."""
    lines = row_lines(row, language, t)
    status = t("exempt_granted" if row.status == "granted" else "exempt_due")
    height = 30.0 + c.text_height(row.name, 40, width=880, bold=True) + 12 + c.text_height(status, 34, width=880)
    height += sum(10 + c.text_height(line, 34, width=880) for line in lines) + 30
    if draw:
        c.panel((60, y, 960, height))
        below = c.text(row.name, y + 30, 40, bold=True, x=100, width=880)
        below = c.text(status, below + 12, 34, bold=True, x=100, width=880,
                       colour=theme.SUCCESS if row.status == "granted" else theme.HEADER)
        for line in lines:
            below = c.text(line, below + 10, 34, x=100, width=880)
    return y + height


def _drawn(c: Canvas, row: BenefitRow, language: str, t: Text, y: float) -> list[Button]:
    _row(c, row, language, t, y, draw=True)
    return []


def draw(c: Canvas, view: ExemptView, t: Text) -> list[Button]:
    c.fill()
    status = view.purpose == "status"
    c.header(view.item_name if status and view.item_name else t("exempt_title"))
    y = c.text(t("exempt_status_hint" if status else "exempt_hint"), 190, 36, colour=theme.MUTED, width=960) + 30
    buttons: list[Button] = []
    if not view.benefits and status:
        message_box(c, t("exempt_none"), "info", y)
    elif view.benefits:  # as many as fit, the rest on the next page (下一页)
        pager_y = BUTTONS_TOP - 15 - paging.pager_height(bool(view.elder))
        rows = view.benefits
        heights = [_row(c, r, view.language, t, 0, draw=False) for r in rows]
        band = paging.Band(c, y, pager_y - 15, heights, gap=20)
        buttons += band.draw(lambda i, top: _drawn(c, rows[i], view.language, t, top))
        buttons += paging.pager(c, t, band.scrolled, pager_y)
    if view.printable:
        buttons.append(c.button(t("exempt_print"), "print", (60, BUTTONS_TOP, 470, 170), size=44))
        buttons.append(c.button(t("exempt_done"), "continue", (550, BUTTONS_TOP, 470, 170), primary=False, size=44))
    else:
        buttons.append(c.button(t("exempt_done" if status else "exempt_continue"), "continue",
                                (140, BUTTONS_TOP, 800, 170), size=56))
    return buttons + footer(c, t)


def spoken(view: View, t: Text) -> str:
    """What speech adds for 免申即办 on the loudspeaker: that there is something, not what it is (benefits,
    dates and amounts are read on screen, or in audio mode through the headphones, never to the hall);
    on an exempt item's detail, that no application is needed."""
    if view.screen == "detail":
        return f"{t('detail_exempt')}。{t('detail_exempt_hint')}" if view.item_exempt else ""
    if not isinstance(view, ExemptView):
        return ""
    if view.purpose == "status":
        return t("exempt_status_hint") if view.benefits else f"{t('exempt_status_hint')}。{t('exempt_none')}"
    return t("exempt_hint")
