"""免申即办: 您已自动享受… — what the platform granted without an application, with its dates and amounts.

After the card was read (``purpose == "notice"``): one touch continues where the resident was. Asked on
an exempt item (``status``): that item's state, its decision to print when it was granted.
"""

from __future__ import annotations

from kiosk.flow.views import MASK, BenefitRow, ExemptView, View
from screens import icons, paging, theme, tokens
from screens.chrome import Text, footer
from screens.done import day_text
from screens.messages import message_box
from screens.widgets import Button, Canvas

BUTTONS_TOP = 1540
NAME, LINE = tokens.TYPE["body"], tokens.TYPE["label"]  # a benefit's name; its state, date and amount
SIDE = tokens.ICON["inline"]
TEXT_X = 100 + SIDE + 16  # a card's words, right of its department's mark
TEXT_W = 1000 - TEXT_X
STATUS_MARK = 110  # design px: the asked item's state mark (as screens/result.py)


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
    height = 30.0 + c.text_height(row.name, NAME, width=TEXT_W, bold=True) + 12 + c.text_height(status, LINE,
                                                                                                 width=TEXT_W)
    height += sum(10 + c.text_height(line, LINE, width=TEXT_W) for line in lines) + 30
    if draw:
        c.panel((60, y, 960, height))
        # The item's department (综合's on the operators' mirror, which never shows which benefit) …
        name_line = c.text_height("国", NAME, bold=True)
        mark = icons.for_target(f"item:{row.code}") if row.code else None
        icons.draw(c.surface, mark or icons.name_for("departments", "zh"),
                   (c.px(100 + SIDE / 2), c.px(y + 30 + name_line / 2)), c.px(SIDE), theme.ICON)
        below = c.text(row.name, y + 30, NAME, bold=True, x=TEXT_X, width=TEXT_W)
        # … and its state's mark beside the state.
        granted = row.status == "granted"
        state_line = c.text_height("国", LINE, bold=True)
        icons.draw(c.surface, icons.name_for("status", "success" if granted else "info"),
                   (c.px(100 + SIDE / 2), c.px(below + 12 + state_line / 2)), c.px(SIDE * 3 // 4),
                   theme.SUCCESS if granted else theme.HEADER)
        below = c.text(status, below + 12, LINE, bold=True, x=TEXT_X, width=TEXT_W,
                       colour=theme.SUCCESS if granted else theme.HEADER)
        for line in lines:
            below = c.text(line, below + 10, LINE, x=TEXT_X, width=TEXT_W)
    return y + height


def _drawn(c: Canvas, row: BenefitRow, language: str, t: Text, y: float) -> list[Button]:
    _row(c, row, language, t, y, draw=True)
    return []


def _statement(c: Canvas, view: ExemptView, t: Text, y: float) -> float:
    """A large mark with the words it stands for (as screens/result.py): what was granted without applying
    (the notice), or the asked item's state; returns the y below it."""
    status = view.purpose == "status"
    first = view.benefits[0] if view.benefits else None
    if not status:
        kind, colour, words = "success", theme.SUCCESS, t("exempt_hint")
    elif first is not None and first.status == "granted":
        kind, colour, words = "success", theme.SUCCESS, t("exempt_granted")
    else:
        kind, colour, words = "info", theme.HEADER, t("exempt_due") if first is not None else t("exempt_status_hint")
    size = tokens.TYPE["heading"] if status and first is not None else tokens.TYPE["label"]
    width = 960 - STATUS_MARK - 40
    height = c.text_height(words, size, width=width, bold=True)
    icons.draw(c.surface, icons.name_for("status", kind), (c.px(60 + STATUS_MARK / 2), c.px(y + max(STATUS_MARK, height) / 2)),
               c.px(STATUS_MARK), colour)
    c.text(words, y + max(0.0, (STATUS_MARK - height) / 2), size, bold=True, colour=colour, x=60 + STATUS_MARK + 40,
           width=width)
    y += max(STATUS_MARK, height) + 16
    if status and first is not None:  # what 免申即办 means, under the state
        y = c.text(t("exempt_status_hint"), y, tokens.TYPE["label"], colour=theme.MUTED, x=60, width=960)
    return y


def draw(c: Canvas, view: ExemptView, t: Text) -> list[Button]:
    c.fill()
    status = view.purpose == "status"
    c.header(view.item_name if status and view.item_name else t("exempt_title"))
    y = _statement(c, view, t, 190) + 30
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
        buttons.append(c.button(t("exempt_print"), "print", (60, BUTTONS_TOP, 470, 170), size=tokens.TYPE["body"],
                                icon=icons.name_for("actions", "print")))
        buttons.append(c.button(t("exempt_done"), "continue", (550, BUTTONS_TOP, 470, 170), primary=False,
                                size=tokens.TYPE["body"]))
    else:
        buttons.append(c.button(t("exempt_done" if status else "exempt_continue"), "continue",
                                (140, BUTTONS_TOP, 800, 170), size=tokens.TYPE["heading"]))
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
