"""Fees paid at the terminal: payment orders and the submissions they pay for, held until paid.

A fee item's submission is not queued at once: :meth:`PaymentLedger.hold` keeps it sealed in the
outbox's ``payments`` table (schema 4) next to its payment order. Only the payment platform's word
makes it paid (:meth:`PaymentLedger.apply`: the order as the platform answered it); then the
submission enters the outbox's queue with the order's number, amount and bill attached
(:meth:`Outbox.accept_once` under the app's own request id, so doing it twice, e.g. after a crash
between the two writes, stores it once) and the held copy is deleted. An order that expires, is
cancelled or refunded has its held copy deleted: nothing submitted, nothing charged.

:class:`PaymentWatcher` is the gateway's own thread that asks the platform about every open order:
the app may poll too, but a kiosk app killed between payment and submission, or a resident who left
mid-payment (``left_at``), is caught up by the watcher — a late payment is matched (delivered) or, after
expiry, refunded by the platform and recorded here.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from local_api.link.client import PlatformClient, PlatformRejected, PlatformUnavailable
from local_api.outbox.crypto import Sealer
from local_api.outbox.records import Material, OutboxError, OutboxUnavailable, Record
from local_api.outbox.schema import PAYMENT_STATES
from local_api.outbox.store import Outbox

log = logging.getLogger(__name__)

OPEN_STATES = ("creating", "created")
"""Orders the platform may still pay: the watcher asks about them."""
WITHDRAWN_STATES = ("expired", "cancelled", "refunded", "failed")
"""Nothing is submitted for these: the held copy is deleted."""
_FIELDS = ("id, kiosk_id, request_id, kind, item_code, order_no, amount, state, receipt_no, created_at,"
           " updated_at, expires_at, paid_at, left_at, bill_no, check_code, verify_url, last_error")


class UnknownOrder(OutboxError, KeyError):
    """No payment order has this number here."""


@dataclass(frozen=True)
class Payment:
    """A payment order's bookkeeping here: no personal data (the held submission stays sealed)."""

    id: int
    kiosk_id: str
    request_id: str
    kind: str
    item_code: str
    order_no: str | None
    amount: str | None
    state: str
    receipt_no: str | None
    created_at: float
    updated_at: float
    expires_at: float | None
    paid_at: float | None
    left_at: float | None
    bill_no: str | None
    check_code: str | None
    verify_url: str | None
    last_error: str | None

    @property
    def idempotency_key(self) -> str:
        """The payment platform's key for this order: one per kiosk and app request."""
        return f"{self.kiosk_id}-{self.request_id}"

    @property
    def released(self) -> bool:
        """Paid and its submission in the outbox's queue."""
        return self.receipt_no is not None

    def bill(self) -> dict[str, str] | None:
        if not self.bill_no:
            return None
        return {"number": self.bill_no, "check_code": self.check_code or "", "verify_url": self.verify_url or ""}


def _aad(kiosk_id: str, request_id: str, item_code: str, part: str) -> str:
    return f"payment\x1f{kiosk_id}\x1f{request_id}\x1f{item_code}\x1f{part}"


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


class PaymentLedger:
    """The ``payments`` table of the outbox's database (its own connection; WAL lets both write)."""

    def __init__(self, outbox: Outbox, sealer: Sealer, *, on_release: Callable[[Record], None] | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self._sealer = sealer
        self._now = wall_clock
        self._on_release = on_release
        self._lock = threading.Lock()
        self._release_lock = threading.Lock()  # the app's poll and the watcher may hear "paid" at once
        self._db = sqlite3.connect(outbox.path, isolation_level=None, check_same_thread=False, timeout=5.0)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing ---------------------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            try:
                return self._db.execute(sql, params).rowcount
            except sqlite3.Error as exc:
                raise OutboxUnavailable(f"payments in {self.outbox.path} cannot be written: {exc}") from exc

    def hold(self, kiosk_id: str, request_id: str, kind: str, item_code: str, payload: dict[str, Any],
             materials: list[Material]) -> tuple[Payment, bool]:
        """Keep a fee item's submission sealed until its order is paid: ``(payment, created)``; the same
        request id again returns the row already held (a resend after a lost answer)."""
        try:
            return self.by_request(kiosk_id, request_id), False
        except UnknownOrder:
            pass
        blob = self._sealer.seal(payload, _aad(kiosk_id, request_id, item_code, "payload"))
        sealed = None
        if materials:
            sealed = self._sealer.seal([{"name": m.name, "content_type": m.content_type,
                                         "data": base64.b64encode(m.data).decode("ascii")} for m in materials],
                                       _aad(kiosk_id, request_id, item_code, "materials"))
        now = self._now()
        self._write("INSERT INTO payments (kiosk_id, request_id, kind, item_code, state, payload, materials,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, 'creating', ?, ?, ?, ?)",
                    (kiosk_id, request_id, kind, item_code, blob, sealed, now, now))
        return self.by_request(kiosk_id, request_id), True

    def failed(self, payment: Payment, reason: str) -> Payment:
        """No order could be made: the held submission is deleted (nothing submitted, nothing charged)."""
        self._write("UPDATE payments SET state='failed', payload=NULL, materials=NULL, last_error=?, updated_at=?"
                    " WHERE id=? AND state='creating'", (reason[:300], self._now(), payment.id))
        return self._by_id(payment.id)

    def left(self, order_no: str) -> Payment:
        """The resident left mid-payment: recorded; the watcher still matches a late payment."""
        self._write("UPDATE payments SET left_at=coalesce(left_at, ?), updated_at=? WHERE order_no=?",
                    (self._now(), self._now(), order_no))
        return self.get(order_no)

    def apply(self, payment: Payment, order: dict[str, Any]) -> Payment:
        """Take the payment platform's answer about ``payment``'s order: the only source of "paid"."""
        state = order.get("state")
        if state not in PAYMENT_STATES or state in ("creating", "failed"):
            raise PlatformUnavailable(f"the payment platform answered an unknown state {state!r}")
        found = order.get("bill")
        bill: dict[str, Any] = found if isinstance(found, dict) else {}
        now = self._now()
        order_no = str(order["order_no"])
        self._write(
            "UPDATE payments SET order_no=?, amount=?, state=?, expires_at=coalesce(?, expires_at),"
            " paid_at=coalesce(?, paid_at), bill_no=coalesce(?, bill_no), check_code=coalesce(?, check_code),"
            " verify_url=coalesce(?, verify_url), updated_at=?, last_error=NULL WHERE id=?",
            (order_no, str(order["amount"]), state, _timestamp(order.get("expires_at")),
             _timestamp(order.get("paid_at")), bill.get("number"), bill.get("check_code"), bill.get("verify_url"),
             now, payment.id))
        current = self._by_id(payment.id)
        if current.state == "paid" and not current.released:
            return self._release(current)
        if current.state in WITHDRAWN_STATES:
            self._write("UPDATE payments SET payload=NULL, materials=NULL WHERE id=?", (current.id,))
        return current

    def _release(self, payment: Payment) -> Payment:
        """Queue the paid submission (stored once, whatever happens between the two writes)."""
        with self._release_lock:
            return self._release_once(payment)

    def _release_once(self, payment: Payment) -> Payment:
        with self._lock:
            row = self._db.execute("SELECT payload, materials FROM payments WHERE id=?", (payment.id,)).fetchone()
        if row is None or row[0] is None:
            current = self._by_id(payment.id)
            if current.released:  # released meanwhile by the other caller
                return current
            raise OutboxError(f"payment order {payment.order_no}: the held submission is missing")
        aad = (payment.kiosk_id, payment.request_id, payment.item_code)
        payload = self._sealer.open(row[0], _aad(*aad, "payload"))
        listing = self._sealer.open(row[1], _aad(*aad, "materials")) if row[1] is not None else []
        materials = [Material(m["name"], m["content_type"], base64.b64decode(m["data"])) for m in listing]
        payload["payment"] = {"order_no": payment.order_no, "amount": payment.amount, "bill": payment.bill(),
                              "paid_at": payment.paid_at}
        record, created = self.outbox.accept_once(payment.kind, payment.item_code, payload, materials=materials,
                                                  kiosk_id=payment.kiosk_id, request_id=payment.request_id)
        self._write("UPDATE payments SET receipt_no=?, payload=NULL, materials=NULL, updated_at=? WHERE id=?",
                    (record.receipt_no, self._now(), payment.id))
        if created:
            log.info("payment %s confirmed by the platform: submission %s queued", payment.order_no,
                     record.receipt_no)
        if self._on_release is not None:
            self._on_release(record)
        return self._by_id(payment.id)

    # -- reading ---------------------------------------------------------------------------------

    def _rows(self, where: str, params: tuple[Any, ...] = ()) -> list[Payment]:
        with self._lock:
            try:
                rows = self._db.execute(f"SELECT {_FIELDS} FROM payments WHERE {where} ORDER BY id", params).fetchall()
            except sqlite3.Error as exc:
                raise OutboxUnavailable(f"payments in {self.outbox.path} cannot be read: {exc}") from exc
        return [Payment(*r) for r in rows]

    def _by_id(self, row_id: int) -> Payment:
        return self._rows("id=?", (row_id,))[0]

    def by_request(self, kiosk_id: str, request_id: str) -> Payment:
        rows = self._rows("kiosk_id=? AND request_id=?", (kiosk_id, request_id))
        if not rows:
            raise UnknownOrder(request_id)
        return rows[0]

    def get(self, order_no: str) -> Payment:
        rows = self._rows("order_no=?", (order_no,))
        if not rows:
            raise UnknownOrder(order_no)
        return rows[0]

    def payer(self, payment: Payment) -> dict[str, str]:
        """Who pays (the applicant's name and ID number), from the held submission: for the platform only."""
        with self._lock:
            row = self._db.execute("SELECT payload FROM payments WHERE id=?", (payment.id,)).fetchone()
        if row is None or row[0] is None:
            raise OutboxError(f"payment {payment.id}: the held submission is gone")
        applicant = self._sealer.open(row[0], _aad(payment.kiosk_id, payment.request_id, payment.item_code,
                                                   "payload")).get("applicant") or {}
        return {"name": str(applicant.get("name", "")), "id_number": str(applicant.get("id_number", ""))}

    def purge(self, older_than: float) -> int:
        """Forget settled orders (no held copy left) last changed before wall-clock ``older_than``."""
        return self._write("DELETE FROM payments WHERE payload IS NULL AND state NOT IN ('creating', 'created')"
                           " AND (state != 'paid' OR receipt_no IS NOT NULL) AND updated_at < ?", (older_than,))

    def watched(self) -> list[Payment]:
        """Orders to ask the platform about: open ones, and paid ones whose submission is not queued yet."""
        return self._rows("state IN ('creating', 'created') OR (state='paid' AND receipt_no IS NULL)")

    def summary(self) -> dict[str, Any]:
        """For operators and metrics: counts by state, the amount paid, the oldest unconfirmed order's
        age. No payer data (there is none outside the sealed copy)."""
        counts = dict.fromkeys(PAYMENT_STATES, 0)
        paid = Decimal(0)
        for state, n in self._count("SELECT state, count(*) FROM payments GROUP BY state"):
            counts[state] = n
        for (amount,) in self._count("SELECT amount FROM payments WHERE state='paid'"):
            paid += Decimal(amount or 0)
        oldest = self._count("SELECT min(created_at) FROM payments WHERE state IN ('creating', 'created')"
                             " OR (state='paid' AND receipt_no IS NULL)")[0][0]
        left = self._count("SELECT count(*) FROM payments WHERE left_at IS NOT NULL")[0][0]
        return {"counts": counts, "paid_amount": f"{paid:.2f}", "left": left,
                "oldest_unconfirmed_s": None if oldest is None else max(0.0, self._now() - oldest)}

    def _count(self, sql: str) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql).fetchall()
            except sqlite3.Error as exc:
                raise OutboxUnavailable(f"payments in {self.outbox.path} cannot be read: {exc}") from exc


def create_order(ledger: PaymentLedger, client: PlatformClient, payment: Payment,
                 amount: str | None) -> tuple[Payment, dict[str, Any]]:
    """Ask the payment platform for ``payment``'s order (the same key answers the same order):
    the payment as recorded, and the platform's order (with the QR code's ``pay_url``)."""
    body: dict[str, Any] = {"item_code": payment.item_code, "payer": ledger.payer(payment),
                            "reference": payment.request_id}
    if amount is not None:
        body["amount"] = amount
    order = client.create_payment(payment.idempotency_key, body)
    return ledger.apply(payment, order), order


class PaymentWatcher:
    """The gateway's thread that asks the platform about open orders every ``interval_s`` seconds."""

    def __init__(self, ledger: PaymentLedger, client: PlatformClient, *, interval_s: float = 5.0,
                 retention_s: float | None = None) -> None:
        self.ledger = ledger
        self.retention_s = retention_s
        """Settled orders are forgotten this long after they settled (None: kept)."""
        self.client = client
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="payment-watcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_once()
                if self.retention_s is not None:
                    self.ledger.purge(time.time() - self.retention_s)
            except Exception:  # one bad round never ends the watcher
                log.exception("payment watcher: round failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def check_once(self) -> int:
        """Ask about every watched order once; how many changed."""
        changed = 0
        for payment in self.ledger.watched():
            if self._stop.is_set():
                break
            try:
                if payment.order_no is None:
                    # Held, but the platform's answer was never heard (a crash mid-create): the same key
                    # finds the order if it was made, else makes one nobody pays, which expires.
                    after, _ = create_order(self.ledger, self.client, payment, None)
                else:
                    after = self.ledger.apply(payment, self.client.payment(payment.order_no))
            except PlatformUnavailable as exc:
                log.info("payment watcher: platform unavailable (%s)", exc.reason)
                break
            except PlatformRejected as exc:
                log.warning("payment watcher: order %s refused: %s", payment.order_no, exc.reason)
                if payment.order_no is None:
                    self.ledger.failed(payment, exc.reason)
                continue
            if after.state != payment.state or after.released != payment.released:
                changed += 1
        return changed
