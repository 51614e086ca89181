"""The outbox: submissions stored durably until the platform has them.

One SQLite file in WAL mode with ``synchronous=FULL``: :meth:`Outbox.accept` returns only
after the row is committed and fsync'd, so a receipt number handed to a resident always
stands for a stored submission, whatever happens to the process or the power next.

Personal data (applicant, form, rating text) lives only inside the sealed ``payload``
blob; everything else in a row (receipt number, kind, item code, states, timestamps,
platform reference, error text) is bookkeeping that operators may see.

States: ``queued`` → ``sending`` → ``delivered`` | ``rejected``; a failed attempt goes
back to ``queued`` with a later ``due_at``. A row found in ``sending`` when the outbox is
opened was interrupted mid-send; it is queued again, and the idempotency key (its receipt
number) makes the second delivery harmless.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_api.crypto import Sealer

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STATES = ("queued", "sending", "delivered", "rejected")
MAX_ERROR_CHARS = 500

_SCHEMA = """
CREATE TABLE submissions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- acceptance order; never reused
    receipt_no   TEXT NOT NULL UNIQUE,               -- also the platform idempotency key
    kind         TEXT NOT NULL,
    item_code    TEXT NOT NULL,
    subject      TEXT,                               -- a rating's rated receipt number
    payload      BLOB NOT NULL,                      -- sealed personal data (local_api.crypto)
    state        TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'delivered', 'rejected')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       REAL NOT NULL,                      -- wall clock; for operators and restarts
    accepted_at  REAL NOT NULL,
    sending_at   REAL,
    delivered_at REAL,
    rejected_at  REAL,
    platform_ref TEXT,
    last_error   TEXT
);
CREATE INDEX submissions_state_seq ON submissions (state, seq);
-- 一次一评: one rating per transaction.
CREATE UNIQUE INDEX submissions_one_rating ON submissions (kind, subject) WHERE subject IS NOT NULL;
"""

_COLUMNS = ("receipt_no, kind, item_code, subject, state, attempts, due_at, accepted_at, sending_at, "
            "delivered_at, rejected_at, platform_ref, last_error")


class OutboxError(Exception):
    """Base of the outbox's errors."""


class OutboxUnavailable(OutboxError):
    """The database cannot be written now (disk full, I/O error, locked); nothing was stored."""


class OutboxCorrupt(OutboxError):
    """The database file is damaged or not an outbox; the message names the file."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"outbox database {path} is damaged or not an outbox database ({detail}); "
                         "stop the gateway, move the file aside for an engineer and restart "
                         "(a new empty outbox is created)")


class UnknownReceipt(OutboxError, KeyError):
    """No submission has this receipt number."""


class DuplicateSubmission(OutboxError):
    """A second rating for the same transaction (一次一评)."""


@dataclass(frozen=True)
class Record:
    """A submission's bookkeeping: everything but its personal data."""

    receipt_no: str
    kind: str
    item_code: str
    subject: str | None
    state: str
    attempts: int
    due_at: float
    accepted_at: float
    sending_at: float | None
    delivered_at: float | None
    rejected_at: float | None
    platform_ref: str | None
    last_error: str | None


def _aad(receipt_no: str, kind: str, item_code: str) -> str:
    # Binds the sealed blob to its row: swapping blobs between rows makes them fail to open.
    return f"{receipt_no}\x1f{kind}\x1f{item_code}"


class Outbox:
    """Durable, encrypted, ordered store of submissions awaiting delivery. Thread-safe."""

    def __init__(self, path: Path, sealer: Sealer, *, kiosk_id: str = "KIOSK",
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._sealer = sealer
        self._kiosk_id = kiosk_id
        self._now = wall_clock
        # One connection guarded by a lock: writes are serialised by SQLite anyway, and
        # one fsync'd commit per accept is the cost that matters (TARGETS P6).
        self._lock = threading.Lock()
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=5.0)
        except sqlite3.Error as exc:
            raise OutboxCorrupt(self.path, str(exc)) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")  # purged rows are overwritten, not left in free pages
            self._migrate()
            requeued = self._requeue_interrupted()
        except sqlite3.OperationalError as exc:
            # Cannot open or write (permissions, read-only or full disk): not a damaged file.
            self._db.close()
            raise OutboxUnavailable(f"outbox database {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise OutboxCorrupt(self.path, str(exc)) from exc
        if requeued:
            log.info("outbox: %d submission(s) interrupted mid-send queued again", requeued)

    # -- lifecycle ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version == 0:
            tables = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            if tables:
                raise sqlite3.DatabaseError("has tables but no outbox schema version")
            try:
                # One transaction: a crash mid-creation leaves an empty file, not half a schema.
                self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA
                                       + f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return
        raise sqlite3.DatabaseError(f"schema version {version} is newer than this gateway's "
                                    f"{SCHEMA_VERSION}")

    def _requeue_interrupted(self) -> int:
        cur = self._db.execute("UPDATE submissions SET state='queued', due_at=? WHERE state='sending'",
                               (self._now(),))
        return cur.rowcount

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
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.IntegrityError):
                    raise DuplicateSubmission(str(exc)) from exc
                if isinstance(exc, sqlite3.OperationalError):
                    raise OutboxUnavailable(f"outbox database {self.path} cannot be written: {exc}") from exc
                if isinstance(exc, sqlite3.DatabaseError):
                    raise OutboxCorrupt(self.path, str(exc)) from exc
                raise

    def accept(self, kind: str, item_code: str, payload: dict[str, Any], *,
               subject: str | None = None) -> Record:
        """Store a submission durably (committed and fsync'd) and return its record.

        ``subject`` names the receipt a rating rates; a second one raises
        :class:`DuplicateSubmission`.
        """
        now = self._now()
        day = time.strftime("%Y%m%d", time.localtime(now))

        def insert(db: sqlite3.Connection) -> str:
            # sqlite_sequence keeps the highest seq ever used, even after a purge: numbers never repeat.
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='submissions'").fetchone()
            seq = (row[0] if row else 0) + 1
            receipt_no = f"{self._kiosk_id}-{day}-{seq:06d}"
            blob = self._sealer.seal(payload, _aad(receipt_no, kind, item_code))
            db.execute("INSERT INTO submissions (seq, receipt_no, kind, item_code, subject, payload, state,"
                       " due_at, accepted_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                       (seq, receipt_no, kind, item_code, subject, blob, now, now))
            return receipt_no

        return self.get(self._write(insert))

    def _update(self, receipt_no: str, sql: str, params: tuple[Any, ...]) -> None:
        def run(db: sqlite3.Connection) -> None:
            if db.execute(sql, params + (receipt_no,)).rowcount == 0:
                if db.execute("SELECT 1 FROM submissions WHERE receipt_no=?", (receipt_no,)).fetchone():
                    return  # already past this state: marking again is a no-op
                raise UnknownReceipt(receipt_no)
        self._write(run)

    def mark_sending(self, receipt_no: str) -> None:
        """A delivery attempt starts (counts an attempt)."""
        self._update(receipt_no, "UPDATE submissions SET state='sending', sending_at=?, attempts=attempts+1"
                     " WHERE receipt_no=? AND state='queued'", (self._now(),))

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
        """The platform refused the submission for good; ``reason`` is kept for the technician."""
        self._update(receipt_no, "UPDATE submissions SET state='rejected', rejected_at=?, last_error=?"
                     " WHERE receipt_no=? AND state IN ('queued', 'sending')",
                     (self._now(), reason[:MAX_ERROR_CHARS]))

    def purge(self, older_than: float) -> int:
        """Delete finished (delivered or rejected) rows finished before wall-clock ``older_than``."""
        def run(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM submissions WHERE (state='delivered' AND delivered_at < ?)"
                              " OR (state='rejected' AND rejected_at < ?)", (older_than, older_than)).rowcount
        purged: int = self._write(run)
        if purged:
            log.info("outbox: purged %d finished submission(s) past retention", purged)
        return purged

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
        rows = self._read(f"SELECT {_COLUMNS} FROM submissions WHERE receipt_no=?", (receipt_no,))
        if not rows:
            raise UnknownReceipt(receipt_no)
        return Record(*rows[0])

    def next_due(self, now: float | None = None) -> Record | None:
        """The oldest queued submission (acceptance order); with ``now``, only one due by then."""
        if now is None:
            rows = self._read(f"SELECT {_COLUMNS} FROM submissions WHERE state='queued' ORDER BY seq LIMIT 1")
        else:
            rows = self._read(f"SELECT {_COLUMNS} FROM submissions WHERE state='queued' AND due_at <= ?"
                              " ORDER BY seq LIMIT 1", (now,))
        return Record(*rows[0]) if rows else None

    def open_payload(self, record: Record) -> dict[str, Any]:
        """Decrypt a submission's personal data, for delivery only."""
        rows = self._read("SELECT payload FROM submissions WHERE receipt_no=?", (record.receipt_no,))
        if not rows:
            raise UnknownReceipt(record.receipt_no)
        payload: dict[str, Any] = self._sealer.open(rows[0][0], _aad(record.receipt_no, record.kind,
                                                                      record.item_code))
        return payload

    def counts(self) -> dict[str, int]:
        """Number of submissions in each state (every state named, zeros included)."""
        result = dict.fromkeys(STATES, 0)
        for state, n in self._read("SELECT state, count(*) FROM submissions GROUP BY state"):
            result[state] = n
        return result
