"""A fee paid at the terminal (统一公共支付平台): the amount and what it is for, then a large payment QR
code with the channels it accepts and a countdown; when it runs out, a new code or stop.

The screen never decides "paid": it shows what the flow was told (kiosk/flow/payment.py), which moves
on only when the gateway reports the payment platform's word. Laid out top to bottom from what the
texts need, so elder mode's larger text pushes things down instead of overlapping them.
"""

from __future__ import annotations

from kiosk.flow.views import PaymentView
from screens import icons, theme, tokens
from screens.chrome import Text, footer
from screens.messages import message_box
from screens.qr import qr_surface
from screens.widgets import Button, Canvas

STATUS_MARK = tokens.ICON["status"]  # the expired / failed state's mark
CHANNEL_KEYS = {"alipay": "pay_channel_alipay", "wechat": "pay_channel_wechat", "unionpay": "pay_channel_unionpay",
                "mzt": "pay_channel_mzt"}


def countdown(seconds: int) -> str:
    """4:59: minutes and seconds left."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def channels_text(view: PaymentView, t: Text) -> str:
    return " · ".join(t(CHANNEL_KEYS[c]) for c in view.channels if c in CHANNEL_KEYS)


def spoken(view: PaymentView, t: Text) -> str:
    """What speech adds to the title: the amount in words and what to do now."""
    parts = [t("pay_amount_spoken", amount=view.amount_words)] if view.amount_words else []
    if view.pay_phase == "qr":
        parts += [t("pay_qr_hint"), t("pay_channels_label") + channels_text(view, t)]
    elif view.pay_phase == "expired":
        parts.append(t("pay_expired"))
    elif view.pay_phase == "failed":
        parts.append(t(view.pay_reason or "pay_failed"))
    elif view.pay_phase == "fee":
        parts.append(t("pay_fee_hint"))
    return "。".join(parts)


def _amount(c: Canvas, view: PaymentView, t: Text, y: float) -> float:
    y = c.text(t("pay_amount_label"), y, tokens.TYPE["label"], colour=theme.MUTED)
    if view.amount_text:
        return c.text(view.amount_text, y + 4, tokens.TYPE["display"], bold=True, colour=theme.HEADER)
    return c.text(t("pay_amount_platform"), y + 10, tokens.TYPE["body"], bold=True, width=900)


def _status_mark(c: Canvas, y: float) -> float:
    """A large warning mark, centred (the code ran out, or none could be made); returns the y below it."""
    side = STATUS_MARK
    icons.draw(c.surface, icons.name_for("status", "warning"), (c.width // 2, c.px(y + side / 2)), c.px(side),
               theme.WARNING)
    return y + side


def draw(c: Canvas, view: PaymentView, t: Text) -> list[Button]:
    c.fill()
    c.header(t("pay_title"))
    y = c.text(view.item_name, 190, tokens.TYPE["heading"], bold=True, colour=theme.HEADER, width=960) + 10
    phase = view.pay_phase
    buttons: list[Button] = []
    if phase == "fee":
        side = tokens.ICON["status"] * 7 // 10  # the fee's mark above its amount
        icons.draw(c.surface, icons.name_for("actions", "fee"), (c.width // 2, c.px(y + 30 + side / 2)), c.px(side),
                   theme.ICON)
        y = _amount(c, view, t, y + 30 + side + 20) + 20
        if view.fee_purpose:
            y = c.text(t("pay_purpose_label"), y, tokens.TYPE["caption"], colour=theme.MUTED)
            y = c.text(view.fee_purpose, y + 4, tokens.TYPE["body"], width=900) + 20
        y = c.text(t("pay_fee_hint"), y + 10, tokens.TYPE["label"], colour=theme.MUTED, width=900)
        buttons.append(c.button(t("pay_button"), "pay", (140, max(y + 60, 1200), 800, 170), size=tokens.TYPE["heading"],
                                icon=icons.name_for("actions", "fee")))
        return buttons + footer(c, t, back=True)
    if phase == "creating":
        c.text(t("pay_creating"), max(y + 200, 700), tokens.TYPE["title"], bold=True, width=900)
        return footer(c, t)
    if phase == "qr":
        y = _amount(c, view, t, y) + 10
        size = 560 if c.elder else 680  # as large as the page allows: easier for a phone to read
        # A quiet zone is part of the code (qr_surface); the white square stands out on the page.
        c.surface.blit(qr_surface(view.pay_url, c.px(size)), ((c.width - c.px(size)) // 2, c.px(y)))
        y += size + 16
        y = c.text(t("pay_channels_label") + channels_text(view, t), y, tokens.TYPE["caption"], width=960)
        y = c.text(t("pay_left", time=countdown(view.pay_left_s)), y + 10, tokens.TYPE["heading"], bold=True,
                   colour=theme.HEADER)
        y = c.text(t("pay_qr_hint"), y + 10, tokens.TYPE["caption"], colour=theme.MUTED, width=900)
        buttons.append(c.button(t("pay_stop"), "stop", (240, min(y + 30, 1600), 600, 130), primary=False,
                                size=tokens.TYPE["body"], icon=icons.name_for("actions", "stop")))
        return buttons + footer(c, t)
    if phase == "expired":
        y = message_box(c, t("pay_expired"), "warning", _status_mark(c, y + 60) + 40) + 60
        buttons.append(c.button(t("pay_new_code"), "new_code", (140, y, 800, 150), size=tokens.TYPE["heading"],
                                icon=icons.name_for("actions", "app_qr")))
        buttons.append(c.button(t("pay_stop_all"), "stop", (140, y + 190, 800, 130), primary=False,
                                size=tokens.TYPE["body"], icon=icons.name_for("actions", "stop")))
        return buttons + footer(c, t)
    # failed: no code could be made; nothing was submitted, nothing charged
    y = message_box(c, t(view.pay_reason or "pay_failed"), "warning", _status_mark(c, y + 60) + 40) + 60
    buttons.append(c.button(t("pay_retry"), "pay", (140, y, 800, 150), size=tokens.TYPE["heading"],
                            icon=icons.name_for("actions", "repeat")))
    return buttons + footer(c, t, back=True)
