"""One message component for every screen: success, info, warning and error.

Each kind has its own colour and a drawn icon that says the same as the colour (a tick, an "i", a
triangle with "!", a cross), so the meaning does not rest on colour alone (WCAG 1.4.1). Messages are
light panels with a coloured edge and dark text: the text reads at ≥ 7:1 and the edge at ≥ 3:1
against the page (theme.MESSAGE_COLOURS; in high contrast black panels with a bright edge and white text).

- :func:`message_box` draws a message in the page's own flow (a done screen's "could not print", a
  detail screen's "not available here"), at a given y, and returns the y below it.
- :func:`message_banner` draws a passing message (the flow's ``notice_key``) over the finished page,
  in the free band nearest to where it would like to be that crosses no control: it never covers a
  button. The header bar has no controls, so there is always room.

What kind a notice is comes from :func:`kind_of`; the renderer speaks a new banner's text as well.
A notice's text must be short enough to find a free band on the busiest screen (elder home:
about two lines of English); tests/screens/test_messages.py checks every ``notice_*`` key there.
"""

from __future__ import annotations

import math

import pygame

from screens import theme, tokens
from screens.widgets import Button, Canvas, wrap

KINDS = ("success", "info", "warning", "error")

# The notices the flow raises, by kind (any other notice_* is a warning; error_* and unavailable
# reasons are errors).
NOTICE_KINDS: dict[str, str] = {
    "notice_help_sent": "success",
    "notice_help_no_help": "success",
    "notice_help_no_report": "success",
    "notice_help_no_remote": "success",
    "notice_help_no_callback": "success",
    "notice_desk_ended": "info",
    "notice_report_sent": "success",
    "notice_progress_printed": "success",
    "notice_card_pulled": "info",
    "notice_card_invalid": "error",
    "notice_card_unsupported": "error",
    "notice_licences_fetching": "info",  # 数据互认: the library is still being asked (the camera is there too)
}

PAD = tokens.SPACE["m"]         # design px inside the panel
ICON = 56                       # design px, the icon's diameter
TEXT_SIZE = tokens.TYPE["label"]  # design px before elder mode's enlargement
MARGIN = tokens.SPACE["l"]      # design px between the screen's edge and the panel
CLEARANCE = tokens.SPACE["s"]   # design px kept free between a passing message and any control


def kind_of(key: str) -> str:
    """The kind of the message with ``key``."""
    if key in NOTICE_KINDS:
        return NOTICE_KINDS[key]
    if key.startswith(("error_", "unavail_")):
        return "error"
    return "warning"


TEXT_LEFT = 2 * PAD + 10 + ICON  # design px from the panel's left edge to its text


def _lines_height(c: Canvas, text: str, width: float, size: int) -> float:
    """The design height of ``text`` at design ``size`` wrapped into the panel's text column."""
    fnt = theme.font(c.px(size), True)
    lines = wrap(text, fnt, c.px(width - TEXT_LEFT - PAD))
    return len(lines) * int(fnt.get_linesize() * 1.15) / c.scale


def _height(c: Canvas, text: str, width: float, size: int) -> float:
    """The panel's design height for ``text`` (its wrapped lines, at least the icon's height)."""
    return max(ICON, _lines_height(c, text, width, size)) + 2 * PAD


def message_box(c: Canvas, text: str, kind: str, y: float, *, x: float = MARGIN,
                width: float = theme.BASE_WIDTH - 2 * MARGIN) -> float:
    """Draw a message panel at design ``y``; returns the design y below it."""
    size = c.size(TEXT_SIZE)
    height = _height(c, text, width, size)
    _draw(c, text, kind, (x, y, width, height), size)
    return y + height


def message_banner(c: Canvas, text: str, kind: str, buttons: list[Button], *, prefer: float = 1480,
                   top_limit: float = 0) -> pygame.Rect:
    """Draw a passing message in the free band nearest ``prefer`` (design y) that crosses none of
    ``buttons``; returns the panel's rectangle (device px)."""
    width = theme.BASE_WIDTH - 2 * MARGIN
    # Where the page is full of controls, a smaller text (never below the mode's minimum) makes room.
    floor = theme.ELDER_MIN_PX if c.elder else 28
    sizes = list(range(c.size(TEXT_SIZE), floor - 1, -2)) or [floor]
    for size in sizes:
        height = _height(c, text, width, size)
        y = free_band(c, height, buttons, prefer=prefer, top_limit=top_limit)
        if y is not None:
            return _draw(c, text, kind, (MARGIN, y, width, height), size)
    # Nothing free at all: over the header bar, which holds no controls.
    size = sizes[-1]
    return _draw(c, text, kind, (MARGIN, 0, width, _height(c, text, width, size)), size)


def free_band(c: Canvas, height: float, buttons: list[Button], *, prefer: float,
              top_limit: float = 0) -> float | None:
    """The design y nearest ``prefer`` where a full-width band ``height`` high crosses no button
    (searched in 10 px steps); None if there is none."""
    screen_h = c.height / c.scale
    rects = [b.rect for b in buttons]

    def free(y: float) -> bool:
        # A clear gap above and below as well: the panel's edge must not merge with a control's.
        band = pygame.Rect(0, c.px(y - CLEARANCE), c.width, c.px(height + 2 * CLEARANCE))
        return not any(band.colliderect(r) for r in rects)

    bottom = screen_h - height - 10
    prefer = min(max(prefer, top_limit), bottom)
    for step in range(int(screen_h // 10) + 1):
        for y in (prefer + step * 10, prefer - step * 10):
            if top_limit <= y <= bottom and free(y):
                return y
    return None


def _draw(c: Canvas, text: str, kind: str, rect: tuple[float, float, float, float], size: int) -> pygame.Rect:
    fill, edge = theme.MESSAGE_COLOURS[kind]
    x, y, w, h = rect
    area = pygame.Rect(c.px(x), c.px(y), c.px(w), c.px(h))
    radius = c.px(tokens.RADIUS["m"])
    pygame.draw.rect(c.surface, fill, area, border_radius=radius)
    pygame.draw.rect(c.surface, edge, area, width=max(2, c.px(4)), border_radius=radius)
    # A thick bar on the leading edge as well: the kind shows even at a glance from the side.
    pygame.draw.rect(c.surface, edge, (area.left, area.top, c.px(14), area.height),
                     border_top_left_radius=radius, border_bottom_left_radius=radius)
    centre = (c.px(x + PAD + 10 + ICON / 2), c.px(y + h / 2))
    _icon(c.surface, kind, centre, c.px(ICON / 2), edge)
    top = y + (h - _lines_height(c, text, w, size)) / 2
    c.text(text, top, size, colour=theme.TEXT, bold=True, x=x + TEXT_LEFT, width=w - TEXT_LEFT - PAD, asked=True)
    return area


def _icon(surface: pygame.Surface, kind: str, centre: tuple[int, int], r: int, colour: tuple[int, int, int]) -> None:
    """The kind's sign, drawn (no icon font needed): ✓ success, i info, ! warning, ✕ error."""
    cx, cy = centre
    white = theme.ON_STATUS  # white on the standard colours, black on high contrast's bright ones
    stroke = max(3, r // 5)
    if kind == "warning":
        points = [(cx, cy - r), (cx + round(r * math.sqrt(3) / 2 * 1.1), cy + r * 3 // 4),
                  (cx - round(r * math.sqrt(3) / 2 * 1.1), cy + r * 3 // 4)]
        pygame.draw.polygon(surface, colour, points)
        pygame.draw.line(surface, white, (cx, cy - r // 3), (cx, cy + r // 5), stroke)
        pygame.draw.circle(surface, white, (cx, cy + r * 2 // 5 + 1), max(2, stroke // 2 + 1))
        return
    pygame.draw.circle(surface, colour, centre, r)
    if kind == "success":
        pygame.draw.lines(surface, white, False, [(cx - r // 2, cy), (cx - r // 8, cy + r * 2 // 5),
                                                  (cx + r // 2, cy - r * 2 // 5)], stroke)
    elif kind == "error":
        d = r * 2 // 5
        pygame.draw.line(surface, white, (cx - d, cy - d), (cx + d, cy + d), stroke)
        pygame.draw.line(surface, white, (cx - d, cy + d), (cx + d, cy - d), stroke)
    else:  # info
        pygame.draw.circle(surface, white, (cx, cy - r // 2 + 1), max(2, stroke // 2 + 1))
        pygame.draw.line(surface, white, (cx, cy - r // 6), (cx, cy + r // 2), stroke)
