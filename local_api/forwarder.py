"""The forwarder: one thread that delivers the outbox to the platform, in acceptance order.

- Exactly once at the platform: each submission is sent with its receipt number as the
  idempotency key, so a resend after a crash, a timeout or a dropped answer is harmless.
- Head of line: the oldest queued submission is tried until it is delivered or rejected,
  so a backlog drains in the order residents submitted (TARGETS R2).
- Waits between failed attempts: capped exponential backoff with jitter, or the
  platform's ``Retry-After`` when it gave one (never earlier). Waiting uses the monotonic
  clock, so a wall-clock jump neither stalls nor floods delivery (R5).
- The loop never dies: an unexpected error is logged (type only, never payload) and
  treated as a passing failure.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from local_api.crypto import SealError
from local_api.outbox import Outbox, Record
from local_api.platform_client import PlatformClient, PlatformRejected, PlatformReply, PlatformUnavailable

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 6 * 3600.0  # a bogus Retry-After must not park the queue for days
_DB_PAUSE_S = 1.0


class PlatformStatus:
    """Reachability of the platform as last seen; logs each change once, not each failure."""

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._now = wall_clock
        self.reachable: bool | None = None  # None: not tried yet
        self.last_error: str | None = None
        self.since: float | None = None

    def ok(self) -> None:
        """A request got an answer from the platform (even a refusal)."""
        with self._lock:
            if self.reachable is False:
                log.info("platform reachable again")
            if self.reachable is not True:
                self.since = self._now()
            self.reachable = True

    def failed(self, reason: str) -> None:
        """A request could not get an answer; ``reason`` is plain text without personal data."""
        with self._lock:
            if self.reachable is not False:
                log.warning("platform unreachable: %s", reason)
                self.since = self._now()
            self.reachable = False
            self.last_error = reason

    def snapshot(self) -> dict[str, Any]:
        """``{reachable, last_error, since}`` for the health report."""
        with self._lock:
            return {"reachable": self.reachable, "last_error": self.last_error, "since": self.since}


def iso(ts: float | None) -> str | None:
    """Unix seconds → ISO 8601 with the local UTC offset (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).astimezone().isoformat(timespec="seconds")


class Forwarder:
    """Owns the delivery thread: ``start()``, ``wake()`` after each accept, ``stop()`` at shutdown."""

    def __init__(self, outbox: Outbox, client: PlatformClient, *, retry_max_s: float,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 base_delay_s: float = 1.0, idle_probe_s: float | None = 30.0,
                 retention_s: float | None = None, purge_every_s: float = 3600.0,
                 rng: random.Random | None = None) -> None:
        self.outbox = outbox
        self.client = client
        self.retry_max_s = retry_max_s
        self.base_delay_s = min(base_delay_s, retry_max_s)
        self.idle_probe_s = idle_probe_s
        self.retention_s = retention_s
        self.purge_every_s = purge_every_s
        self.status = PlatformStatus(wall_clock)
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
        self._unmarked: tuple[str, str] | None = None  # delivered, but the outbox write failed

    # -- ownership ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the delivery thread (once)."""
        if self._thread is not None:
            raise RuntimeError("forwarder already started")
        self._thread = threading.Thread(target=self._run, name="outbox-forwarder", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: look now (a backoff wait still holds)."""
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
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception as exc:  # the loop must outlive anything one submission does
                log.error("forwarder: unexpected %s; pausing before the next attempt", type(exc).__name__,
                          exc_info=log.isEnabledFor(logging.DEBUG))
                self._wait(_DB_PAUSE_S)

    def _step(self) -> None:
        now = self._clock()
        if now < self._not_before:
            self._wait(self._not_before - now)
            return
        self._wakeup.clear()  # before looking: a wake() from here on is not lost
        if self._unmarked is not None:
            self.outbox.mark_delivered(*self._unmarked)
            self._unmarked = None
        if self.retention_s is not None and now >= self._next_purge:
            self._next_purge = now + self.purge_every_s
            self.outbox.purge(self._wall() - self.retention_s)
        record = self.outbox.next_due()
        if record is not None:
            self._deliver(record)
            return
        if self.idle_probe_s is not None:
            if now >= self._next_probe:
                self._next_probe = now + self.idle_probe_s
                self._probe()
            self._wait(self._next_probe - self._clock())
        else:
            self._wait(self.purge_every_s)

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
        return {**payload, "receipt_no": record.receipt_no, "kind": record.kind,
                "item_code": record.item_code, "kiosk_id": self.client.kiosk_id,
                "accepted_at": iso(record.accepted_at)}

    def _send(self, record: Record, body: dict[str, Any]) -> PlatformReply:
        if record.kind == "rating":
            return self.client.submit_rating(record.receipt_no, body)
        return self.client.submit_application(record.receipt_no, body)

    def _deliver(self, record: Record) -> None:
        receipt = record.receipt_no
        try:
            payload = self.outbox.open_payload(record)
        except SealError:
            # Wrong or replaced key file: no attempt can ever succeed; do not block the queue.
            self.outbox.mark_rejected(receipt, "sealed data does not open with this gateway's key file")
            log.error("submission %s: sealed data does not open (key file replaced?); marked rejected",
                      receipt)
            return
        body = self._body(record, payload)
        del payload
        self.outbox.mark_sending(receipt)
        log.debug("submission %s: sending (attempt %d)", receipt, record.attempts + 1)
        try:
            reply = self._send(record, body)
        except PlatformUnavailable as exc:
            self.status.failed(exc.reason)
            self._retry_later(receipt, exc.reason, exc.retry_after)
        except PlatformRejected as exc:
            self.status.ok()
            self._streak = 0
            self.outbox.mark_rejected(receipt, exc.reason)
            log.warning("submission %s rejected by the platform: %s", receipt, exc.reason)
        except Exception as exc:
            self._retry_later(receipt, f"unexpected {type(exc).__name__} while sending", None)
            log.error("submission %s: unexpected %s while sending", receipt, type(exc).__name__)
        else:
            self.status.ok()
            self._streak = 0
            self._unmarked = (receipt, reply.platform_ref)
            self.outbox.mark_delivered(receipt, reply.platform_ref)
            self._unmarked = None
            log.info("submission %s delivered as %s%s", receipt, reply.platform_ref,
                     " (platform already had it)" if reply.duplicate else "")

    def next_delay(self, retry_after: float | None) -> float:
        """Seconds to wait after one more passing failure (counts it)."""
        self._streak += 1
        if retry_after is not None:
            # Never before the platform's own time; a little jitter so a fleet does not return at once.
            wait = min(retry_after, MAX_RETRY_AFTER_S)
            return wait + self._rng.uniform(0, min(1.0, 0.1 * wait))
        ceiling = min(self.retry_max_s, self.base_delay_s * 2 ** min(self._streak - 1, 30))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)  # "equal jitter"

    def _retry_later(self, receipt: str, reason: str, retry_after: float | None) -> None:
        delay = self.next_delay(retry_after)
        self._not_before = self._clock() + delay
        self.outbox.mark_retry(receipt, self._wall() + delay, reason)
        log.debug("submission %s: retry in %.1f s (%s)", receipt, delay, reason)
