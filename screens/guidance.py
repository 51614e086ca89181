"""Device guidance: short looping illustrations, drawn in code, of what to do with a device and where it
sits on this cabinet (settings [cabinet], handed to the canvas by screens/visual.py).

Each illustration has two parts side by side: the cabinet seen from the front with the device's place
marked (a ring around it), and the gesture (the card laid on the reader, the card pushed into the slot,
the phone's code held to the window, the page laid under the camera, the slip taken from the slot).
With motion on (screens/motion.py) the gesture loops every ``tokens.MOTION["guidance"]`` ms; without it
(reduced motion, audio mode, the tests and screenshots) the key frame is drawn, the gesture completed.
A sentence says the same in words (``guide_where``): the drawing never carries the meaning alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pygame

from screens import icons, theme, tokens
from screens.chrome import Text
from screens.widgets import Canvas

DEVICES = ("id_card_reader", "ssc_reader", "scanner", "document_camera", "printer")
DEFAULT_PLACES = {"id_card_reader": "below_right", "ssc_reader": "below_left", "scanner": "below_centre",
                  "document_camera": "right", "printer": "below_centre"}
KEY_FRAME = 0.75  # the still frame: the gesture done (the card on the reader, the slip out)
WHITE = (255, 255, 255)


def phase(c: Canvas) -> float:
    """Where in its loop the gesture is (0–1): the key frame when motion is off."""
    if c.anim_ms is None:
        return KEY_FRAME
    return (c.anim_ms % tokens.MOTION["guidance"]) / tokens.MOTION["guidance"]


def place_of(c: Canvas, device: str) -> str:
    return c.cabinet.get(device, DEFAULT_PLACES[device])


def draw(c: Canvas, t: Text, device: str, top: float, height: float = 420) -> float:
    """The illustration for ``device`` in the band from ``top`` (design px), and the sentence under it
    saying where the device is; returns the y below the sentence."""
    box = pygame.Rect(c.px(60), c.px(top), c.px(tokens.CONTENT_WIDTH), c.px(height))
    pygame.draw.rect(c.surface, theme.CARD, box, border_radius=c.px(tokens.RADIUS["l"]))
    where = place_of(c, device)
    cabinet = pygame.Rect(box.left + c.px(40), box.top + c.px(30), c.px(220), box.height - c.px(60))
    _cabinet(c, cabinet, where, phase(c))
    stage = pygame.Rect(cabinet.right + c.px(60), box.top + c.px(20), box.right - cabinet.right - c.px(100),
                        box.height - c.px(40))
    clip = c.surface.get_clip()
    c.surface.set_clip(box.inflate(-c.px(8), -c.px(8)))  # a page sliding in starts outside: cut at the box
    GESTURES[device](c, stage, phase(c))
    c.surface.set_clip(clip)
    sentence = t("guide_where", device=t(f"device_{device}"), position=t(f"position_{where}"))
    return c.text(sentence, top + height + 16, tokens.TYPE["body"], bold=True, colour=theme.HEADER, width=960)


def _cabinet(c: Canvas, rect: pygame.Rect, where: str, p: float) -> None:
    """The cabinet from the front: the screen above, the desk below it, the device's place ringed."""
    pygame.draw.rect(c.surface, theme.SECONDARY, rect, border_radius=c.px(16))
    pygame.draw.rect(c.surface, theme.SECONDARY_EDGE, rect, width=max(2, c.px(3)), border_radius=c.px(16))
    screen = pygame.Rect(rect.left + rect.width // 5, rect.top + c.px(16), rect.width * 3 // 5, rect.height * 9 // 20)
    pygame.draw.rect(c.surface, theme.HEADER, screen, border_radius=c.px(6))
    desk_y = screen.bottom + (rect.bottom - screen.bottom) // 2
    spots = {"below_left": (rect.left + rect.width // 4, desk_y), "below_centre": (rect.centerx, desk_y),
             "below_right": (rect.right - rect.width // 4, desk_y),
             "left": (rect.left + rect.width // 10, screen.centery), "right": (rect.right - rect.width // 10, screen.centery)}
    for other in spots.values():
        pygame.draw.circle(c.surface, theme.SECONDARY_EDGE, other, c.px(9))
    spot = spots.get(where, spots["below_centre"])
    pulse = 0.5 + 0.5 * math.sin(p * 2 * math.pi)
    pygame.draw.circle(c.surface, theme.PRIMARY, spot, c.px(16))
    pygame.draw.circle(c.surface, theme.DANGER, spot, c.px(30 + 8 * pulse), width=max(3, c.px(6)))


def _arrow(c: Canvas, start: tuple[int, int], end: tuple[int, int]) -> None:
    pygame.draw.line(c.surface, theme.PRIMARY, start, end, max(3, c.px(8)))
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    size = c.px(28)
    left = (end[0] - size * math.cos(angle - 0.5), end[1] - size * math.sin(angle - 0.5))
    right = (end[0] - size * math.cos(angle + 0.5), end[1] - size * math.sin(angle + 0.5))
    pygame.draw.polygon(c.surface, theme.PRIMARY, [end, left, right])


def _ease(p: float, start: float = 0.0, end: float = 0.6) -> float:
    """0 → 1 between ``start`` and ``end`` of the loop (held at 1 after it), eased."""
    x = min(1.0, max(0.0, (p - start) / (end - start)))
    return x * x * (3 - 2 * x)


def _card(c: Canvas, rect: pygame.Rect, icon: str) -> None:
    pygame.draw.rect(c.surface, WHITE, rect, border_radius=c.px(10))
    pygame.draw.rect(c.surface, theme.TEXT, rect, width=max(2, c.px(4)), border_radius=c.px(10))
    icons.draw(c.surface, icon, rect.center, min(rect.width, rect.height) * 3 // 4, theme.ICON)


def _id_card(c: Canvas, stage: pygame.Rect, p: float) -> None:
    """The ID card comes down flat onto the reader pad."""
    pad = pygame.Rect(0, 0, stage.width * 3 // 4, stage.height // 3)
    pad.midbottom = (stage.centerx, stage.bottom - c.px(10))
    pygame.draw.rect(c.surface, theme.SECONDARY, pad, border_radius=c.px(14))
    pygame.draw.rect(c.surface, theme.SECONDARY_EDGE, pad, width=max(2, c.px(3)), border_radius=c.px(14))
    icons.draw(c.surface, "nfc" if icons.exists("nfc") else "wifi", (pad.right - c.px(40), pad.centery), c.px(40),
               theme.ICON)
    card = pygame.Rect(0, 0, pad.width * 3 // 5, pad.height * 4 // 5)
    low, high = pad.centery, stage.top + card.height // 2
    card.center = (pad.centerx - c.px(20), round(high + (low - high) * _ease(p)))
    if _ease(p) < 1:
        _arrow(c, (card.centerx + card.width // 2 + c.px(50), high), (card.centerx + card.width // 2 + c.px(50), low))
    _card(c, card, "id-card")


def _ssc(c: Canvas, stage: pygame.Rect, p: float) -> None:
    """The social security card goes chip first into the slot."""
    slot_y = stage.bottom - stage.height // 4
    slot = pygame.Rect(0, 0, stage.width * 3 // 5, c.px(22))
    slot.center = (stage.centerx, slot_y)
    card = pygame.Rect(0, 0, slot.width * 4 // 5, stage.height // 2)
    travel = card.height * 2 // 3
    card.midbottom = (stage.centerx, slot_y - travel + round(travel * _ease(p)))
    _card(c, card, "credit-card")
    # The cabinet's face below the slot hides the part of the card that went in.
    pygame.draw.rect(c.surface, theme.SECONDARY, (stage.left, slot_y, stage.width, stage.bottom - slot_y),
                     border_radius=c.px(14))
    pygame.draw.rect(c.surface, theme.TEXT, slot, border_radius=c.px(8))
    if _ease(p) < 1:
        _arrow(c, (card.right + c.px(40), card.top), (card.right + c.px(40), slot_y - c.px(20)))


def _scanner(c: Canvas, stage: pygame.Rect, p: float) -> None:
    """The phone's code comes to the scan window, face down, and is held there."""
    window = pygame.Rect(0, 0, stage.width // 2, stage.height // 4)
    window.midbottom = (stage.centerx, stage.bottom - c.px(10))
    pygame.draw.rect(c.surface, theme.SECONDARY, window, border_radius=c.px(12))
    pygame.draw.rect(c.surface, theme.TEXT, window.inflate(-c.px(30), -c.px(30)), border_radius=c.px(8))
    glow = 0.5 + 0.5 * math.sin(p * 6 * math.pi) if p > 0.6 else 0.0
    pygame.draw.rect(c.surface, theme.DANGER if glow > 0.5 else theme.SECONDARY_EDGE,
                     window.inflate(-c.px(30), -c.px(30)), width=max(2, c.px(4)), border_radius=c.px(8))
    phone = pygame.Rect(0, 0, stage.width // 3, stage.height * 11 // 20)
    low, high = window.top - phone.height // 2 - c.px(10), stage.top + phone.height // 2
    phone.center = (stage.centerx, round(high + (low - high) * _ease(p)))
    pygame.draw.rect(c.surface, theme.TEXT, phone, border_radius=c.px(18))
    inner = phone.inflate(-c.px(16), -c.px(40))
    pygame.draw.rect(c.surface, WHITE, inner, border_radius=c.px(8))
    icons.draw(c.surface, "qr-code", inner.center, min(inner.width, inner.height) * 4 // 5, theme.TEXT)


def _document_camera(c: Canvas, stage: pygame.Rect, p: float) -> None:
    """A page slides onto the plate under the camera's arm, face up."""
    plate = pygame.Rect(0, 0, stage.width * 3 // 4, stage.height // 6)
    plate.midbottom = (stage.centerx + c.px(30), stage.bottom - c.px(10))
    pygame.draw.rect(c.surface, theme.SECONDARY, plate, border_radius=c.px(10))
    pygame.draw.rect(c.surface, theme.SECONDARY_EDGE, plate, width=max(2, c.px(3)), border_radius=c.px(10))
    pole_x = plate.left + c.px(20)
    pygame.draw.line(c.surface, theme.TEXT, (pole_x, plate.top), (pole_x, stage.top + c.px(30)), max(4, c.px(12)))
    pygame.draw.line(c.surface, theme.TEXT, (pole_x, stage.top + c.px(30)), (plate.centerx, stage.top + c.px(30)),
                     max(4, c.px(12)))
    icons.draw(c.surface, "camera", (plate.centerx, stage.top + c.px(70)), c.px(64), theme.ICON)
    page = pygame.Rect(0, 0, plate.width // 2, plate.height * 3 // 2)
    start_x, end_x = stage.right + page.width // 2, plate.centerx
    page.midbottom = (round(start_x + (end_x - start_x) * _ease(p)), plate.bottom - c.px(8))
    pygame.draw.rect(c.surface, WHITE, page, border_radius=c.px(4))
    pygame.draw.rect(c.surface, theme.TEXT, page, width=max(2, c.px(3)), border_radius=c.px(4))
    for i in range(3):
        y = page.top + page.height * (i + 1) // 4
        pygame.draw.line(c.surface, theme.SECONDARY_EDGE, (page.left + c.px(12), y), (page.right - c.px(12), y),
                         max(2, c.px(4)))
    if _ease(p) < 1:
        _arrow(c, (page.centerx + c.px(40), page.top - c.px(40)), (page.centerx - c.px(60), page.top - c.px(40)))


def _printer(c: Canvas, stage: pygame.Rect, p: float) -> None:
    """The slip comes out of the paper slot; take it."""
    slot_y = stage.top + stage.height // 4
    face = pygame.Rect(stage.left, stage.top, stage.width, slot_y - stage.top)
    pygame.draw.rect(c.surface, theme.SECONDARY, face, border_radius=c.px(14))
    slot = pygame.Rect(0, 0, stage.width * 3 // 5, c.px(20))
    slot.center = (stage.centerx, slot_y - c.px(14))
    pygame.draw.rect(c.surface, theme.TEXT, slot, border_radius=c.px(8))
    length = round((stage.bottom - slot_y - c.px(20)) * _ease(p, 0.0, 0.55))
    slip = pygame.Rect(0, 0, slot.width * 4 // 5, max(1, length))
    slip.midtop = (stage.centerx, slot.centery)
    pygame.draw.rect(c.surface, WHITE, slip)
    pygame.draw.rect(c.surface, theme.TEXT, slip, width=max(2, c.px(3)))
    for i in range(1, 6):
        y = slip.top + c.px(30) * i
        if y < slip.bottom - c.px(10):
            pygame.draw.line(c.surface, theme.SECONDARY_EDGE, (slip.left + c.px(14), y), (slip.right - c.px(14), y),
                             max(2, c.px(4)))
    if length > c.px(60):
        _arrow(c, (slip.right + c.px(40), slip.top + c.px(20)), (slip.right + c.px(40), slip.bottom))


GESTURES: dict[str, Callable[[Canvas, pygame.Rect, float], None]] = {
    "id_card_reader": _id_card, "ssc_reader": _ssc, "scanner": _scanner,
    "document_camera": _document_camera, "printer": _printer,
}
