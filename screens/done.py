"""Done: what happened, in words true for this item kind; the receipt number; the 好差评 rating.

The title and the "take your paper" line are chosen by the item's kind and whether the slip came out
(a guide prints a guide, an application a 受理回执, a certification says 认证成功 and when the next one
is due). The five rating levels are equal: one style, one size, in the national 好差评 order
(非常满意 … 非常不满意), none pre-selected.
"""

from __future__ import annotations

from datetime import date

from kiosk.flow.views import PRINT_REASONS, View
from screens import icons, theme, tokens
from screens.chrome import Text
from screens.messages import message_box
from screens.qr import qr_surface
from screens.widgets import Button, Canvas

TITLED_KINDS = ("guide", "query", "apply", "appointment", "certification")
TAKE = {"guide": "take_guide", "query": "take_query", "print": "take_print", "apply": "take_apply",
        "appointment": "take_appointment", "certification": "take_certification"}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LEVELS = (1, 2, 3, 4, 5)  # 1 非常满意 … 5 非常不满意 (kiosk/flow/model.py RATING_LEVELS)


def one_line_size(c: Canvas, text: str, size: int, width: float) -> int:
    """The design size (after elder mode's enlargement) at which ``text`` fits ``width`` on one line,
    never below the mode's minimum: a receipt number must not be broken or cut."""
    size = c.size(size)
    floor = theme.ELDER_MIN_PX if c.elder else 28
    while size > floor and theme.font(c.px(size), True).size(text)[0] > c.px(width):
        size -= 2
    return size


def title_key(view: View) -> str:
    """The done screen's title for the item's kind (a guide that did not come out is not "printed")."""
    if view.item_kind == "guide" and not view.printed:
        return "kind_guide"
    kind = done_kind(view)
    return f"done_title_{kind}" if kind in TITLED_KINDS else "done_title"


def done_kind(view: View) -> str:
    """The kind the done screen speaks of: an exempt item's status (免申即办) was a query, not an application."""
    return "query" if view.item_exempt else view.item_kind


def day_text(iso: str, language: str) -> str:
    """An ISO date as the resident reads it: 2027年11月21日, or 21 Nov 2027."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    if language == "en":
        return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def outcome_texts(view: View, t: Text) -> list[str]:
    """What the screen says happened, in order (also what speech says after the title)."""
    texts = []
    if view.paid_text:
        texts.append(t("done_paid", amount=view.paid_text))
    if view.item_kind == "certification" and view.next_due:
        texts.append(t("certified_next", date=day_text(view.next_due, view.language)))
    if view.printed:
        texts.append(t(TAKE.get(done_kind(view), "printing_hint")))
    elif view.printed is False:
        texts.append(not_printed_text(view, t))
    return texts


def follow_ups_text(view: View, t: Text) -> str:
    """办结后将自动为您办理…: the items granted without applying once this one is done."""
    joined = ("; " if view.language == "en" else "、").join(view.item_follow_ups)
    return t("done_follow_ups", items=joined)


def not_printed_text(view: View, t: Text) -> str:
    """Why the slip did not print, in the resident's language, and what to do instead."""
    reason = t(f"reason_{view.print_reason}" if view.print_reason in PRINT_REASONS else "reason_print_unknown")
    return t("done_not_printed" if view.receipt_no else "done_not_printed_plain", reason=reason)


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t(title_key(view)))
    # A large status mark beside the words that say the same (the title above): done. When the paper
    # did not come out, the warning below carries its own mark (screens/messages.py) and needs the room.
    top = 220
    if view.printed is not False:
        side = 110 if view.elder else 140
        icons.draw(c.surface, icons.name_for("status", "success"), (c.width // 2, c.px(185 + side / 2)), c.px(side),
                   theme.SUCCESS)
        top = 185 + side + 10
    y = max(top + 110, c.text(view.item_name, top, tokens.TYPE["heading"], bold=True, colour=theme.HEADER) + 10)
    if view.item_kind == "certification" and view.next_due:
        text = f"{t('done_title_certification')}。{t('certified_next', date=day_text(view.next_due, view.language))}"
        y = message_box(c, text, "success", y) + 20
    if view.paid_text:  # paid, as the payment platform confirmed it
        y = message_box(c, t("done_paid", amount=view.paid_text), "success", y) + 20
    if view.receipt_no:
        below = c.text(t("done_receipt"), y, tokens.TYPE["label"], colour=theme.MUTED)
        y = c.text(view.receipt_no, below + 4, one_line_size(c, view.receipt_no, tokens.TYPE["heading"], 960),
                   bold=True, asked=True)
    if view.item_follow_ups and view.item_kind == "apply" and view.receipt_no:  # 免申即办, once it is done
        y = c.text(follow_ups_text(view, t), y + 20, tokens.TYPE["caption"], colour=theme.SUCCESS, width=960)
    if view.printed:
        y = c.text(t(TAKE.get(done_kind(view), "printing_hint")), y + 30, tokens.TYPE["body"], colour=theme.MUTED,
                   width=900)
    elif view.printed is False:  # None: nothing was to be printed (a query finished on screen)
        y = message_box(c, not_printed_text(view, t), "warning", y + 30)
        if view.result_url:
            # The electronic copy: the resident scans it with the government app instead of paper.
            qr = 220 if view.elder else 300  # elder mode's larger text needs the room for the rating
            size = c.px(qr)
            c.surface.blit(qr_surface(view.result_url, size), ((c.width - size) // 2, c.px(y + 10)))
            y = c.text(t("done_scan_qr"), y + qr + 30, tokens.TYPE["label"], colour=theme.MUTED, width=960)
    if view.rating_followup:
        # A bad rating is followed up: what went wrong, in one touch.
        y = c.text(t("why_prompt"), max(y + 50, 640), tokens.TYPE["body"], bold=True, width=900)
        buttons = [c.button(t("why_" + r), f"why:{r}", (60 + (i % 2) * 490, y + 30 + (i // 2) * 170, 470, 150),
                            primary=False, size=tokens.TYPE["label"])
                   for i, r in enumerate(("slow", "unclear", "device", "not_done"))]
        return buttons + [c.button(t("button_help"), "help", (340, y + 380, 400, 110), primary=False,
                                   size=tokens.TYPE["label"], icon=icons.name_for("actions", "help"))]
    y = c.text(t("rate_prompt"), max(y + 40, 600), tokens.TYPE["heading"], bold=True, width=960)
    # Five levels, one under the other, all in one style and one size: a rating screen must not steer.
    # Full-width rows leave every label room on one line (非常不满意 is never broken).
    # The rows give way (never below 72 px) when the page above took more room (elder mode, no paper).
    room = theme.BASE_WIDTH * 16 / 9 - 20 - (y + 20) - 130
    gap = 14
    height = max(72, min(120 if view.elder else 100, int(room / len(LEVELS)) - gap))
    buttons = [c.button(t(f"rate_{level}"), f"rate:{level}", (60, y + 20 + i * (height + gap), 960, height),
                        primary=False, size=tokens.TYPE["body"])
               for i, level in enumerate(LEVELS)]
    y += 20 + len(LEVELS) * (height + gap) + 10
    buttons.append(c.button(t("button_home"), "home", (120, y, 400, 110), primary=False, size=tokens.TYPE["body"],
                            icon=icons.name_for("actions", "home")))
    buttons.append(c.button(t("button_help"), "help", (560, y, 400, 110), primary=False, size=tokens.TYPE["label"],
                            icon=icons.name_for("actions", "help")))
    return buttons
