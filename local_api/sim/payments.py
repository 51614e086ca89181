"""The unified public payment platform (统一公共支付平台 / 非税收入缴款) as the simulator plays it.

Contract: ``docs/platform-openapi.yaml`` (``/v1/payments``). An order is created for a submission with
an idempotency key (the same key answers the same order), its amount from the catalog's fee or, for
items whose amount only the platform knows (fines, contributions), from the platform; it is
``created`` until paid, cancelled or past its expiry. Once paid it carries the 财政电子票据: bill
number, check code and a verification URL.

The loopback ``/admin/payments`` door plays the resident's phone and the payment channels: pay an
order (a second payment of the same order is recorded once), let it expire, and a payment that
arrives after the order expired or was cancelled is refunded (``refunded``), never kept.
Faults come from the shared ``/admin/faults`` (the platform's door, :func:`local_api.sim.door.guard`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request

from kiosk.catalog.loading import Catalog
from kiosk.crypto import sha256_hex
from local_api.sim.door import fail, guard, json_body, loopback_only

EXTENSION_KEY = "platform_sim_payments"
STATES = ("created", "paid", "expired", "cancelled", "refunded")
CHANNELS = ("alipay", "wechat", "unionpay", "mzt")  # 支付宝, 微信, 云闪付, 闽政通
DEFAULT_TTL_S = 300.0
MAX_AMOUNT = Decimal("100000.00")
CENT = Decimal("0.01")


def _fee_table() -> tuple[dict[str, Decimal], frozenset[str]]:
    """Fixed fees of the packaged catalog, and the items whose amount the platform decides."""
    fees: dict[str, Decimal] = {}
    platform_priced: set[str] = set()
    for item in Catalog.load().items:
        if item.payment == "platform_amount":
            platform_priced.add(item.code)
        elif item.fee_yuan > 0:
            fees[item.code] = Decimal(item.fee_yuan).quantize(CENT)
    return fees, frozenset(platform_priced)


def platform_amount(item_code: str, payer_id: str) -> Decimal:
    """What the platform says a variable-amount item costs this payer (a fine, a contribution): stable
    per payer and item, like a real record, without storing anything."""
    digest = int(sha256_hex(f"{item_code}\x1f{payer_id}".encode())[:8], 16)
    if item_code == "ga-wfcl":  # 交通违法: a fine of 50, 100, 150 or 200 yuan
        return Decimal(50 * (1 + digest % 4)).quantize(CENT)
    return (Decimal(300) + Decimal(digest % 60000) / 100).quantize(CENT)  # a contribution


@dataclass
class Order:
    """One payment order as the payment platform holds it."""

    order_no: str
    idempotency_key: str
    kiosk_id: str
    item_code: str
    amount: Decimal
    reference: str
    created_at: float
    expires_at: float
    state: str = "created"
    paid_at: float | None = None
    payments: int = 0
    """Payment notifications received (a wallet's double notification is counted, recorded once)."""
    refunded_at: float | None = None
    cancelled_at: float | None = None
    bill: dict[str, str] | None = None
    payer_hash: str = field(default="", repr=False)

    def refresh(self, now: float) -> None:
        if self.state == "created" and now >= self.expires_at:
            self.state = "expired"

    def answer(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "order_no": self.order_no, "state": self.state, "amount": f"{self.amount:.2f}", "currency": "CNY",
            "item_code": self.item_code, "reference": self.reference,
            "pay_url": f"https://pay.fjzwfw.example/qr/{self.order_no}", "channels": list(CHANNELS),
            "created_at": _iso(self.created_at), "expires_at": _iso(self.expires_at),
            "paid_at": _iso(self.paid_at) if self.paid_at else None,
            "refunded_at": _iso(self.refunded_at) if self.refunded_at else None}
        if self.bill is not None:
            data["bill"] = dict(self.bill)
        return data

    def admin(self) -> dict[str, Any]:
        return {**self.answer(), "idempotency_key": self.idempotency_key, "kiosk_id": self.kiosk_id,
                "payments": self.payments, "cancelled_at": _iso(self.cancelled_at) if self.cancelled_at else None}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


class PaymentBook:
    """Every order the simulator issued (thread-safe)."""

    def __init__(self, fees: dict[str, Decimal], platform_priced: frozenset[str]) -> None:
        self.lock = threading.RLock()
        self.fees = fees
        self.platform_priced = platform_priced
        self.orders: dict[str, Order] = {}
        self.by_key: dict[str, str] = {}
        self.ttl_s = DEFAULT_TTL_S
        self._serial = 0

    def next_order_no(self) -> str:
        with self.lock:
            self._serial += 1
            return f"FJFS{datetime.now():%Y%m%d}{self._serial:08d}"

    def get(self, order_no: str) -> Order | None:
        with self.lock:
            order = self.orders.get(order_no)
            if order is not None:
                order.refresh(time.time())
            return order

    def pay(self, order_no: str) -> Order | None:
        """A payment arrives for ``order_no``: the first pays it; a second is recorded once; one after
        expiry or cancellation is refunded."""
        with self.lock:
            order = self.get(order_no)
            if order is None:
                return None
            order.payments += 1
            now = time.time()
            if order.state == "created":
                order.state, order.paid_at = "paid", now
                serial = int(order.order_no[-8:])
                order.bill = {"number": f"35020126{serial:010d}",
                              "check_code": sha256_hex(order.order_no.encode())[:6].upper(),
                              "verify_url": f"https://pjcy.mof.example/verify?no=35020126{serial:010d}"}
            elif order.state in ("expired", "cancelled"):
                order.state, order.refunded_at = "refunded", now
            return order


def book() -> PaymentBook:
    found: PaymentBook = current_app.extensions[EXTENSION_KEY]
    return found


def _amount(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        return None
    return amount


payments = Blueprint("platform_payments", __name__)
guard(payments)


@payments.post("/v1/payments")
def create_order() -> Any:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        return fail(400, "invalid_request", "Idempotency-Key header is required (1-128 characters)")
    body = json_body()
    if body is None:
        return fail(400, "invalid_request", "body: a JSON object is required")
    item_code = body.get("item_code")
    payer = body.get("payer")
    if not isinstance(item_code, str) or not item_code:
        return fail(400, "invalid_request", "item_code: required field is missing")
    if not isinstance(payer, dict) or not isinstance(payer.get("name"), str) or not payer["name"] \
            or not isinstance(payer.get("id_number"), str) or not payer["id_number"]:
        return fail(400, "invalid_request", "payer: name and id_number are required")
    reference = body.get("reference", "")
    if not isinstance(reference, str) or len(reference) > 128:
        return fail(400, "invalid_request", "reference: at most 128 characters")
    payments_book = book()
    asked = body.get("amount")
    if item_code in payments_book.platform_priced:
        if asked is not None:
            return fail(422, "amount_not_expected", "the platform sets this item's amount; send none")
        amount = platform_amount(item_code, payer["id_number"])
    elif item_code in payments_book.fees:
        amount = payments_book.fees[item_code]
        if asked is not None and _amount(asked) != amount:
            return fail(422, "amount_mismatch", f"this item's fee is {amount:.2f}")
    else:
        return fail(422, "no_fee", "this item carries no fee")
    payer_hash = sha256_hex(payer["id_number"].encode())
    with payments_book.lock:
        known = payments_book.by_key.get(key)
        if known is not None:
            order = payments_book.get(known)
            assert order is not None
            if order.item_code != item_code or order.payer_hash != payer_hash:
                return fail(422, "idempotency_conflict", "Idempotency-Key was used for another order")
            return jsonify({**order.answer(), "duplicate": True}), 200
        now = time.time()
        order = Order(payments_book.next_order_no(), key, g.kiosk_id, item_code, amount, reference, now,
                      now + payments_book.ttl_s, payer_hash=payer_hash)
        payments_book.orders[order.order_no] = order
        payments_book.by_key[key] = order.order_no
        return jsonify({**order.answer(), "duplicate": False}), 201


@payments.get("/v1/payments/<order_no>")
def get_order(order_no: str) -> Any:
    order = book().get(order_no)
    if order is None:
        return fail(404, "not_found", "no payment order has this number")
    return jsonify(order.answer())


@payments.post("/v1/payments/<order_no>/cancel")
def cancel_order(order_no: str) -> Any:
    payments_book = book()
    with payments_book.lock:
        order = payments_book.get(order_no)
        if order is None:
            return fail(404, "not_found", "no payment order has this number")
        if order.state == "created":
            order.state, order.cancelled_at = "cancelled", time.time()
        elif order.state == "paid":
            return jsonify({"error": "already_paid", "reason": "the order is paid; it cannot be cancelled",
                            "order": order.answer()}), 409
        return jsonify(order.answer())


# -- admin (loopback only): the resident's phone and the payment channels -----------------------------

payments_admin = Blueprint("platform_payments_admin", __name__, url_prefix="/admin/payments")


payments_admin.before_request(loopback_only)


@payments_admin.get("")
def list_orders() -> Any:
    payments_book = book()
    with payments_book.lock:
        orders = [payments_book.get(n) for n in list(payments_book.orders)]
        listed = [o.admin() for o in orders if o is not None]
    paid = [o for o in listed if o["state"] == "paid"]
    return jsonify({"orders": listed, "count": len(listed), "paid": len(paid),
                    "paid_amount": f"{sum((Decimal(o['amount']) for o in paid), Decimal(0)):.2f}",
                    "refunded": sum(1 for o in listed if o["state"] == "refunded"),
                    "ttl_s": payments_book.ttl_s})


@payments_admin.post("/<order_no>/pay")
def pay(order_no: str) -> Any:
    order = book().pay(order_no)
    if order is None:
        return fail(404, "not_found", "no payment order has this number")
    return jsonify(order.admin())


@payments_admin.post("/<order_no>/expire")
def expire(order_no: str) -> Any:
    payments_book = book()
    with payments_book.lock:
        order = payments_book.get(order_no)
        if order is None:
            return fail(404, "not_found", "no payment order has this number")
        if order.state == "created":
            order.expires_at = time.time()
            order.refresh(order.expires_at)
        return jsonify(order.admin())


@payments_admin.post("/settings")
def settings() -> Any:
    """``{"ttl_s": seconds}``: how long new orders stay payable."""
    data = json_body()
    ttl = data.get("ttl_s") if data else None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 1 <= ttl <= 86_400:
        return fail(400, "invalid_request", "ttl_s: a number of seconds from 1 to 86400")
    payments_book = book()
    with payments_book.lock:
        payments_book.ttl_s = float(ttl)
    return jsonify({"ttl_s": payments_book.ttl_s})


def install(app: Flask) -> None:
    """Give the simulator app its payment platform."""
    fees, platform_priced = _fee_table()
    app.extensions[EXTENSION_KEY] = PaymentBook(fees, platform_priced)
    app.register_blueprint(payments)
    app.register_blueprint(payments_admin)
