"""Materials from the document camera: one row per material, page preview, take and retake."""

from __future__ import annotations

import io

import pygame

from kiosk.flow.views import DOCUMENT_IMAGE, MASKED_IMAGE, MaterialsView
from screens import theme
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas


def draw(c: Canvas, view: MaterialsView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("materials_title"))
    c.text(t("materials_hint"), 180, 34, colour=theme.MUTED, width=960)
    buttons: list[Button] = []
    pages = view.pages
    previews = view.previews
    optional = view.materials_optional
    y = 280.0
    for i, name in enumerate(view.item_materials[:5]):
        c.panel((60, y, 960, 240))
        label = name + (t("form_optional") if i < len(optional) and optional[i] else "")
        c.text(label, y + 20, 36, bold=True, x=90, width=620)
        count = pages.get(i, 0)
        if view.capturing == i:
            c.text(t("materials_capturing"), y + 100, 32, colour=theme.MUTED, x=90, width=600)
        elif count:
            c.text(t("materials_pages", count=count), y + 100, 32, colour=theme.SUCCESS, x=90, width=600)
            buttons.append(c.button(t("materials_retake"), f"retake:{i}", (90, y + 150, 300, 80), primary=False,
                                    size=32))
        else:
            buttons.append(c.button(t("materials_take"), f"capture:{i}", (90, y + 130, 400, 90), size=36))
        preview = previews.get(i)
        if preview == MASKED_IMAGE:  # the operators' mirror: a placeholder, never the page
            c.panel((790, y + 20, 200, 200))
            c.text(DOCUMENT_IMAGE, y + 70, 26, colour=theme.MUTED, x=800, width=180)
        elif preview:
            img = _rgb(pygame.image.load(io.BytesIO(preview), "p.png"))
            box = c.px(200)
            scale = box / max(img.get_size())
            img = pygame.transform.smoothscale(img, (int(img.get_width() * scale), int(img.get_height() * scale)))
            c.surface.blit(img, (c.px(790), c.px(y + 20)))
        y += 260
    buttons.append(c.button(t("button_next"), "next", (140, 1580, 800, 150), size=52))
    return buttons + footer(c, t, back=True)


def _rgb(img: pygame.Surface) -> pygame.Surface:
    """A grey (8-bit) preview as a 24-bit surface, which smoothscale needs."""
    out = pygame.Surface(img.get_size(), depth=24)
    out.blit(img, (0, 0))
    return out
