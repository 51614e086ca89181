"""A fee item's payment (统一公共支付平台): after review, the amount and what it is for, then the payment
QR code, a countdown, and the terminal asking the gateway until the payment platform says paid.

    review ─submit─► payment (fee: amount, purpose) ─pay─► (creating: CreatePayment) ─► (qr: the code,
    the channels, the countdown; PollPayment every POLL_S) ─paid─► printing (receipt with the bill) ─► done
                                                                 └─expired─► a new code, or stop

"Paid" is only what the gateway reports from the payment platform (``PaymentAnswered`` with state
``paid`` and the queued application's receipt number): nothing the resident shows or taps makes it paid.
Stopping cancels the order (nothing submitted, nothing charged); a resident who walks away while a
code is up (home, exit, a pulled card, the idle timeout) is reported to the gateway (``CancelPayment``
``left``), which keeps watching: a late payment is matched and delivered, one after expiry refunded.
The state lives in the session (``extra["pay"]``); the handler keeps none.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kiosk.catalog.model import ServiceItem
from kiosk.flow import journeys  # the module, not its names: kiosk.flow's lazy loader imports in cycles
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.licences import submitted_form
from kiosk.flow.model import (
    CancelPayment,
    CreatePayment,
    Effect,
    Event,
    Material,
    PaymentAnswered,
    PollPayment,
    Screen,
    Session,
    Show,
)
from kiosk.flow.views import PaymentView, View, shared
from kiosk.money import as_amount, spoken_amount, yuan_text

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

POLL_S = 2.0
"""How often the terminal asks the gateway while the code is up."""
POLL_STUCK_S = 15.0
"""A poll with no answer this long is given up and asked again."""
CHANNELS = ("alipay", "wechat", "unionpay", "mzt")
"""支付宝, 微信, 云闪付, 闽政通: what the unified public payment platform's code accepts."""
OPEN_PHASES = ("creating", "qr", "expired")
"""Phases in which an order may exist that the resident could still pay."""


def catalog_amount(item: ServiceItem) -> Decimal | None:
    """The fixed fee the catalog names; None when the platform sets the amount."""
    return as_amount(item.fee_yuan) if item.payment == "catalog_amount" else None


def leaving(s: Session | None) -> list[Effect]:
    """The session ends while an order may still be paid: tell the gateway the resident left."""
    pay = s.extra.get("pay") if s is not None else None
    if not isinstance(pay, dict) or pay.get("phase") not in OPEN_PHASES or not pay.get("order_no"):
        return []
    pay["phase"] = "left"
    return [CancelPayment(str(pay["order_no"]), "left")]


def _state(s: Session) -> dict[str, Any]:
    pay = s.extra.setdefault("pay", {"phase": "fee"})
    assert isinstance(pay, dict)
    return pay


class Payment(ScreenHandler):
    """The fee, the code, the countdown; moves on only on the payment platform's word."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None or s.item is None:
            return None
        return self.item_tapped(flow, s, s.item, target)

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None or s.item is None:
            return base
        return self.item_view(flow, s, s.item, base)

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        pay = _state(s)
        phase = pay["phase"]
        if target in ("pay", "new_code") and phase in ("fee", "expired", "failed"):
            fee = catalog_amount(item)
            materials = tuple(Material(f"{i}-{n}.jpg", "image/jpeg", p.jpeg)
                              for i, pages in sorted(s.pages.items()) for n, p in enumerate(pages))
            effect = CreatePayment(item.code, s.applicant(), submitted_form(s), "" if fee is None else f"{fee:.2f}",
                                   materials=materials)
            s.extra["pay"] = {"phase": "creating", "request_id": effect.request_id}
            return [Show(flow.screen), effect]
        if target == "back" and phase in ("fee", "failed"):
            s.extra.pop("pay", None)
            return flow.go(Screen.REVIEW)
        if target == "stop" and phase != "creating":
            effects: list[Effect] = []
            if phase in ("qr", "expired") and pay.get("order_no"):
                effects.append(CancelPayment(str(pay["order_no"]), "stopped"))
            pay["phase"] = "stopped"
            return [*effects, *flow.end_session("payment stopped", then=Screen.HOME)]
        return None

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        s = flow.session
        if not isinstance(event, PaymentAnswered) or s is None or s.item is None:
            return []
        pay = _state(s)
        phase = pay["phase"]
        if event.request_id and event.request_id != pay.get("request_id"):
            return []  # the answer to a code the resident already replaced
        if event.reason_key:
            pay["polling"] = False
            if phase == "creating":
                pay.update(phase="failed", reason=event.reason_key)
                return [Show(flow.screen)]
            return []  # a poll that could not ask: the next one will
        order = event.order
        if pay.get("order_no") and order.get("order_no") != pay["order_no"]:
            return []
        pay["polling"] = False
        state = order.get("state")
        if state == "paid" and order.get("receipt_no") and phase in ("qr", "expired", "creating"):
            return self.paid(flow, s, order)
        if phase == "creating":
            if state != "created":
                pay.update(phase="failed", reason="pay_failed")
                return [Show(flow.screen)]
            now = flow.clock()
            pay.update(phase="qr", order_no=str(order.get("order_no", "")), pay_url=str(order.get("pay_url") or ""),
                       channels=[c for c in order.get("channels") or CHANNELS if c in CHANNELS],
                       amount=str(order.get("amount", "")), deadline=now + float(order.get("expires_in_s") or 0),
                       next_poll=now + POLL_S, shown_left=-1)
            return [Show(flow.screen)]
        if state in ("expired", "cancelled", "refunded") and phase == "qr":
            pay["phase"] = "expired"
            return [Show(flow.screen)]
        return []

    def paid(self, flow: KioskFlow, s: Session, order: dict[str, Any]) -> list[Effect]:
        """The payment platform confirmed it and the application is queued: print the receipt with the bill."""
        pay = _state(s)
        amount = as_amount(order.get("amount")) or Decimal(0)
        pay["phase"] = "paid"
        s.receipt_no = str(order["receipt_no"])
        s.extra["paid_text"] = yuan_text(amount)
        found = order.get("bill")
        bill: dict[str, Any] = found if isinstance(found, dict) else {}
        content = journeys.receipt_content(s)
        content["payment"] = {"amount": yuan_text(amount), "paid_at": str(order.get("paid_at") or ""),
                              "order_no": str(order.get("order_no") or ""), "bill_no": str(bill.get("number", "")),
                              "check_code": str(bill.get("check_code", "")),
                              "verify_url": str(bill.get("verify_url", ""))}
        return journeys.print_slip(flow, "receipt", content)

    def ticked(self, flow: KioskFlow) -> list[Effect]:
        s = flow.session
        if s is None:
            return []
        pay = _state(s)
        phase = pay["phase"]
        now = flow.clock()
        if phase in ("creating", "qr"):
            flow.last_input = now  # the resident is paying on their phone: no idle timeout while the code is up
        if phase != "qr":
            return []
        effects: list[Effect] = []
        if pay.get("polling") and now >= float(pay.get("next_poll", 0)) + POLL_STUCK_S:
            pay["polling"] = False
        if now >= float(pay["deadline"]):
            # Time is up on screen; one last ask, so a payment made in the last second is still matched.
            pay.update(phase="expired", polling=True, next_poll=now)
            return [Show(flow.screen), PollPayment(str(pay["order_no"]))]
        if not pay.get("polling") and now >= float(pay.get("next_poll", 0)):
            pay.update(polling=True, next_poll=now + POLL_S)
            effects.append(PollPayment(str(pay["order_no"])))
        left = int(float(pay["deadline"]) - now + 0.999)
        if left != pay.get("shown_left"):
            pay["shown_left"] = left
            effects.insert(0, Show(flow.screen))
        return effects

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> PaymentView:
        pay = _state(s)
        lang = flow.language
        amount = as_amount(pay["amount"]) if pay.get("amount") else catalog_amount(item)
        left = 0
        if pay["phase"] == "qr":
            left = max(0, int(float(pay["deadline"]) - flow.clock() + 0.999))
        return PaymentView(**shared(base), pay_phase=str(pay["phase"]),
                           amount_text=yuan_text(amount) if amount is not None else "",
                           amount_words=spoken_amount(amount, lang) if amount is not None else "",
                           fee_purpose=item.fee_note.get(lang) if item.fee_note is not None else "",
                           platform_amount=item.payment == "platform_amount",
                           pay_url=str(pay.get("pay_url", "")) if pay["phase"] == "qr" else "",
                           channels=list(pay.get("channels") or CHANNELS), pay_left_s=left,
                           pay_reason=str(pay.get("reason", "")))


PAYMENT = Payment()
