"""一件事 (kiosk/flow/bundle.py): the bundle's intro, its review and its result.

intro   what the bundle does, the items it includes with their departments (each opens its detail),
        开始办理
review  each item: the department it goes to, the details and the documents it carries; 全部提交
result  each item: received with its own number, or why it was not submitted; the receipt (or, when it
        did not print, the progress QR code); 完成 leads to the rating
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from kiosk.flow.views import BundlePart, BundleView
from screens import icons, paging, theme, tokens
from screens.chrome import Text, footer
from screens.done import not_printed_text
from screens.messages import message_box
from screens.qr import qr_surface
from screens.widgets import Button, Canvas

STATUS_MARK = 110  # design px: the result's mark beside its statement (as screens/result.py)
ACTION = (140, 1560, 800, 170)  # the screen's one big button (as the review's 确认提交)
Line = tuple[str, int, bool, tuple[int, int, int]]  # text, size, bold, colour
NAME, SUB = tokens.TYPE["label"], tokens.TYPE["caption"]  # a part's name; its department, state and details
SIDE = tokens.ICON["inline"]
TEXT_X = 100 + SIDE + 16  # a card's lines, right of its department's mark
TEXT_W = 1000 - TEXT_X


def how(part: BundlePart, t: Text) -> str:
    return t(f"bundle_how_{part.handling}")


def _bundle_line(c: Canvas, view: BundleView, text: str, y: float, size: int, *, colour: tuple[int, int, int],
                 bold: bool) -> float:
    """``text`` beside the bundle's mark (its life event's icon); returns the y below both."""
    line = c.text_height("国", size, bold=bold)
    icons.draw(c.surface, icons.for_target(f"bundle:{view.bundle_code}"), (c.px(60 + SIDE / 2), c.px(y + line / 2)),
               c.px(SIDE), theme.ICON)
    return max(c.text(text, y, size, bold=bold, colour=colour, x=60 + SIDE + 16, width=960 - SIDE - 16), y + SIDE)


def draw_intro(c: Canvas, view: BundleView, t: Text) -> list[Button]:
    c.fill()
    c.header(view.bundle_name or view.item_name)
    y = _bundle_line(c, view, view.bundle_summary, 180, tokens.TYPE["label"], colour=theme.TEXT, bold=False) + 6
    y = c.text(t("bundle_hint", count=len(view.parts)), y, tokens.TYPE["caption"], colour=theme.MUTED,
               x=60 + SIDE + 16, width=960 - SIDE - 16) + 16
    buttons = _part_rows(c, view, t, y, ACTION[1] - 20)
    if view.bundle_unavailable:
        c.text(t(view.bundle_unavailable), ACTION[1] + 50, tokens.TYPE["label"], colour=theme.DANGER, width=900)
    else:
        buttons.append(c.button(t("bundle_start"), "start", ACTION, size=tokens.TYPE["heading"],
                                icon=icons.for_target(f"bundle:{view.bundle_code}")))
    return buttons + footer(c, t, back=True)


def _part_rows(c: Canvas, view: BundleView, t: Text, top: float, bottom: float) -> list[Button]:
    """The bundle's items as rows (paged): each with its department's mark, its name, the department and
    what the bundle does with it; a touch opens its detail."""
    pager_h = paging.pager_height(bool(view.elder))
    lines = [(p.name, f"{p.department} · {how(p, t)}") for p in view.parts]
    least = tokens.TARGET_MIN["elder" if view.elder else "standard"]
    heights = [max(least, c.text_height(name, NAME, width=TEXT_W, bold=True) + 8
                   + c.text_height(sub, SUB, width=TEXT_W) + 40) for name, sub in lines]
    band = paging.Band(c, top, bottom - pager_h - 10, heights, gap=14)

    def row(index: int, y: float) -> list[Button]:
        part, (name, sub) = view.parts[index], lines[index]
        target = f"detail:{part.code}"
        area = pygame.Rect(c.px(60), c.px(y), c.px(960), c.px(y + heights[index]) - c.px(y))
        pressed = c.pressed == target
        pygame.draw.rect(c.surface, theme.PRESSED if pressed else theme.CARD, area,
                         border_radius=c.px(tokens.RADIUS["m"]))
        pygame.draw.rect(c.surface, theme.CARD_EDGE, area, width=max(2, c.px(2)), border_radius=c.px(tokens.RADIUS["m"]))
        mark = icons.for_target(f"item:{part.code}")
        icons.draw(c.surface, mark, (c.px(100 + SIDE / 2), area.centery), c.px(SIDE),
                   theme.PRESSED_TEXT if pressed else theme.ICON)
        c.button_icons[target] = mark or ""  # a control naming an item, with its icon (the visual-language check)
        block = c.text_height(name, NAME, width=TEXT_W, bold=True) + 8 + c.text_height(sub, SUB, width=TEXT_W)
        at = y + (heights[index] - block) / 2
        at = c.text(name, at, NAME, bold=True, colour=theme.PRESSED_TEXT if pressed else theme.TEXT, x=TEXT_X,
                    width=TEXT_W, part=target) + 8
        c.text(sub, at, SUB, colour=theme.PRESSED_TEXT if pressed else theme.MUTED, x=TEXT_X, width=TEXT_W,
               part=target)
        return [Button(area, target, f"{name} · {sub}")]

    return band.draw(row) + paging.pager(c, t, band.scrolled, bottom - pager_h)


def draw_parts(c: Canvas, view: BundleView, t: Text, top: float, bottom: float,
               lines_of: Callable[[BundlePart], list[Line]],
               mark_of: Callable[[BundlePart], tuple[str | None, tuple[int, int, int]]] | None = None) -> list[Button]:
    """Each part as a card of lines in a paged band between ``top`` and ``bottom`` (the pager below), its
    department's mark at the left (``mark_of``: another mark and its colour, e.g. the part's state)."""
    pager_h = paging.pager_height(bool(view.elder))
    width = TEXT_W
    cards = [lines_of(p) for p in view.parts]
    heights = [sum(c.text_height(text, size, width=width, bold=bold) for text, size, bold, _ in lines) + 40
               for lines in cards]
    band = paging.Band(c, top, bottom - pager_h - 10, heights, gap=16)

    def card(index: int, y: float) -> list[Button]:
        pygame.draw.rect(c.surface, theme.CARD, (c.px(60), c.px(y), c.px(960), c.px(heights[index])),
                         border_radius=c.px(16))
        pygame.draw.rect(c.surface, theme.CARD_EDGE, (c.px(60), c.px(y), c.px(960), c.px(heights[index])),
                         width=max(2, c.px(2)), border_radius=c.px(16))
        part = view.parts[index]
        mark, ink = mark_of(part) if mark_of is not None else (icons.for_target(f"item:{part.code}"), theme.ICON)
        first = cards[index][0]
        line = c.text_height("国", first[1], bold=first[2])
        icons.draw(c.surface, mark, (c.px(100 + SIDE / 2), c.px(y + 20 + line / 2)), c.px(SIDE), ink)
        at = y + 20
        for n, (text, size, bold, colour) in enumerate(cards[index]):
            if n == 1 and mark_of is not None:  # the department's line: its mark under the state's
                line = c.text_height("国", size, bold=bold)
                icons.draw(c.surface, icons.for_target(f"item:{part.code}"), (c.px(100 + SIDE / 2), c.px(at + line / 2)),
                           c.px(SIDE * 3 // 4), theme.ICON)
            at = c.text(text, at, size, bold=bold, colour=colour, x=TEXT_X, width=width)
        return []

    return band.draw(card) + paging.pager(c, t, band.scrolled, bottom - pager_h)


def draw_review(c: Canvas, view: BundleView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("bundle_review_title"))
    y = _bundle_line(c, view, view.bundle_name, 180, tokens.TYPE["heading"], colour=theme.HEADER, bold=True) + 4
    who = f"{t('confirm_name')}：{view.applicant_name}    {t('confirm_id')}：{view.applicant_id}"
    line = c.text_height("国", tokens.TYPE["caption"])
    icons.draw(c.surface, icons.name_for("actions", "card"), (c.px(60 + SIDE / 2), c.px(y + line / 2)), c.px(SIDE * 3 // 4),
               theme.ICON)
    y = c.text(who, y, tokens.TYPE["caption"], colour=theme.MUTED, x=60 + SIDE + 16, width=960 - SIDE - 16) + 10

    sep = ", " if view.language == "en" else "、"

    def lines(p: BundlePart) -> list[Line]:
        out: list[Line] = [(p.name, NAME, True, theme.TEXT),
                           (t("bundle_review_to", department=p.department) + f" · {how(p, t)}", SUB, False,
                            theme.MUTED)]
        if p.handling == "apply":
            out.append((t("bundle_review_fields", fields=sep.join(p.fields) if p.fields
                         else t("bundle_review_nothing")), SUB, False, theme.TEXT))
            if p.materials:
                out.append((t("bundle_review_materials", materials=sep.join(p.materials)), SUB, False, theme.TEXT))
        return out

    buttons = draw_parts(c, view, t, y, ACTION[1] - 20, lines)
    if not view.available.get("platform", True):
        c.text(t("review_offline"), 1460, tokens.TYPE["caption"], colour=theme.MUTED, width=940)
    buttons.append(c.button(t("bundle_submit"), "submit", ACTION, size=tokens.TYPE["heading"],
                            icon=icons.name_for("actions", "send")))
    return buttons + footer(c, t, back=True)


def state_line(p: BundlePart, t: Text) -> Line:
    if p.state == "accepted":
        return t("bundle_state_accepted", receipt=p.receipt_no), SUB, True, theme.SUCCESS
    if p.state == "failed":
        return t("bundle_state_failed", reason=t(p.reason_key or "error_not_stored")), SUB, True, theme.DANGER
    if p.state == "printed":
        return t("bundle_state_printed"), SUB, False, theme.TEXT
    return t("bundle_state_separate"), SUB, False, theme.MUTED


def delivery_line(p: BundlePart, t: Text) -> Line | None:
    """How far an accepted item got: delivered to its department, waiting (retried), or stopped."""
    if p.state != "accepted":
        return None
    if p.delivery == "delivered":
        return t("bundle_delivery_delivered", department=p.department), SUB, False, theme.SUCCESS
    if p.delivery in ("queued", "sending"):
        return t("bundle_delivery_waiting", department=p.department), SUB, False, theme.MUTED
    if p.delivery in ("rejected", "expired"):
        return t("bundle_delivery_stopped", department=p.department), SUB, True, theme.DANGER
    return None


def part_mark(p: BundlePart) -> tuple[str | None, tuple[int, int, int]]:
    """A result card's mark: received (or printed), not submitted, or to be done separately."""
    if p.state in ("accepted", "printed"):
        return icons.name_for("status", "success"), theme.SUCCESS
    if p.state == "failed":
        return icons.name_for("status", "error"), theme.DANGER
    return icons.name_for("status", "info"), theme.ICON


def draw_result(c: Canvas, view: BundleView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("bundle_result_title"))
    y = _bundle_line(c, view, view.bundle_name, 180, tokens.TYPE["heading"], colour=theme.HEADER, bold=True) + 10
    # A large status mark with the words it stands for (as screens/result.py): all received, or how many not.
    failed = sum(1 for p in view.parts if p.state == "failed")
    kind, colour = ("warning", theme.WARNING) if failed else ("success", theme.SUCCESS)
    ink = theme.TEXT if failed else theme.SUCCESS  # the warning colour is for marks, not text (< 7:1)
    statement = t("bundle_result_partly", failed=failed) if failed else t("bundle_result_done")
    mark = STATUS_MARK
    words = c.text_height(statement, tokens.TYPE["heading"], width=960 - mark - 40, bold=True)
    icons.draw(c.surface, icons.name_for("status", kind), (c.px(60 + mark / 2), c.px(y + max(mark, words) / 2)),
               c.px(mark), colour)
    c.text(statement, y + max(0.0, (mark - words) / 2), tokens.TYPE["heading"], bold=True, colour=ink,
           x=60 + mark + 40, width=960 - mark - 40)
    y += max(mark, words) + 16
    if view.printed:
        y = c.text(t("bundle_take"), y, tokens.TYPE["caption"], colour=theme.MUTED, width=960) + 10
    elif view.printed is False:
        y = message_box(c, not_printed_text(view, t), "warning", y) + 10
    bottom = ACTION[1] - 20
    if view.printed is False and view.result_url:  # the electronic copy instead of the paper
        qr = 220
        size = c.px(qr)
        c.surface.blit(qr_surface(view.result_url, size), ((c.width - size) // 2, c.px(bottom - qr - 70)))
        c.text(t("done_scan_qr"), bottom - 60, tokens.TYPE["caption"], colour=theme.MUTED, width=960)
        bottom -= qr + 90

    def lines(p: BundlePart) -> list[Line]:
        out = [(p.name, NAME, True, theme.TEXT), (p.department, SUB, False, theme.MUTED), state_line(p, t)]
        delivery = delivery_line(p, t)
        return out + [delivery] if delivery is not None else out

    buttons = draw_parts(c, view, t, y, bottom, lines, part_mark)
    buttons.append(c.button(t("bundle_finish"), "finish", ACTION, size=tokens.TYPE["heading"]))
    return buttons + footer(c, t)
