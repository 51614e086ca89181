"""The outbox: submissions stored durably until the platform has them.

One SQLite file in WAL mode with ``synchronous=FULL``: :meth:`Outbox.accept` returns only
after the row is committed and fsync'd, so a receipt number handed to a resident always
stands for a stored submission, whatever happens to the process or the power next.
Accepts that arrive together share one commit (group commit): each caller still returns
only after its own row is on disk, but a burst costs one fsync instead of one each.

Personal data (applicant, form, rating text) lives only inside the sealed ``payload``
blob, materials (document-camera images) inside the sealed ``materials`` blob; everything
else in a row is bookkeeping that operators may see (schema: :mod:`local_api.outbox.schema`).

States: ``queued`` → ``sending`` → ``delivered`` | ``rejected``; a failed attempt goes back
to ``queued`` with a later ``due_at``; a submission undelivered past the expiry becomes
``expired``. Rejected and expired rows are parked for operators (``kiosk outbox``), who may
queue them again. A row found in ``sending`` when the outbox is opened was interrupted
mid-send; it is queued again, and the idempotency key makes the second delivery harmless.
"""

from __future__ import annotations

import base64
import builtins
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_api.outbox.crypto import Sealer
from local_api.outbox.records import (
    DuplicateSubmission,
    Material,
    OutboxCorrupt,
    OutboxError,
    OutboxUnavailable,
    Record,
    RequestConflict,
    UnknownReceipt,
)
from local_api.outbox.schema import COLUMNS, FINISHED, PARKED, SCHEMA_VERSION, STATES, migrate

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION",
    "STATES",
    "DuplicateSubmission",
    "Material",
    "Outbox",
    "OutboxCorrupt",
    "OutboxError",
    "OutboxUnavailable",
    "Record",
    "RequestConflict",
    "UnknownReceipt",
]

MAX_ERROR_CHARS = 500
RUN_DIGITS = 6  # a random run number, drawn each time the outbox is opened
SERIAL_DIGITS = 4  # a counter within the run and the day; a new run number past 9999
_INSERT = ("INSERT INTO submissions (seq, receipt_no, kiosk_id, kind, item_code, subject, request_id, payload,"
           " materials, materials_count, materials_bytes, state, due_at, accepted_at, delivery_key) VALUES ")
_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)"
_ROWS_PER_INSERT = 200  # 14 values a row: well within SQLite's 32,766 variables a statement


def _same_json(a: Any, b: Any) -> bool:
    """Whether two JSON-able values are the same once stored (key order and tuples do not matter)."""
    def norm(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return norm(a) == norm(b)


def _aad(receipt_no: str, kind: str, item_code: str, part: str = "") -> str:
    # Binds the sealed blob to its row: swapping blobs between rows makes them fail to open.
    return f"{receipt_no}\x1f{kind}\x1f{item_code}" + (f"\x1f{part}" if part else "")


@dataclass
class _Pending:
    """One accept waiting for a group commit."""

    kind: str
    item_code: str
    payload: dict[str, Any]
    subject: str | None
    materials: list[Material]
    kiosk_id: str
    request_id: str | None = None
    record: Record | None = None
    created: bool = True
    error: BaseException | None = None
    done: bool = False


class Outbox:
    """Durable, encrypted, ordered store of submissions awaiting delivery. Thread-safe."""

    def __init__(self, path: Path, sealer: Sealer, *, kiosk_id: str = "KIOSK",
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._sealer = sealer
        self.kiosk_id = kiosk_id
        self._now = wall_clock
        # One connection guarded by a lock: writes are serialised by SQLite anyway, and the
        # fsync'd commit is the cost that matters (TARGETS P6); accepts queue in _batch.
        self._lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._batch: list[_Pending] = []
        self._closed = False
        # Receipt numbers are <kiosk id>-<YYYYMMDD>-<run>-<serial>: the run number is drawn afresh at
        # every open, so an outbox moved aside, a restored backup or a second terminal left on the
        # same kiosk id does not hand out a number again (the database's UNIQUE constraint catches the
        # one-in-a-million draw that repeats one; a new run number is then drawn).
        self._run = self._draw_run()
        self._serials: dict[tuple[str, str], int] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            # Created owner-only before SQLite opens it: SQLite gives the -wal and -shm files the
            # database file's mode, so all three are 0600 whatever the umask (issue 17).
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise OutboxUnavailable(f"outbox database {self.path} cannot be created: {exc.strerror}") from exc
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=5.0)
        except sqlite3.Error as exc:
            raise OutboxCorrupt(self.path, str(exc)) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")  # purged rows are overwritten, not left in free pages
            migrate(self._db, kiosk_id)
            requeued = self._db.execute("UPDATE submissions SET state='queued', due_at=? WHERE state='sending'",
                                        (self._now(),)).rowcount
        except sqlite3.OperationalError as exc:
            # Cannot open or write (permissions, read-only or full disk): not a damaged file.
            self._db.close()
            raise OutboxUnavailable(f"outbox database {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise OutboxCorrupt(self.path, str(exc)) from exc
        if requeued:
            log.info("outbox: %d submission(s) interrupted mid-send queued again", requeued)

    @staticmethod
    def _draw_run() -> str:
        return f"{secrets.randbelow(10 ** RUN_DIGITS):0{RUN_DIGITS}d}"

    def _next_receipt(self, kiosk_id: str, day: str) -> str:
        n = self._serials.get((kiosk_id, day), 0) + 1
        if n >= 10 ** SERIAL_DIGITS:
            self._run, self._serials, n = self._draw_run(), {}, 1
        self._serials[(kiosk_id, day)] = n
        return f"{kiosk_id}-{day}-{self._run}-{n:0{SERIAL_DIGITS}d}"

    # -- lifecycle ---------------------------------------------------------------------------

    def integrity_check(self) -> None:
        """Run ``PRAGMA integrity_check``; raise :class:`OutboxCorrupt` naming the file if it fails."""
        try:
            with self._lock:
                self._check_open()
                rows = self._db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            raise OutboxCorrupt(self.path, str(exc)) from exc
        if [r[0] for r in rows] != ["ok"]:
            raise OutboxCorrupt(self.path, "; ".join(str(r[0]) for r in rows[:5]))

    def close(self) -> None:
        """Close the database (checkpointing the WAL)."""
        with self._lock:
            self._closed = True
            self._db.close()

    def _check_open(self) -> None:
        # A thread abandoned at shutdown may still try to write: say what happened, not "corrupt".
        if self._closed:
            raise OutboxUnavailable(f"outbox database {self.path} is closed (gateway stopping)")

    def _translate(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.IntegrityError):
            return DuplicateSubmission(str(exc))
        if isinstance(exc, sqlite3.OperationalError):
            return OutboxUnavailable(f"outbox database {self.path} cannot be written: {exc}")
        if isinstance(exc, sqlite3.DatabaseError):
            return OutboxCorrupt(self.path, str(exc))
        return exc

    # -- writing -----------------------------------------------------------------------------

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn`` in one IMMEDIATE transaction; any failure leaves nothing written."""
        with self._lock:
            self._check_open()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                result = fn(self._db)
                self._db.execute("COMMIT")
                return result
            except BaseException as exc:
                self._rollback()
                translated = self._translate(exc)
                if translated is exc:
                    raise
                raise translated from exc

    def _rollback(self) -> None:
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def accept(self, kind: str, item_code: str, payload: dict[str, Any], *, subject: str | None = None,
               materials: list[Material] | None = None, kiosk_id: str | None = None) -> Record:
        """Store a submission durably (committed and fsync'd) and return its record.

        ``subject`` names the receipt a rating rates; a second one raises
        :class:`DuplicateSubmission`. ``kiosk_id`` is the submitting terminal (default: this one).
        """
        return self.accept_once(kind, item_code, payload, subject=subject, materials=materials,
                                kiosk_id=kiosk_id)[0]

    def accept_once(self, kind: str, item_code: str, payload: dict[str, Any], *, request_id: str | None = None,
                    subject: str | None = None, materials: list[Material] | None = None,
                    kiosk_id: str | None = None) -> tuple[Record, bool]:
        """Like :meth:`accept`, but a ``request_id`` already stored for the kiosk returns that
        submission instead of a second one: ``(record, created)``. A kiosk app that resends after
        losing the answer (the gateway restarted mid-request) gets the same receipt number."""
        pending = _Pending(kind, item_code, payload, subject, list(materials or ()), kiosk_id or self.kiosk_id,
                           request_id)
        with self._batch_lock:
            self._batch.append(pending)
        with self._lock:
            # Whoever holds the lock commits every accept queued so far (the "leader"); an accept
            # that a leader already committed finds itself done and just returns.
            if not pending.done:
                with self._batch_lock:
                    batch, self._batch = self._batch, []
                self._commit_batch(batch)
        if pending.error is not None:
            raise pending.error
        assert pending.record is not None
        return pending.record, pending.created

    def accept_many(self, accepts: Sequence[dict[str, Any]]) -> list[tuple[Record, bool] | BaseException]:
        """Several :meth:`accept_once` calls (each given as its keywords: ``kind``, ``item_code``, ``payload``
        and optionally ``request_id``, ``subject``, ``materials``, ``kiosk_id``) committed in one transaction
        (the event-loop submission door's requests of one loop tick); for each, ``(record, created)`` or the
        exception :meth:`accept_once` would have raised. One accept refused (a second rating, a reused
        request id) does not refuse the others."""
        pendings = [_Pending(a["kind"], a["item_code"], a["payload"], a.get("subject"), list(a.get("materials") or ()),
                             a.get("kiosk_id") or self.kiosk_id, a.get("request_id")) for a in accepts]
        with self._batch_lock:
            self._batch.extend(pendings)  # together: one leader takes them all
        with self._lock:
            if not all(p.done for p in pendings):
                with self._batch_lock:
                    batch, self._batch = self._batch, []
                self._commit_batch(batch)
        results: list[tuple[Record, bool] | BaseException] = []
        for p in pendings:
            if p.error is not None:
                results.append(p.error)
            else:
                assert p.record is not None
                results.append((p.record, p.created))
        return results

    def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            self._check_open()
            now = self._now()
            day = time.strftime("%Y%m%d", time.localtime(now))
            self._db.execute("BEGIN IMMEDIATE")
            # sqlite_sequence keeps the highest seq ever used, even after a purge: the order never repeats.
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='submissions'").fetchone()
            seq = row[0] if row else 0
            if not self._insert_together(batch, seq, day, now):
                self._insert_each(batch, seq, day, now)
            self._db.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - every waiter of the batch must get an answer
            self._rollback()
            error = self._translate(exc)
            for item in batch:
                item.error, item.record = error, None
        finally:
            for item in batch:
                item.done = True

    def _insert_together(self, batch: list[_Pending], seq: int, day: str, now: float) -> bool:
        """The batch in as few statements as SQLite allows (one lookup of its request ids, one INSERT of
        up to :data:`_ROWS_PER_INSERT` rows): each statement hands the interpreter lock away and must wait
        to get it back, which costs the event-loop door more than the statement. False (nothing written)
        when the batch needs :meth:`_insert_each`: a request id twice in it, several kiosks' request ids,
        or a row the database refuses (a second rating, a receipt number already on record)."""
        keys = [item.request_id for item in batch if item.request_id is not None]
        if keys:
            kiosks = {item.kiosk_id for item in batch if item.request_id is not None}
            if len(set(keys)) != len(keys) or len(kiosks) != 1 or len(keys) > _ROWS_PER_INSERT:
                return False
            rows = self._db.execute(f"SELECT request_id, {COLUMNS}, payload, materials FROM submissions WHERE"
                                    f" kiosk_id=? AND request_id IN ({','.join('?' * len(keys))})",
                                    (next(iter(kiosks)), *keys)).fetchall()
            found = {r[0]: r[1:] for r in rows}
        else:
            found = {}
        rows_in: list[tuple[_Pending, Record, tuple[Any, ...]]] = []
        for item in batch:
            hit = found.get(item.request_id) if item.request_id is not None else None
            if hit is not None:
                self._resent(item, hit)
                continue
            seq += 1
            rows_in.append((item, *self._row(item, seq, day, now)))
        try:
            for start in range(0, len(rows_in), _ROWS_PER_INSERT):
                chunk = rows_in[start:start + _ROWS_PER_INSERT]
                self._db.execute(_INSERT + ", ".join([_VALUES] * len(chunk)),
                                 [value for _, _, params in chunk for value in params])
        except sqlite3.IntegrityError:
            # SQLite backed out the refused statement only; an earlier chunk's rows go too, then one by one.
            self._db.execute("DELETE FROM submissions WHERE seq > ?", (seq - len(rows_in),))
            for item in batch:
                item.record, item.created, item.error = None, True, None
            return False
        for item, record, _ in rows_in:
            item.record = record
        return True

    def _insert_each(self, batch: list[_Pending], seq: int, day: str, now: float) -> None:
        """The batch one statement at a time; a refusal of one accept leaves the others stored."""
        for item in batch:
            if item.request_id is not None:
                found = self._db.execute(f"SELECT {COLUMNS}, payload, materials FROM submissions"
                                         " WHERE kiosk_id=? AND request_id=?",
                                         (item.kiosk_id, item.request_id)).fetchone()
                if found is not None:
                    self._resent(item, found)
                    continue
            seq += 1
            item.record = self._insert_one(item, seq, day, now)
            if item.record is None:
                seq -= 1

    def _resent(self, item: _Pending, found: Sequence[Any]) -> None:
        """``item``'s request id is already stored (``found``: its row): the same submission, or a conflict."""
        record = Record(*found[:-2])
        if self._same_request(record, found[-2], found[-1], item):
            item.record, item.created = record, False
        else:
            item.error = RequestConflict(
                f"request id {item.request_id} was already used for submission {record.receipt_no}"
                " with a different body; the first stands and this one was not stored")

    def _insert_one(self, item: _Pending, seq: int, day: str, now: float) -> Record | None:
        """Insert one accept inside the batch's transaction; on a refusal of its own (a second rating)
        only this accept fails (``item.error``, None returned) and the rest of the batch stands: SQLite backs
        out a statement that breaks a constraint and keeps the transaction (its ABORT rule), so the one INSERT
        needs no savepoint of its own."""
        for _ in range(5):
            try:
                return self._insert(item, seq, day, now)
            except sqlite3.IntegrityError as exc:
                if "receipt_no" not in str(exc):
                    item.error = DuplicateSubmission(str(exc))
                    return None
                log.warning("outbox: receipt number already on record; drawing a new run number")
                self._run, self._serials = self._draw_run(), {}
        item.error = OutboxUnavailable("no free receipt number after 5 draws")
        return None

    def _same_request(self, record: Record, payload: bytes, materials: bytes | None, item: _Pending) -> bool:
        """Whether a resend carries the body already stored under its request id (compared in memory,
        after opening the sealed copy: no digest of personal data is kept on disk)."""
        if (record.kind, record.item_code, record.subject) != (item.kind, item.item_code, item.subject):
            return False
        return _same_json(self._unseal_payload(record, payload), item.payload) and \
            self._unseal_materials(record, materials) == item.materials

    def _insert(self, item: _Pending, seq: int, day: str, now: float) -> Record:
        record, params = self._row(item, seq, day, now)
        self._db.execute(_INSERT + _VALUES, params)
        return record

    def _row(self, item: _Pending, seq: int, day: str, now: float) -> tuple[Record, tuple[Any, ...]]:
        """A new row for ``item``: its record and the INSERT's values (payload and materials sealed)."""
        receipt_no = self._next_receipt(item.kiosk_id, day)
        delivery_key = str(uuid.uuid4())
        blob = self._sealer.seal(item.payload, _aad(receipt_no, item.kind, item.item_code))
        sealed_materials = None
        size = sum(len(m.data) for m in item.materials)
        if item.materials:
            listing = [{"name": m.name, "content_type": m.content_type,
                        "data": base64.b64encode(m.data).decode("ascii")} for m in item.materials]
            sealed_materials = self._sealer.seal(listing, _aad(receipt_no, item.kind, item.item_code,
                                                               "materials"))
        params = (seq, receipt_no, item.kiosk_id, item.kind, item.item_code, item.subject, item.request_id, blob,
                  sealed_materials, len(item.materials), size, now, now, delivery_key)
        return Record(receipt_no, item.kiosk_id, item.kind, item.item_code, item.subject, "queued", 0, now,
                      now, None, None, None, None, None, None, len(item.materials), size, delivery_key), params

    def _update(self, receipt_no: str, sql: str, params: tuple[Any, ...]) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            if db.execute(sql, params + (receipt_no,)).rowcount == 0:
                if db.execute("SELECT 1 FROM submissions WHERE receipt_no=?", (receipt_no,)).fetchone():
                    return False  # already past this state: marking again is a no-op
                raise UnknownReceipt(receipt_no)
            return True
        changed: bool = self._write(run)
        return changed

    def claim_next(self, delivered: Sequence[tuple[str, str]] = (), *, requeue_sending: bool = False,
                   claim: bool = True) -> Record | None:
        """The forwarder's bookkeeping of one step in one transaction, so it costs one fsync (and one
        turn of the lock that accepts wait for) instead of one per write: mark each ``(receipt,
        platform_ref)`` of ``delivered`` delivered (as :meth:`mark_delivered`; one gone meanwhile is
        skipped), with ``requeue_sending`` queue again every row left in ``sending`` (as
        :meth:`requeue_interrupted`), then, with ``claim``, take the next submission to deliver (as
        :meth:`next_due`) and mark it ``sending`` (as :meth:`mark_sending`). Returns that record as it
        was read (before the attempt was counted), or None. A failure leaves nothing written."""
        claimed = self.claim_batch(delivered, requeue_sending=requeue_sending, limit=1 if claim else 0)
        return claimed[0] if claimed else None

    def claim_batch(self, delivered: Sequence[tuple[str, str]] = (), *, requeue_sending: bool = False,
                    limit: int = 1, max_materials_bytes: int = 4 * 1024 * 1024) -> builtins.list[Record]:
        """As :meth:`claim_next`, but claims up to ``limit`` submissions in one transaction: the next one
        to deliver (the head of its kiosk's queue) and the queued submissions of the same kiosk that
        follow it, in acceptance order (its queue's next heads), while their materials stay within
        ``max_materials_bytes`` (the head always goes). ``limit`` 0 only writes ``delivered`` and
        ``requeue_sending``. Every claimed row is marked ``sending`` with its attempt counted."""
        heads = ("seq IN (SELECT min(seq) FROM submissions WHERE state IN ('queued', 'sending')"
                 " GROUP BY kiosk_id) AND state='queued'")

        def run(db: sqlite3.Connection) -> builtins.list[Record]:
            now = self._now()
            if delivered:
                db.executemany("UPDATE submissions SET state='delivered', delivered_at=?, platform_ref=?,"
                               " last_error=NULL WHERE receipt_no=? AND state IN ('queued', 'sending')",
                               [(now, platform_ref, receipt_no) for receipt_no, platform_ref in delivered])
            if requeue_sending:
                requeued = db.execute("UPDATE submissions SET state='queued', due_at=? WHERE state='sending'",
                                      (now,)).rowcount
                if requeued:
                    log.info("outbox: %d submission(s) left mid-send queued again", requeued)
            if limit <= 0:
                return []
            row = db.execute(f"SELECT seq, {COLUMNS} FROM submissions WHERE {heads} ORDER BY due_at, seq LIMIT 1"
                             ).fetchone()
            if row is None:
                return []
            records = [Record(*row[1:])]
            if limit > 1:
                budget = max_materials_bytes - records[0].materials_bytes
                for follower in db.execute(f"SELECT {COLUMNS} FROM submissions WHERE kiosk_id=? AND state='queued'"
                                           " AND seq > ? ORDER BY seq LIMIT ?", (records[0].kiosk_id, row[0],
                                                                                  limit - 1)):
                    record = Record(*follower)
                    budget -= record.materials_bytes
                    if budget < 0:
                        break
                    records.append(record)
            db.executemany("UPDATE submissions SET state='sending', sending_at=?, attempts=attempts+1"
                           " WHERE receipt_no=?", [(now, r.receipt_no) for r in records])
            return records
        claimed: builtins.list[Record] = self._write(run)
        return claimed

    def release(self, receipts: Sequence[str]) -> None:
        """Claimed but not sent (the platform did not get to them): queued again as they were, the
        attempt their claim counted taken back. One transaction."""
        def run(db: sqlite3.Connection) -> None:
            db.executemany("UPDATE submissions SET state='queued', attempts=max(0, attempts-1)"
                           " WHERE receipt_no=? AND state='sending'", [(r,) for r in receipts])
        self._write(run)

    def mark_retry_many(self, receipts: Sequence[str], due_at: float, error: str) -> None:
        """As :meth:`mark_retry` for several submissions, in one transaction (the rows gone or past this
        state are skipped)."""
        def run(db: sqlite3.Connection) -> None:
            db.executemany("UPDATE submissions SET state='queued', due_at=?, last_error=?"
                           " WHERE receipt_no=? AND state IN ('queued', 'sending')",
                           [(due_at, error[:MAX_ERROR_CHARS], r) for r in receipts])
        self._write(run)

    def mark_sending(self, receipt_no: str) -> None:
        """A delivery attempt starts (counts an attempt)."""
        self._update(receipt_no, "UPDATE submissions SET state='sending', sending_at=?, attempts=attempts+1"
                     " WHERE receipt_no=? AND state='queued'", (self._now(),))

    def requeue_interrupted(self) -> int:
        """Queue again every submission left in ``sending`` (its attempt's outcome could not be written:
        a full disk, an I/O error). Only for the one delivering thread, between attempts: then no row
        is really being sent. The platform's idempotency key makes the resend harmless."""
        def run(db: sqlite3.Connection) -> int:
            return db.execute("UPDATE submissions SET state='queued', due_at=? WHERE state='sending'",
                              (self._now(),)).rowcount
        requeued: int = self._write(run)
        if requeued:
            log.info("outbox: %d submission(s) left mid-send queued again", requeued)
        return requeued

    def mark_delivered(self, receipt_no: str, platform_ref: str) -> None:
        """The platform acknowledged the submission under ``platform_ref``."""
        self._update(receipt_no, "UPDATE submissions SET state='delivered', delivered_at=?, platform_ref=?,"
                     " last_error=NULL WHERE receipt_no=? AND state IN ('queued', 'sending')",
                     (self._now(), platform_ref))

    def mark_retry(self, receipt_no: str, due_at: float, error: str) -> None:
        """An attempt failed for a passing reason; try again at wall-clock ``due_at``."""
        self._update(receipt_no, "UPDATE submissions SET state='queued', due_at=?, last_error=?"
                     " WHERE receipt_no=? AND state IN ('queued', 'sending')",
                     (due_at, error[:MAX_ERROR_CHARS]))

    def mark_rejected(self, receipt_no: str, reason: str) -> None:
        """The platform refused the submission for good; it is parked with ``reason`` for operators."""
        self._update(receipt_no, "UPDATE submissions SET state='rejected', rejected_at=?, last_error=?"
                     " WHERE receipt_no=? AND state IN ('queued', 'sending')",
                     (self._now(), reason[:MAX_ERROR_CHARS]))

    def expire(self, accepted_before: float) -> int:
        """Park every queued submission accepted before wall-clock ``accepted_before`` as ``expired``."""
        def run(db: sqlite3.Connection) -> int:
            return db.execute("UPDATE submissions SET state='expired', expired_at=?, last_error="
                              "'not delivered before the expiry (gateway.expire_after_s)'"
                              " WHERE state='queued' AND accepted_at < ?", (self._now(), accepted_before)).rowcount
        expired: int = self._write(run)
        if expired:
            log.warning("outbox: %d submission(s) expired undelivered; parked for operators", expired)
        return expired

    def requeue(self, receipt_no: str) -> bool:
        """Queue a parked (rejected or expired) submission again, due now; False if it was not parked."""
        return self._update(receipt_no, "UPDATE submissions SET state='queued', due_at=?, rejected_at=NULL,"
                            " expired_at=NULL WHERE receipt_no=? AND state IN ('rejected', 'expired')",
                            (self._now(),))

    def purge(self, older_than: float, *, parked_older_than: float | None = None) -> int:
        """Delete delivered rows finished before ``older_than`` and parked (rejected, expired) rows
        parked before ``parked_older_than`` (default: the same cutoff); wall-clock seconds."""
        parked = older_than if parked_older_than is None else parked_older_than

        def run(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM submissions WHERE (state='delivered' AND delivered_at < ?)"
                              " OR (state='rejected' AND rejected_at < ?) OR (state='expired' AND expired_at < ?)",
                              (older_than, parked, parked)).rowcount
        purged: int = self._write(run)
        if purged:
            log.info("outbox: purged %d finished submission(s) past retention", purged)
        return purged

    def purge_receipt(self, receipt_no: str) -> None:
        """Delete one finished submission now (an operator's decision); queued ones are refused."""
        def run(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT state FROM submissions WHERE receipt_no=?", (receipt_no,)).fetchone()
            if row is None:
                raise UnknownReceipt(receipt_no)
            if row[0] not in FINISHED:
                raise OutboxError(f"{receipt_no} is {row[0]}, not finished: it is still to be delivered")
            db.execute("DELETE FROM submissions WHERE receipt_no=?", (receipt_no,))
        self._write(run)

    # -- reading -----------------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            self._check_open()
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise OutboxUnavailable(f"outbox database {self.path} cannot be read: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                raise OutboxCorrupt(self.path, str(exc)) from exc

    def get(self, receipt_no: str) -> Record:
        """The record of ``receipt_no`` (no personal data); :class:`UnknownReceipt` if none."""
        rows = self._read(f"SELECT {COLUMNS} FROM submissions WHERE receipt_no=?", (receipt_no,))
        if not rows:
            raise UnknownReceipt(receipt_no)
        return Record(*rows[0])

    def next_due(self, now: float | None = None) -> Record | None:
        """The next submission to deliver: the oldest unfinished one of some kiosk (FIFO per kiosk),
        if it is queued; with ``now``, only one due by then. Earliest due first, then acceptance order."""
        heads = ("seq IN (SELECT min(seq) FROM submissions WHERE state IN ('queued', 'sending')"
                 " GROUP BY kiosk_id) AND state='queued'")
        if now is None:
            rows = self._read(f"SELECT {COLUMNS} FROM submissions WHERE {heads} ORDER BY due_at, seq LIMIT 1")
        else:
            rows = self._read(f"SELECT {COLUMNS} FROM submissions WHERE {heads} AND due_at <= ?"
                              " ORDER BY due_at, seq LIMIT 1", (now,))
        return Record(*rows[0]) if rows else None

    def page(self, state: str | None = None, *, limit: int = 20, offset: int = 0) -> list[Record]:
        """Newest first: ``limit`` records after skipping the ``offset`` newest (the operators' console pages)."""
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
        where = "state = ?" if state else "1 = 1"
        params: tuple[Any, ...] = (state,) if state else ()
        rows = self._read(f"SELECT {COLUMNS} FROM submissions WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                          params + (max(1, min(limit, 1000)), max(0, offset)))
        return [Record(*r) for r in rows]

    def list(self, state: str | None = None, *, limit: int = 100, after_seq: int = 0) -> list[Record]:
        """Records in acceptance order (optionally of one state); for operators, no personal data."""
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
        where = "seq > ?" + (" AND state = ?" if state else "")
        params: tuple[Any, ...] = (after_seq, state) if state else (after_seq,)
        rows = self._read(f"SELECT {COLUMNS} FROM submissions WHERE {where} ORDER BY seq LIMIT ?",
                          params + (max(1, min(limit, 10_000)),))
        return [Record(*r) for r in rows]

    def open_payload(self, record: Record) -> dict[str, Any]:
        """Decrypt a submission's personal data, for delivery only."""
        rows = self._read("SELECT payload FROM submissions WHERE receipt_no=?", (record.receipt_no,))
        if not rows:
            raise UnknownReceipt(record.receipt_no)
        return self._unseal_payload(record, rows[0][0])

    def open_materials(self, record: Record) -> builtins.list[Material]:
        """Decrypt a submission's materials, for delivery only (empty list when it has none)."""
        rows = self._read("SELECT materials FROM submissions WHERE receipt_no=?", (record.receipt_no,))
        if not rows:
            raise UnknownReceipt(record.receipt_no)
        return self._unseal_materials(record, rows[0][0])

    def _unseal_payload(self, record: Record, blob: bytes) -> dict[str, Any]:
        payload: dict[str, Any] = self._sealer.open(blob, _aad(record.receipt_no, record.kind, record.item_code))
        return payload

    def _unseal_materials(self, record: Record, blob: bytes | None) -> builtins.list[Material]:
        if blob is None:
            return []
        listing = self._sealer.open(blob, _aad(record.receipt_no, record.kind, record.item_code, "materials"))
        return [Material(m["name"], m["content_type"], base64.b64decode(m["data"])) for m in listing]

    def counts(self) -> dict[str, int]:
        """Number of submissions in each state (every state named, zeros included)."""
        result = dict.fromkeys(STATES, 0)
        for state, n in self._read("SELECT state, count(*) FROM submissions GROUP BY state"):
            result[state] = n
        return result

    def oldest_pending_accepted_at(self) -> float | None:
        """When the oldest undelivered (queued or sending) submission was accepted; None if none."""
        rows = self._read("SELECT min(accepted_at) FROM submissions WHERE state IN ('queued', 'sending')")
        oldest: float | None = rows[0][0]  # NULL when there is none
        return oldest

    def last_delivered_at(self) -> float | None:
        """When the platform last acknowledged a submission that is still on record; None if none."""
        last: float | None = self._read("SELECT max(delivered_at) FROM submissions")[0][0]
        return last

    def parked(self) -> int:
        """How many submissions wait for an operator (rejected or expired)."""
        marks = ",".join("?" * len(PARKED))
        return int(self._read(f"SELECT count(*) FROM submissions WHERE state IN ({marks})", PARKED)[0][0])
