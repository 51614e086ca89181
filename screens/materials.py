"""Materials from the document camera: one card per material (paged), page preview, take and retake.

Each card carries its icon: the document camera for a page to take, the e-licence mark (数据互认) for one
the library hands over, so a fetched licence and a page to photograph are told apart at a glance."""

from __future__ import annotations

import io

import pygame

from kiosk.flow.views import DOCUMENT_IMAGE, MASKED_IMAGE, MaterialsView
from screens import guidance, icons, paging, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

NEXT_TOP = 1580  # 下一步, under the band and its pager
GUIDE_H, GUIDE_MIN = 380, 240  # the document camera's illustration (screens/guidance.py), where there is room
LABEL_X = 90 + tokens.ICON["inline"] + 16  # a card's words, right of its icon
LABEL_W = 760 - LABEL_X  # up to the preview (x 790)


def _icon(licence: str) -> str | None:
    """A material's mark: the e-licence's (数据互认: fetched, being fetched, or none in the library) or the
    document camera's."""
    return icons.name_for("actions", "e_licence" if licence in ("fetched", "fetching") else "camera")


def _block(c: Canvas, view: MaterialsView, t: Text, i: int, y: float, *, draw: bool) -> tuple[float, list[Button]]:
    """Material ``i`` as a card from design ``y`` (drawn only if ``draw``): its height and targets."""
    optional = view.materials_optional
    label = view.item_materials[i] + (t("form_optional") if i < len(optional) and optional[i] else "")
    count = view.pages.get(i, 0)
    button_h = 110 if view.elder else 90
    ly = y + 20 + max(c.text_height(label, tokens.TYPE["label"], width=LABEL_W, bold=True), tokens.ICON["inline"]) + 10
    status = (t("materials_capturing") if view.capturing == i else
              t("materials_pages", count=count) if count else "")
    licence = view.e_licences.get(i, "")  # 数据互认: fetched, fetching, or scan (the library lacks it)
    if licence and not status:
        status = t("materials_licence_" + licence)
    takes = view.capturing != i and licence != "fetched"  # a page can be taken (also while the library is asked)
    status_h = c.text_height(status, tokens.TYPE["caption"], width=LABEL_W) + 10 if status else 0.0
    height = max(240.0, ly + status_h + (button_h if takes else 0) + 20 - y)
    if not draw:
        return height, []
    buttons: list[Button] = []
    c.panel((60, y, 960, height))
    side = tokens.ICON["inline"]
    icons.draw(c.surface, _icon(licence), (c.px(90 + side / 2), c.px(y + 20 + side / 2)), c.px(side),
               theme.SUCCESS if licence == "fetched" else theme.ICON)
    c.text(label, y + 20, tokens.TYPE["label"], bold=True, x=LABEL_X, width=LABEL_W)
    if status:
        muted = view.capturing == i or (licence in ("fetching", "scan") and not count)
        c.text(status, ly, tokens.TYPE["caption"], colour=theme.MUTED if muted else theme.SUCCESS, x=LABEL_X,
               width=LABEL_W)
    camera = icons.name_for("actions", "camera")
    if takes and count:
        buttons.append(c.button(t("materials_retake"), f"retake:{i}", (LABEL_X, ly + status_h, 320, button_h),
                                primary=False, size=tokens.TYPE["label"], icon=camera))
    elif takes:
        buttons.append(c.button(t("materials_take"), f"capture:{i}", (LABEL_X, ly + status_h, 420, button_h),
                                size=tokens.TYPE["label"], icon=camera))
    preview = view.previews.get(i)
    if preview == MASKED_IMAGE:  # the operators' mirror: a placeholder, never the page
        c.panel((790, y + 20, 200, 200))
        c.text(DOCUMENT_IMAGE, y + 70, tokens.TYPE["caption"], colour=theme.MUTED, x=800, width=180)
    elif preview:
        img = _rgb(pygame.image.load(io.BytesIO(preview), "p.png"))
        box = c.px(200)
        scale = box / max(img.get_size())
        img = pygame.transform.smoothscale(img, (int(img.get_width() * scale), int(img.get_height() * scale)))
        c.surface.blit(img, (c.px(790), c.px(y + 20)))
    return height, buttons


def draw(c: Canvas, view: MaterialsView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("materials_title"))
    # What to do, beside the document camera's mark.
    side = tokens.ICON["inline"]
    line = c.text_height("国", tokens.TYPE["body"])
    icons.draw(c.surface, icons.name_for("actions", "camera"), (c.px(60 + side / 2), c.px(180 + line / 2)),
               c.px(side), theme.ICON)
    top = max(c.text(t("materials_hint"), 180, tokens.TYPE["body"], colour=theme.TEXT, x=60 + side + 16,
                     width=960 - side - 16), 180 + side) + 20
    count = len(view.item_materials)
    pager_y = NEXT_TOP - 15 - paging.pager_height(bool(view.elder))
    heights = [_block(c, view, t, i, 0, draw=False)[0] for i in range(count)]
    needed = sum(heights) + 20 * max(0, count - 1)
    bottom = pager_y - 15
    # When every card fits, no pager is drawn: the room down to 下一步 is free.
    sentence = t("guide_where", device=t("device_document_camera"),
                 position=t("position_" + guidance.place_of(c, "document_camera")))  # as guidance.draw says it
    below = 16 + c.text_height(sentence, tokens.TYPE["body"], width=960, bold=True) + 20
    room = NEXT_TOP - below - (top + needed + 40)
    if view.capturing < 0 and room >= GUIDE_MIN:
        # Room under the cards: where the document camera is and how to lay a page under it.
        guidance.draw(c, t, "document_camera", top + needed + 40, min(room, GUIDE_H))
        bottom = top + needed
    band = paging.Band(c, top, bottom, heights, gap=20)
    buttons = band.draw(lambda i, y: _block(c, view, t, i, y, draw=True)[1])
    buttons += paging.pager(c, t, band.scrolled, pager_y)
    buttons.append(c.button(t("button_next"), "next", (140, NEXT_TOP, 800, 150), size=tokens.TYPE["heading"]))
    return buttons + footer(c, t, back=True)


def _rgb(img: pygame.Surface) -> pygame.Surface:
    """A grey (8-bit) preview as a 24-bit surface, which smoothscale needs."""
    out = pygame.Surface(img.get_size(), depth=24)
    out.blit(img, (0, 0))
    return out
