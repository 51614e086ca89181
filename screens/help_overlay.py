"""The remote help desk over any screen (issue 21; kiosk/flow/help_desk.py).

- ``waiting``: the header bar says help was asked for, with the request's number;
- ``asking``: the resident's consent, modal: who asks (staff number, never a name), what they will
  and will not see or do; 同意 / 不同意;
- ``live``: the header bar (it holds no control) says who is helping, shows the desk's last message
  and offers 结束帮助; the desk's point is a pulsing ring drawn last, over everything.

The mirror the desk sees is drawn by the same code from the masked view, so the desk sees its own
highlight in the kiosk's next frame.
"""

from __future__ import annotations

import pygame

from kiosk.flow.views import View
from screens import theme, tokens
from screens.chrome import Text
from screens.widgets import Button, Canvas

RING_R = (56, 76)  # the highlight's radius in its two pulse phases (design px)
RING_COLOUR = (200, 0, 40)
HEADER_H = 160  # the header bar's height (screens/widgets.py Canvas.header)


def message_text(view: View, t: Text) -> str:
    """The desk's message in the resident's language ("" for none)."""
    if view.desk_message_key:
        return t(view.desk_message_key)
    return view.desk_message


def draw(c: Canvas, view: View, t: Text, buttons: list[Button]) -> tuple[list[Button], str]:
    """Draw the desk's parts over the page; the buttons that count now, and what to say ("" for nothing new)."""
    if view.desk == "asking":
        # Said whole: who asks, and what they will and will not see or do.
        return _consent(c, view, t), f"{t('desk_consent_title', staff=view.desk_staff)}。{t('desk_consent_hint')}"
    if view.desk == "waiting":
        _band(c)
        c.text(t("desk_waiting", number=view.help_no), 30, tokens.TYPE["caption"], colour=theme.HEADER_TEXT, bold=True,
               width=960)
        return buttons, ""
    if view.desk != "live":
        return buttons, ""
    said = message_text(view, t)
    _band(c)
    # Who helps, and under it what they said last (both in the band's 160 px).
    small = tokens.TYPE["caption"]
    below = c.text(t("desk_live", staff=view.desk_staff), 8 if said else 45, small if said else tokens.TYPE["label"],
                   colour=theme.HEADER_TEXT, bold=True, x=40, width=660)
    if said:
        c.text(said, below - 4, small, colour=theme.HEADER_TEXT, bold=True, x=40, width=660)
    end = c.button(t("desk_end"), "desk:end", (720, 20, 330, 120), primary=False, size=tokens.TYPE["label"])
    if view.desk_point is not None:
        _ring(c, view.desk_point, view.desk_pulse)
    return [*buttons, end], (t("desk_said", staff=view.desk_staff, text=said) if said else "")


def _band(c: Canvas) -> None:
    """The desk's band over the header bar (which holds no controls): the page's title under it is
    covered, so it is no longer a text of this frame."""
    pygame.draw.rect(c.surface, theme.SUCCESS, (0, 0, c.width, c.px(HEADER_H)))
    bottom = c.px(HEADER_H)
    c.texts[:] = [x for x in c.texts if x[1].top >= bottom]
    c.text_blocks[:] = [b for b in c.text_blocks if b.top >= bottom]
    c.text_boxes[:] = [x for x in c.text_boxes if x[0].top >= bottom]


def _consent(c: Canvas, view: View, t: Text) -> list[Button]:
    """A page of its own (the screen under it is not shown: nothing else can be touched or read)."""
    c.fill()
    c.header(t("help_title"))
    y = c.text(t("desk_consent_title", staff=view.desk_staff), 260, tokens.TYPE["heading"], bold=True, width=940)
    c.text(t("desk_consent_hint"), y + 40, tokens.TYPE["label"], colour=theme.MUTED, width=940)
    return [
        c.button(t("desk_consent_yes"), "desk:consent", (130, 1100, 820, 150), size=tokens.TYPE["heading"]),
        c.button(t("desk_consent_no"), "desk:decline", (130, 1290, 820, 120), primary=False,
                 size=tokens.TYPE["body"]),
    ]


def _ring(c: Canvas, point: tuple[int, int], pulse: int) -> None:
    """The pulsing highlight: a translucent disc and a thick ring, larger in one phase than the other."""
    r = c.px(RING_R[pulse % 2])
    centre = (c.px(point[0]), c.px(point[1]))
    disc = pygame.Surface((2 * r + 2, 2 * r + 2), pygame.SRCALPHA)
    pygame.draw.circle(disc, (*RING_COLOUR, 70), (r + 1, r + 1), r)
    c.surface.blit(disc, (centre[0] - r - 1, centre[1] - r - 1))
    pygame.draw.circle(c.surface, RING_COLOUR, centre, r, width=max(3, c.px(10)))
    pygame.draw.circle(c.surface, (255, 255, 255), centre, max(2, r - c.px(10)), width=max(1, c.px(3)))
