"""Materials from the document camera: one card per material (paged), page preview, take and retake."""

from __future__ import annotations

import io

import pygame

from kiosk.flow.views import DOCUMENT_IMAGE, MASKED_IMAGE, MaterialsView
from screens import paging, theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

NEXT_TOP = 1580  # 下一步, under the band and its pager


def _block(c: Canvas, view: MaterialsView, t: Text, i: int, y: float, *, draw: bool) -> tuple[float, list[Button]]:
    """Material ``i`` as a card from design ``y`` (drawn only if ``draw``): its height and targets."""
    optional = view.materials_optional
    label = view.item_materials[i] + (t("form_optional") if i < len(optional) and optional[i] else "")
    count = view.pages.get(i, 0)
    button_h = 110 if view.elder else 90
    ly = y + 20 + c.text_height(label, 36, width=660, bold=True) + 10
    status = (t("materials_capturing") if view.capturing == i else
              t("materials_pages", count=count) if count else "")
    licence = view.e_licences.get(i, "")  # 数据互认: fetched, fetching, or scan (the library lacks it)
    if licence and not status:
        status = t("materials_licence_" + licence)
    takes = view.capturing != i and licence != "fetched"  # a page can be taken (also while the library is asked)
    status_h = c.text_height(status, 32, width=660) + 10 if status else 0.0
    height = max(240.0, ly + status_h + (button_h if takes else 0) + 20 - y)
    if not draw:
        return height, []
    buttons: list[Button] = []
    c.panel((60, y, 960, height))
    c.text(label, y + 20, 36, bold=True, x=90, width=660)
    if status:
        muted = view.capturing == i or (licence in ("fetching", "scan") and not count)
        c.text(status, ly, 32, colour=theme.MUTED if muted else theme.SUCCESS, x=90, width=660)
    if takes and count:
        buttons.append(c.button(t("materials_retake"), f"retake:{i}", (90, ly + status_h, 300, button_h),
                                primary=False, size=32))
    elif takes:
        buttons.append(c.button(t("materials_take"), f"capture:{i}", (90, ly + status_h, 400, button_h), size=36))
    preview = view.previews.get(i)
    if preview == MASKED_IMAGE:  # the operators' mirror: a placeholder, never the page
        c.panel((790, y + 20, 200, 200))
        c.text(DOCUMENT_IMAGE, y + 70, 26, colour=theme.MUTED, x=800, width=180)
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
    top = c.text(t("materials_hint"), 180, 34, colour=theme.MUTED, width=960) + 20
    count = len(view.item_materials)
    pager_y = NEXT_TOP - 15 - paging.pager_height(bool(view.elder))
    heights = [_block(c, view, t, i, 0, draw=False)[0] for i in range(count)]
    band = paging.Band(c, top, pager_y - 15, heights, gap=20)
    buttons = band.draw(lambda i, y: _block(c, view, t, i, y, draw=True)[1])
    buttons += paging.pager(c, t, band.scrolled, pager_y)
    buttons.append(c.button(t("button_next"), "next", (140, NEXT_TOP, 800, 150), size=52))
    return buttons + footer(c, t, back=True)


def _rgb(img: pygame.Surface) -> pygame.Surface:
    """A grey (8-bit) preview as a 24-bit surface, which smoothscale needs."""
    out = pygame.Surface(img.get_size(), depth=24)
    out.blit(img, (0, 0))
    return out
