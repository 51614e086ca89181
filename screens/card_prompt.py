"""Asks for the ID card before an item that needs identity; says why an expired one was refused."""

from __future__ import annotations

import datetime as _dt

from kiosk.flow.views import CardPromptView, View
from screens import guidance, icons, theme, tokens
from screens.chrome import Text, footer
from screens.widgets import Button, Canvas

# The renewal advice per expired document (the two permanent residence card editions share one).
RENEW = {"resident": "renew_resident", "J": "renew_J", "I": "renew_foreign", "Y": "renew_foreign",
         "social_security_card": "renew_social_security_card"}
WAYS_Y, WAYS_H = 1490, 140  # the row of the other ways to identify (the simulated card and the footer under it)


def expired_text(view: CardPromptView, t: Text) -> tuple[str, str]:
    """What the resident is told about an expired document: which one, until when, and where to renew it."""
    document = view.expired_document
    known = document in RENEW
    try:
        day = _dt.date.fromisoformat(view.expired_on)
        date = t("card_expired_date", y=day.year, m=day.month, d=day.day)
    except ValueError:  # the operators' mirror masks the date
        date = view.expired_on
    return (t("card_expired_text", document=t(f"document_{document}" if known else "document_other"), date=date),
            t(RENEW[document] if known else "renew_other"))


def draw(c: Canvas, view: View, t: Text) -> list[Button]:
    c.fill()
    c.header(t("card_title"))
    below = c.text(view.item_name, 230, tokens.TYPE["heading"], bold=True, colour=theme.HEADER)
    accepted = view.item_identity
    awaiting = view.awaiting
    # Every accepted way to identify is offered, never only one (A5: no biometric-only path).
    others: list[str] = [a for a in ("social_security_card", "app_qr") if a in accepted and a != awaiting]
    if awaiting and ("id_card" in accepted or "id_card_face" in accepted):
        others.insert(0, "id_card")
    if isinstance(view, CardPromptView) and view.expired_document:
        return _expired(c, view, t, max(320, below + 10), others)
    hint = {"social_security_card": "card_hint_ssc", "app_qr": "card_hint_qr"}.get(awaiting, "card_hint")
    y = c.text(t(hint), max(320, below + 10), tokens.TYPE["body"], width=880)  # under the name, however many lines it took
    # Where the card goes on this cabinet, and how (screens/guidance.py).
    device = {"social_security_card": "ssc_reader", "app_qr": "scanner"}.get(awaiting, "id_card_reader")
    # As tall as the room above the other ways allows (a sentence of up to two lines under it).
    top = max(y + 30, 560)
    guidance.draw(c, t, device, top, max(420 if view.elder else 480, min(560, WAYS_Y - 40 - 140 - top)))
    buttons = _ways(c, t, others, WAYS_Y)
    if view.simulated_reader:
        buttons.append(c.button(t("button_sim_card"), "sim:card", (290, 1650, 500, 100), primary=False,
                                size=tokens.TYPE["label"], icon=icons.name_for("actions", "card")))
    return buttons + footer(c, t, back=True)


def _ways(c: Canvas, t: Text, others: list[str], y: float) -> list[Button]:
    """The other ways to identify in one row, each with its icon beside its label."""
    ways = others[:3]
    width = (tokens.CONTENT_WIDTH - (len(ways) - 1) * 20) / max(1, len(ways))
    return [c.button(t("id_" + a), f"use:{a}", (60 + i * (width + 20), y, width, WAYS_H), primary=False,
                     size=tokens.TYPE["label"], icon=icons.name_for("actions", "card" if a == "id_card" else a))
            for i, a in enumerate(ways)]


def _expired(c: Canvas, view: CardPromptView, t: Text, y: int, others: list[str]) -> list[Button]:
    """The expired document: title, which card and until when, where to renew, the other ways."""
    told, renew = expired_text(view, t)
    mark = icons.name_for("status", "error")
    icons.draw(c.surface, mark, (c.width // 2, c.px(y + 60)), c.px(tokens.ICON["inline"] * 2), theme.DANGER)
    y = c.text(t("card_expired_title"), y + 130, tokens.TYPE["heading"], bold=True, colour=theme.DANGER)
    y = c.text(told, y + 10, tokens.TYPE["body"], width=900)
    y = c.text(renew, y + 20, tokens.TYPE["label"], width=900)
    y = c.text(t("card_expired_other"), y + 20, tokens.TYPE["label"], colour=theme.MUTED, width=900)
    row = min(max(WAYS_Y, y + 30), 1600)  # under the words however many lines they took, above the footer
    return _ways(c, t, others, row) + footer(c, t, back=True)
