"""The forwarder: one thread that delivers the outbox to the platform, in acceptance order.

- Exactly once at the platform: each submission is sent with its own idempotency key (a UUID
  drawn when it was stored; never the receipt number, which a resident reads and which could
  repeat), so a resend after a crash, a timeout or a dropped answer is harmless.
- Never stalls: when the outcome of an attempt cannot be written (a full disk), the row stays in
  ``sending``; as soon as the store can be written again it is marked delivered (if the platform
  acknowledged it) or queued again, without a restart.
- One fsync per delivery: an acknowledged delivery is written together with the next step's claim
  of the following submission (:meth:`Outbox.claim_next`), not in a transaction of its own. Until
  then the row reads ``sending``; a crash in between queues it again at the next start and the
  resend under the same idempotency key is harmless, so exactly once holds.
- Head of line: the oldest queued submission is tried until it is delivered or rejected,
  so a backlog drains in the order residents submitted (TARGETS R2).
- A backlog goes in batches (:meth:`Outbox.claim_batch`, ``POST /v1/submissions/batch``): the head and up
  to ``batch_max - 1`` followers of the same kiosk in one request and one write, each under its own
  idempotency key with its own result. The platform handles them in order and stops at the first it
  cannot take now; that one and the rest wait for the backoff, so order holds; a refused one is parked
  and the others go. A lone submission goes to its own endpoint; a platform without the batch endpoint,
  or one refusing a batch request as a whole, gets them one by one.
- Accepting first: while a burst is being accepted (the last step found several and :meth:`wake` was
  called since), each batch waits ``gather_s`` first, so the accepts get the cores and the database lock
  and the next ones join the same request; delivery goes on meanwhile (up to ``batch_max / gather_s``
  a second) and at full speed as soon as no more come in.
- Waits between failed attempts: capped exponential backoff with jitter, or the
  platform's ``Retry-After`` when it gave one (never earlier). Waiting uses the monotonic
  clock, so a wall-clock jump neither stalls nor floods delivery (R5).
- FIFO per kiosk: the head of each kiosk's queue is tried until it is delivered or parked;
  a rejection (4xx) parks it for operators and the next one goes, instead of retrying forever.
- Outcomes feed the circuit breaker (:mod:`local_api.link.breaker`), which online-only calls
  consult; the forwarder itself keeps trying on its own backoff, which is what closes it.
- Housekeeping on the same thread: undelivered rows past the expiry are parked as
  ``expired``; delivered rows past the retention and parked rows past theirs are purged.
- The loop never dies: an unexpected error is logged (type only, never payload) and
  treated as a passing failure.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from local_api.link.breaker import CircuitBreaker
from local_api.link.client import PlatformClient, PlatformRejected, PlatformReply, PlatformUnavailable
from local_api.outbox.crypto import SealError
from local_api.outbox.store import Outbox, OutboxUnavailable, Record
from local_api.timestamps import iso

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 6 * 3600.0  # a bogus Retry-After must not park the queue for days
_DB_PAUSE_S = 1.0
BATCH_MAX = 50  # submissions per batch request when a backlog waits (POST /v1/submissions/batch)
GATHER_S = 0.05  # while a burst is being accepted: the pause before each batch (≤ BATCH_MAX / GATHER_S per s)
_BATCH_TYPES = {"rating": "rating", "help_request": "help_request", "report": "report"}  # else application


class Forwarder:
    """Owns the delivery thread: ``start()``, ``wake()`` after each accept, ``stop()`` at shutdown."""

    def __init__(self, outbox: Outbox, client: PlatformClient, *, retry_max_s: float,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 base_delay_s: float = 1.0, idle_probe_s: float | None = 30.0,
                 retention_s: float | None = None, purge_every_s: float = 3600.0,
                 parked_retention_s: float | None = None, expire_after_s: float | None = None,
                 breaker: CircuitBreaker | None = None, rng: random.Random | None = None,
                 batch_max: int = BATCH_MAX, gather_s: float = GATHER_S) -> None:
        self.outbox = outbox
        self.client = client
        self.retry_max_s = retry_max_s
        self.base_delay_s = min(base_delay_s, retry_max_s)
        self.idle_probe_s = idle_probe_s
        self.retention_s = retention_s
        self.purge_every_s = purge_every_s
        self.parked_retention_s = parked_retention_s
        self.expire_after_s = expire_after_s or None
        self.batch_max = max(1, batch_max)
        self.gather_s = gather_s
        self._last_claimed = 0  # submissions the previous step claimed
        self._woken = 0  # wake() calls (accepts) since the last claim; only zero or not matters
        self.status = breaker or CircuitBreaker(clock=clock, wall_clock=wall_clock)
        self.delivered_total = 0
        self.rejected_total = 0
        self.failed_attempts_total = 0
        self._clock = clock
        self._wall = wall_clock
        self._rng = rng or random.Random()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._streak = 0  # consecutive passing failures: the backoff exponent
        self._not_before = 0.0  # monotonic: no attempt before this
        self._next_probe = 0.0
        self._next_purge = 0.0
        self._delivered: list[tuple[str, str]] = []  # acknowledged, not yet marked: (receipt, platform ref)
        self._interrupted = False  # an attempt's outcome could not be written: a row may sit in 'sending'
        self._one_by_one = False  # the platform refused the last batch request as a whole: the next step sends one

    # -- ownership ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the delivery thread (once)."""
        if self._thread is not None:
            raise RuntimeError("forwarder already started")
        self._thread = threading.Thread(target=self._run, name="outbox-forwarder", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: look now (a backoff wait still holds)."""
        self._woken += 1
        self._wakeup.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread; waits for an attempt in flight up to ``timeout`` (default: client timeout + 2 s).

        A row left in 'sending' by an abandoned attempt is queued again at the next start.
        """
        self._stopping.set()
        self._wakeup.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.client.timeout_s + 2.0 if timeout is None else timeout)
            if thread.is_alive():
                log.warning("forwarder still waiting on the platform at shutdown; "
                            "its submission will be resent at the next start")

    @property
    def alive(self) -> bool:
        """Whether the delivery thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def backoff_remaining_s(self) -> float:
        """Seconds until the next attempt is allowed (0 when not backing off)."""
        return max(0.0, self._not_before - self._clock())

    # -- the loop ----------------------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        self._wakeup.wait(max(0.0, seconds))

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._flush_delivered()

    def _flush_delivered(self) -> None:
        """At the end: write the deliveries acknowledged since the last step (else they are resent,
        harmlessly, after the next start)."""
        if not self._delivered:
            return
        try:
            self.outbox.claim_next(self._delivered, claim=False)
            self._delivered = []
        except Exception as exc:  # noqa: BLE001 - stopping: the rows stay 'sending' and are resent under their key
            log.warning("forwarder: %d delivery mark(s) not written at shutdown (%s); they are resent, "
                        "harmlessly, after the next start", len(self._delivered), type(exc).__name__)

    def _loop(self) -> None:
        store_failing = False  # say so once per outage of the store, not once a second (a full disk)
        while not self._stopping.is_set():
            try:
                self._step()
                if store_failing:
                    store_failing = False
                    log.info("forwarder: the outbox can be written again; deliveries resume")
            except OutboxUnavailable as exc:
                if not store_failing:
                    store_failing = True
                    log.error("forwarder: the outbox cannot be written (%s); deliveries wait until it can "
                              "(check the data folder's free space)", exc)
                self._wait(_DB_PAUSE_S)
            except Exception as exc:  # the loop must outlive anything one submission does
                log.error("forwarder: unexpected %s; pausing before the next attempt", type(exc).__name__,
                          exc_info=log.isEnabledFor(logging.DEBUG))
                self._wait(_DB_PAUSE_S)

    def _step(self) -> None:
        now = self._clock()
        if now < self._not_before:
            # A wake() does not shorten a backoff; clear it, or the wait below would return at once
            # and this thread would spin (stealing the GIL from request threads) until the backoff ends.
            self._wakeup.clear()
            if not self._stopping.is_set():
                self._wait(self._not_before - now)
            return
        self._wakeup.clear()  # before looking: a wake() from here on is not lost
        if now >= self._next_purge:
            self._housekeeping(now)
        # One transaction: the deliveries acknowledged since the last step, a stale 'sending' row queued
        # again (nothing is in flight between steps), and the next submission claimed.
        limit = 1 if self._one_by_one or not self.client.batch_available() else self.batch_max
        if self.gather_s > 0 and self._last_claimed > 1 and self._woken:
            # A burst is being accepted (the last step found several, and more came in meanwhile): accepting
            # goes first. Pausing a moment lets those accepts have the cores and the database lock and
            # gathers the next ones into the same request and write; while the burst lasts the forwarder
            # still delivers up to batch_max per gather_s, and the rest right after (no wake: full speed).
            self._stopping.wait(self.gather_s)
        self._woken = 0
        records = self.outbox.claim_batch(self._delivered, requeue_sending=self._interrupted, limit=limit)
        self._last_claimed = len(records)
        self._delivered, self._interrupted, self._one_by_one = [], False, False
        if len(records) == 1:
            self._deliver(records[0])
            return
        if records:
            self._deliver_batch(records)
            return
        if self.idle_probe_s is not None:
            if now >= self._next_probe:
                self._next_probe = now + self.idle_probe_s
                self._probe()
            self._wait(self._next_probe - self._clock())
        else:
            self._wait(self.purge_every_s)

    def _housekeeping(self, now: float) -> None:
        every = self.purge_every_s
        if self.expire_after_s is not None:  # an expiry is only as punctual as its checks
            every = min(every, max(0.5, self.expire_after_s / 10))
        self._next_purge = now + every
        wall = self._wall()
        if self.expire_after_s is not None:
            self.outbox.expire(wall - self.expire_after_s)
        if self.retention_s is not None:
            parked = None if self.parked_retention_s is None else wall - self.parked_retention_s
            self.outbox.purge(wall - self.retention_s, parked_older_than=parked)

    def _probe(self) -> None:
        # Keeps /health honest while nothing is queued: the kiosk greys out print and
        # query items from this (TARGETS R2).
        try:
            self.client.health()
        except PlatformUnavailable as exc:
            self.status.failed(exc.reason)
        except PlatformRejected as exc:
            self.status.failed(exc.reason)  # answered, but refuses us: wrong secret, clock skew
        else:
            self.status.ok()

    def _body(self, record: Record, payload: dict[str, Any]) -> dict[str, Any]:
        # Deterministic per record: a resend carries the same body under the same key.
        body = {**payload, "receipt_no": record.receipt_no, "kind": record.kind,
                "item_code": record.item_code, "kiosk_id": record.kiosk_id,
                "accepted_at": iso(record.accepted_at)}
        if record.materials_count:
            body["materials"] = [{"name": m.name, "content_type": m.content_type,
                                  "data": base64.b64encode(m.data).decode("ascii")}
                                 for m in self.outbox.open_materials(record)]
        return body

    def _send(self, record: Record, body: dict[str, Any]) -> PlatformReply:
        key = record.idempotency_key
        if record.kind == "rating":
            return self.client.submit_rating(key, body)
        if record.kind == "help_request":
            return self.client.submit_help_request(key, body)
        if record.kind == "report":
            return self.client.submit_report(key, body)
        return self.client.submit_application(key, body)

    def _deliver(self, record: Record) -> None:
        """Deliver a submission :meth:`Outbox.claim_next` has just marked ``sending``."""
        receipt = record.receipt_no
        try:
            try:
                body = self._body(record, self.outbox.open_payload(record))
            except SealError:
                # Wrong or replaced key file: no attempt can ever succeed; do not block the queue.
                self.outbox.mark_rejected(receipt, "sealed data does not open with this gateway's key file")
                log.error("submission %s: sealed data does not open (key file replaced?); marked rejected",
                          receipt)
                return
            self._attempt(record, body)
        except BaseException:
            self._interrupted = True  # the outcome was not written: the row is still 'sending'
            raise

    def _deliver_batch(self, records: list[Record]) -> None:
        """Deliver several submissions :meth:`Outbox.claim_batch` has just marked ``sending``, in one
        request (a backlog: after an outage, or while a burst is being accepted)."""
        try:
            sent: list[Record] = []
            items: list[tuple[str, str, dict[str, Any]]] = []
            for record in records:
                try:
                    body = self._body(record, self.outbox.open_payload(record))
                except SealError:
                    self.outbox.mark_rejected(record.receipt_no,
                                              "sealed data does not open with this gateway's key file")
                    log.error("submission %s: sealed data does not open (key file replaced?); marked rejected",
                              record.receipt_no)
                    continue
                sent.append(record)
                items.append((_BATCH_TYPES.get(record.kind, "application"), record.idempotency_key, body))
            if len(sent) == 1:
                self._attempt(sent[0], items[0][2])
            elif sent:
                self._attempt_batch(sent, items)
        except BaseException:
            self._interrupted = True  # the outcomes were not all written: rows may still be 'sending'
            raise

    def _attempt_batch(self, sent: list[Record], items: list[tuple[str, str, dict[str, Any]]]) -> None:
        receipts = [r.receipt_no for r in sent]
        log.debug("submissions %s … %s: sending %d in one request", receipts[0], receipts[-1], len(receipts))
        try:
            outcomes = self.client.submit_batch(items)
        except PlatformUnavailable as exc:
            self.status.failed(exc.reason)
            self.failed_attempts_total += 1
            self._retry_later_many(receipts, exc.reason, exc.retry_after)
            return
        except PlatformRejected as exc:
            # The request as a whole was refused, not one submission: one by one (each its own verdict).
            self.outbox.release(receipts)
            self._one_by_one = True
            log.warning("a batch delivery was refused as a whole (%s); delivering one by one", exc.reason)
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one attempt is a passing failure, not a stop
            self.failed_attempts_total += 1
            self._retry_later_many(receipts, f"unexpected {type(exc).__name__} while sending", None)
            log.error("submissions %s … %s: unexpected %s while sending", receipts[0], receipts[-1],
                      type(exc).__name__)
            return
        if outcomes is None:  # this platform has no batch endpoint: one by one (client.batch_available)
            self.outbox.release(receipts)
            return
        if outcomes and not isinstance(outcomes[0], PlatformUnavailable):
            self.status.ok()
            self._streak = 0
        for i, (record, outcome) in enumerate(zip(sent, outcomes)):
            receipt = record.receipt_no
            if isinstance(outcome, PlatformReply):
                self._delivered.append((receipt, outcome.platform_ref))  # written with the next step's claim
                self.delivered_total += 1
                log.info("submission %s delivered as %s%s", receipt, outcome.platform_ref,
                         " (platform already had it)" if outcome.duplicate else "")
            elif isinstance(outcome, PlatformRejected):
                self.outbox.mark_rejected(receipt, outcome.reason)
                self.rejected_total += 1
                log.warning("submission %s rejected by the platform: %s", receipt, outcome.reason)
            else:  # not now: this one after the backoff, then the rest (not handled: queued as they were)
                self.status.failed(outcome.reason)
                self.failed_attempts_total += 1
                self._retry_later_many([receipt], outcome.reason,
                                       outcome.retry_after if isinstance(outcome, PlatformUnavailable) else None)
                if i + 1 < len(sent):
                    self.outbox.release(receipts[i + 1:])
                return
        if len(outcomes) < len(sent):  # the platform did not get to these: queued again, in order
            self.outbox.release(receipts[len(outcomes):])

    def _attempt(self, record: Record, body: dict[str, Any]) -> None:
        receipt = record.receipt_no
        log.debug("submission %s: sending (attempt %d)", receipt, record.attempts + 1)
        try:
            reply = self._send(record, body)
        except PlatformUnavailable as exc:
            self.status.failed(exc.reason)
            self.failed_attempts_total += 1
            self._retry_later(receipt, exc.reason, exc.retry_after)
        except PlatformRejected as exc:
            self.status.ok()
            self._streak = 0
            self.outbox.mark_rejected(receipt, exc.reason)
            self.rejected_total += 1
            log.warning("submission %s rejected by the platform: %s", receipt, exc.reason)
        except Exception as exc:  # noqa: BLE001 - a bug in one attempt is a passing failure, not a stop
            self.failed_attempts_total += 1
            self._retry_later(receipt, f"unexpected {type(exc).__name__} while sending", None)
            log.error("submission %s: unexpected %s while sending", receipt, type(exc).__name__)
        else:
            self.status.ok()
            self._streak = 0
            self._delivered.append((receipt, reply.platform_ref))  # written with the next step's claim
            self.delivered_total += 1
            log.info("submission %s delivered as %s%s", receipt, reply.platform_ref,
                     " (platform already had it)" if reply.duplicate else "")

    def next_delay(self, retry_after: float | None) -> float:
        """Seconds to wait after one more passing failure (counts it)."""
        self._streak += 1
        if retry_after is not None:
            # Never before the platform's own time; a little jitter so a fleet does not return at once.
            wait = min(retry_after, MAX_RETRY_AFTER_S)
            return wait + self._rng.uniform(0, min(1.0, 0.1 * wait))
        ceiling = min(self.retry_max_s, self.base_delay_s * 2.0 ** min(self._streak - 1, 30))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)  # "equal jitter"

    def _retry_later_many(self, receipts: list[str], reason: str, retry_after: float | None) -> None:
        delay = self.next_delay(retry_after)
        self._not_before = self._clock() + delay
        self.outbox.mark_retry_many(receipts, self._wall() + delay, reason)
        log.debug("submissions %s … %s: retry in %.1f s (%s)", receipts[0], receipts[-1], delay, reason)

    def _retry_later(self, receipt: str, reason: str, retry_after: float | None) -> None:
        delay = self.next_delay(retry_after)
        self._not_before = self._clock() + delay
        self.outbox.mark_retry(receipt, self._wall() + delay, reason)
        log.debug("submission %s: retry in %.1f s (%s)", receipt, delay, reason)
