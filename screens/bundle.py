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

from kiosk.flow.views import BundlePart, BundleView, ListView, shared
from screens import itemlist, paging, theme
from screens.chrome import Text, footer
from screens.done import not_printed_text
from screens.messages import message_box
from screens.qr import qr_surface
from screens.widgets import Button, Canvas

ACTION = (140, 1560, 800, 170)  # the screen's one big button (as the review's 确认提交)
Line = tuple[str, int, bool, tuple[int, int, int]]  # text, size, bold, colour


def how(part: BundlePart, t: Text) -> str:
    return t(f"bundle_how_{part.handling}")


def draw_intro(c: Canvas, view: BundleView, t: Text) -> list[Button]:
    c.fill()
    c.header(view.bundle_name or view.item_name)
    y = c.text(view.bundle_summary, 180, 34, colour=theme.TEXT, width=960) + 6
    y = c.text(t("bundle_hint", count=len(view.parts)), y, 30, colour=theme.MUTED, width=960) + 10
    entries = [(p.code, p.name, f"{p.department} · {how(p, t)}", "") for p in view.parts]
    listed = ListView(**shared(view), list=entries)
    buttons = itemlist.draw_list(c, listed, t, y, ACTION[1] - 20)
    if view.bundle_unavailable:
        c.text(t(view.bundle_unavailable), ACTION[1] + 50, 36, colour=theme.DANGER, width=900)
    else:
        buttons.append(c.button(t("bundle_start"), "start", ACTION, size=56))
    return buttons + footer(c, t, back=True)


def draw_parts(c: Canvas, view: BundleView, t: Text, top: float, bottom: float,
               lines_of: Callable[[BundlePart], list[Line]]) -> list[Button]:
    """Each part as a card of lines in a paged band between ``top`` and ``bottom`` (the pager below)."""
    pager_h = paging.pager_height(bool(view.elder))
    width = 880
    cards = [lines_of(p) for p in view.parts]
    heights = [sum(c.text_height(text, size, width=width, bold=bold) for text, size, bold, _ in lines) + 40
               for lines in cards]
    band = paging.Band(c, top, bottom - pager_h - 10, heights, gap=16)

    def card(index: int, y: float) -> list[Button]:
        pygame.draw.rect(c.surface, theme.CARD, (c.px(60), c.px(y), c.px(960), c.px(heights[index])),
                         border_radius=c.px(16))
        pygame.draw.rect(c.surface, theme.CARD_EDGE, (c.px(60), c.px(y), c.px(960), c.px(heights[index])),
                         width=max(2, c.px(2)), border_radius=c.px(16))
        at = y + 20
        for text, size, bold, colour in cards[index]:
            at = c.text(text, at, size, bold=bold, colour=colour, x=100, width=width)
        return []

    return band.draw(card) + paging.pager(c, t, band.scrolled, bottom - pager_h)


def draw_review(c: Canvas, view: BundleView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("bundle_review_title"))
    y = c.text(view.bundle_name, 180, 40, bold=True, colour=theme.HEADER) + 4
    y = c.text(f"{t('confirm_name')}：{view.applicant_name}    {t('confirm_id')}：{view.applicant_id}", y, 30,
               colour=theme.MUTED, width=960) + 10

    sep = ", " if view.language == "en" else "、"

    def lines(p: BundlePart) -> list[Line]:
        out: list[Line] = [(p.name, 36, True, theme.TEXT),
                           (t("bundle_review_to", department=p.department) + f" · {how(p, t)}", 30, False,
                            theme.MUTED)]
        if p.handling == "apply":
            out.append((t("bundle_review_fields", fields=sep.join(p.fields) if p.fields
                         else t("bundle_review_nothing")), 30, False, theme.TEXT))
            if p.materials:
                out.append((t("bundle_review_materials", materials=sep.join(p.materials)), 30, False, theme.TEXT))
        return out

    buttons = draw_parts(c, view, t, y, ACTION[1] - 20, lines)
    if not view.available.get("platform", True):
        c.text(t("review_offline"), 1460, 30, colour=theme.MUTED, width=940)
    buttons.append(c.button(t("bundle_submit"), "submit", ACTION, size=56))
    return buttons + footer(c, t, back=True)


def state_line(p: BundlePart, t: Text) -> Line:
    if p.state == "accepted":
        return t("bundle_state_accepted", receipt=p.receipt_no), 32, True, theme.SUCCESS
    if p.state == "failed":
        return t("bundle_state_failed", reason=t(p.reason_key or "error_not_stored")), 32, True, theme.DANGER
    if p.state == "printed":
        return t("bundle_state_printed"), 32, False, theme.TEXT
    return t("bundle_state_separate"), 32, False, theme.MUTED


def delivery_line(p: BundlePart, t: Text) -> Line | None:
    """How far an accepted item got: delivered to its department, waiting (retried), or stopped."""
    if p.state != "accepted":
        return None
    if p.delivery == "delivered":
        return t("bundle_delivery_delivered", department=p.department), 30, False, theme.SUCCESS
    if p.delivery in ("queued", "sending"):
        return t("bundle_delivery_waiting", department=p.department), 30, False, theme.MUTED
    if p.delivery in ("rejected", "expired"):
        return t("bundle_delivery_stopped", department=p.department), 30, True, theme.DANGER
    return None


def draw_result(c: Canvas, view: BundleView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("bundle_result_title"))
    y = c.text(view.bundle_name, 180, 40, bold=True, colour=theme.HEADER) + 4
    if view.printed:
        y = c.text(t("bundle_take"), y, 32, colour=theme.MUTED, width=960) + 10
    elif view.printed is False:
        y = message_box(c, not_printed_text(view, t), "warning", y) + 10
    bottom = ACTION[1] - 20
    if view.printed is False and view.result_url:  # the electronic copy instead of the paper
        qr = 220
        size = c.px(qr)
        c.surface.blit(qr_surface(view.result_url, size), ((c.width - size) // 2, c.px(bottom - qr - 70)))
        c.text(t("done_scan_qr"), bottom - 60, 30, colour=theme.MUTED, width=960)
        bottom -= qr + 90

    def lines(p: BundlePart) -> list[Line]:
        out = [(p.name, 36, True, theme.TEXT), (p.department, 30, False, theme.MUTED), state_line(p, t)]
        delivery = delivery_line(p, t)
        return out + [delivery] if delivery is not None else out

    buttons = draw_parts(c, view, t, y, bottom, lines)
    buttons.append(c.button(t("bundle_finish"), "finish", ACTION, size=56))
    return buttons + footer(c, t)
