"""Review before submitting, laid out like the paper form: the item, then sections with their headings —
the applicant (masked), the answers, the materials — each a table of label and value (paged when long).

Every row and heading is an entry of a paged band (screens/paging.py) drawn edge to edge, so a page reads
as one form; 上一页 / 下一页 appear under it only when it does not fit (elder mode, a long form).
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.flow.views import ReviewView
from screens import icons, paging, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

SUBMIT_TOP = 1560
FORM_X, FORM_W = 60, 960
LABEL_X, LABEL_W = 90, 370  # the label column of a row
VALUE_X, VALUE_W = 480, 520  # its value column
ROW_PAD = 14  # above and below a row's texts
HEADING_H_PAD = 16  # above and below a section heading


@dataclass(frozen=True)
class Row:
    """One entry of the form: a section heading (``value`` is None) or a label with its value."""

    label: str
    value: str | None = None
    icon: str | None = None
    """A section heading's mark, or a material's (the document camera, or the e-licence mark)."""
    colour: tuple[int, int, int] = theme.TEXT


def rows(view: ReviewView, t: Text) -> list[Row]:
    """The form's entries in reading order: each section's heading, then its rows."""
    out = [Row(t("review_section_applicant"), icon=icons.name_for("actions", "card")),
           Row(t("confirm_name"), view.applicant_name), Row(t("confirm_id"), view.applicant_id)]
    # Card fields are already in the two rows above; the rest are what the resident entered.
    answers = [Row(f.label, dict(f.choices).get(f.value, f.value) or "—") for f in view.fields if not f.locked]
    if answers:
        out += [Row(t("review_section_fields"), icon=icons.name_for("kinds", "apply")), *answers]
    materials: list[Row] = []
    for i, name in enumerate(view.item_materials):
        if view.e_licences.get(i) == "fetched":  # 数据互认: the library handed it over
            materials.append(Row(name, t("materials_licence_fetched"), icons.name_for("actions", "e_licence"),
                                 theme.SUCCESS))
        elif view.pages.get(i):
            materials.append(Row(name, t("materials_pages", count=view.pages[i])))
    if materials:
        out += [Row(t("review_section_materials"), icon=icons.name_for("actions", "camera")), *materials]
    return out


def _height(c: Canvas, row: Row) -> float:
    if row.value is None:
        return c.text_height(row.label, tokens.TYPE["label"], width=FORM_W - 120, bold=True) + 2 * HEADING_H_PAD
    label_w = LABEL_W - (tokens.ICON["inline"] + 8 if row.icon else 0)
    return max(c.text_height(row.label, tokens.TYPE["caption"], width=label_w),
               c.text_height(row.value, tokens.TYPE["label"], width=VALUE_W)) + 2 * ROW_PAD


def _draw(c: Canvas, row: Row, y: float, height: float) -> list[Button]:
    area = pygame.Rect(c.px(FORM_X), c.px(y), c.px(FORM_W), c.px(y + height) - c.px(y))
    side = tokens.ICON["inline"]
    if row.value is None:  # a section heading: a tinted band, its mark and its title
        pygame.draw.rect(c.surface, theme.SECONDARY, area)
        pygame.draw.rect(c.surface, theme.CARD_EDGE, area, width=max(1, c.px(2)))
        line = c.text_height("国", tokens.TYPE["label"], bold=True)
        icons.draw(c.surface, row.icon, (c.px(LABEL_X + side / 2), c.px(y + HEADING_H_PAD + line / 2)), c.px(side),
                   theme.ICON)
        c.text(row.label, y + HEADING_H_PAD, tokens.TYPE["label"], bold=True, colour=theme.TEXT,
               x=LABEL_X + side + 16, width=FORM_W - 120)
        return []
    pygame.draw.rect(c.surface, theme.CARD, area)
    pygame.draw.rect(c.surface, theme.CARD_EDGE, area, width=max(1, c.px(1)))
    pygame.draw.line(c.surface, theme.CARD_EDGE, (c.px(VALUE_X - 16), area.top), (c.px(VALUE_X - 16), area.bottom - 1),
                     max(1, c.px(1)))
    label_x = LABEL_X
    if row.icon:
        line = c.text_height("国", tokens.TYPE["caption"])
        icons.draw(c.surface, row.icon, (c.px(LABEL_X + side / 2), c.px(y + ROW_PAD + line / 2)), c.px(side),
                   theme.SUCCESS if row.colour == theme.SUCCESS else theme.ICON)
        label_x += side + 8
    c.text(row.label, y + ROW_PAD, tokens.TYPE["caption"], colour=theme.MUTED, x=label_x,
           width=LABEL_W - (label_x - LABEL_X))
    c.text(row.value, y + ROW_PAD, tokens.TYPE["label"], colour=row.colour, x=VALUE_X, width=VALUE_W)
    return []


def draw(c: Canvas, view: ReviewView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("review_title"))
    # The item applied for, with its department's mark (a long name takes 2 lines).
    side = tokens.ICON["inline"]
    line = c.text_height("国", tokens.TYPE["heading"], bold=True)
    icons.draw(c.surface, icons.for_target(f"item:{view.item_code}"), (c.px(60 + side / 2), c.px(180 + line / 2)),
               c.px(side), theme.ICON)
    top = max(c.text(view.item_name, 180, tokens.TYPE["heading"], bold=True, colour=theme.HEADER,
                     x=60 + side + 16, width=960 - side - 16), 180 + side) + 16
    bottom = SUBMIT_TOP - 20
    if not view.available.get("platform", True):
        note = t("review_offline")
        bottom -= c.text_height(note, tokens.TYPE["caption"], width=940) + 10
        c.text(note, bottom + 5, tokens.TYPE["caption"], colour=theme.MUTED, width=940)
    entries = rows(view, t)
    heights = [_height(c, r) for r in entries]
    pager_y = bottom - paging.pager_height(bool(view.elder))
    fits = sum(heights) <= bottom - top
    band = paging.Band(c, top, bottom if fits else pager_y - 15, heights, gap=0)
    buttons = band.draw(lambda i, y: _draw(c, entries[i], y, heights[i]))
    buttons += paging.pager(c, t, band.scrolled, pager_y)
    buttons.append(c.button(t("review_submit"), "submit", (140, SUBMIT_TOP, 800, 170), size=tokens.TYPE["heading"],
                            icon=icons.name_for("actions", "send")))
    return buttons + footer(c, t, back=True)
