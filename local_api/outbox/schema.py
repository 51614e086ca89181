"""The outbox's SQLite schema and its migrations (one seam: what is on disk, and how it grew).

Version 1 (walking skeleton): submissions with states queued/sending/delivered/rejected.
Version 2: adds the submitting kiosk (FIFO per kiosk), the kiosk app's request id (a resent
submission is stored once), sealed materials with their count and size in clear, and the
``expired`` state. SQLite cannot change a CHECK constraint in place,
so the table is rebuilt inside one transaction; receipt numbers keep counting where they were.
Version 3: adds ``delivery_key``, the platform's idempotency key: a fresh UUID for every new
submission, so it can never repeat, whatever happens to receipt numbers (an outbox moved aside, a
restored backup, two terminals on one id). Rows from before keep their receipt number as the key
(NULL here): they may already be at the platform under it.
Version 4: adds ``payments``, one row per payment order (统一公共支付平台) and the submission it pays
for: the submission is held there, sealed, until the payment platform says the order is paid, then
it enters ``submissions`` (``receipt_no``) and the held copy is deleted; an order that expires, is
cancelled or refunded has its held copy deleted (nothing submitted). ``left_at`` records a resident
who left mid-payment: a late payment is still matched (or refunded by the platform).
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 4
STATES = ("queued", "sending", "delivered", "rejected", "expired")
FINISHED = ("delivered", "rejected", "expired")
PARKED = ("rejected", "expired")

_TABLE = """
CREATE TABLE {name} (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- acceptance order; never reused
    receipt_no      TEXT NOT NULL UNIQUE,               -- also the platform idempotency key
    kiosk_id        TEXT NOT NULL,                      -- the submitting terminal: FIFO per kiosk
    kind            TEXT NOT NULL,
    item_code       TEXT NOT NULL,
    subject         TEXT,                               -- a rating's rated receipt number
    request_id      TEXT,                               -- the kiosk app's own key: a resend is one submission
    payload         BLOB NOT NULL,                      -- sealed personal data (local_api.outbox.crypto)
    materials       BLOB,                               -- sealed materials (images), NULL when none
    materials_count INTEGER NOT NULL DEFAULT 0,
    materials_bytes INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL
                    CHECK (state IN ('queued', 'sending', 'delivered', 'rejected', 'expired')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    due_at          REAL NOT NULL,                      -- wall clock; for operators and restarts
    accepted_at     REAL NOT NULL,
    sending_at      REAL,
    delivered_at    REAL,
    rejected_at     REAL,
    expired_at      REAL,
    platform_ref    TEXT,
    last_error      TEXT{extra}
)"""
_V3_COLUMN = ",\n    delivery_key    TEXT                                -- platform idempotency key; NULL: receipt_no"

_INDEXES = """
CREATE INDEX submissions_state_seq ON submissions (state, seq);
CREATE INDEX submissions_kiosk_state_seq ON submissions (kiosk_id, state, seq);
-- 一次一评: one rating per transaction.
CREATE UNIQUE INDEX submissions_one_rating ON submissions (kind, subject) WHERE subject IS NOT NULL;
CREATE UNIQUE INDEX submissions_request_id ON submissions (kiosk_id, request_id) WHERE request_id IS NOT NULL;
"""
_V3_INDEX = "CREATE UNIQUE INDEX submissions_delivery_key ON submissions (delivery_key) WHERE delivery_key IS NOT NULL;"

PAYMENT_STATES = ("creating", "created", "paid", "expired", "cancelled", "refunded", "failed")
"""``creating``: held, the platform's answer not yet heard; ``failed``: no order could be made (nothing
submitted). The rest are the payment platform's own states."""

_PAYMENTS = """
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id        TEXT NOT NULL,
    request_id      TEXT NOT NULL,                      -- the kiosk app's key of the submission paid for
    kind            TEXT NOT NULL,
    item_code       TEXT NOT NULL,
    order_no        TEXT UNIQUE,                        -- the payment platform's; NULL until it answered
    amount          TEXT,                               -- yuan as a decimal string, as the platform set it
    state           TEXT NOT NULL CHECK (state IN ('creating', 'created', 'paid', 'expired', 'cancelled',
                                                   'refunded', 'failed')),
    payload         BLOB,                               -- the sealed submission, held until paid; NULL after
    materials       BLOB,                               -- its sealed materials, NULL when none or after
    receipt_no      TEXT,                               -- the submission in the outbox, once paid
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    expires_at      REAL,
    paid_at         REAL,
    left_at         REAL,                               -- the resident left mid-payment
    bill_no         TEXT,                               -- 财政电子票据: number, check code, verification URL
    check_code      TEXT,
    verify_url      TEXT,
    last_error      TEXT,
    UNIQUE (kiosk_id, request_id)
);
CREATE INDEX payments_state ON payments (state);
"""

COLUMNS = ("receipt_no, kiosk_id, kind, item_code, subject, state, attempts, due_at, accepted_at, "
           "sending_at, delivered_at, rejected_at, expired_at, platform_ref, last_error, materials_count, "
           "materials_bytes, delivery_key")


def migrate(db: sqlite3.Connection, default_kiosk_id: str) -> None:
    """Bring the database to :data:`SCHEMA_VERSION` in one transaction, or raise ``DatabaseError``."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema version {version} is newer than this gateway's {SCHEMA_VERSION}")
    if version == 0:
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        if tables:
            raise sqlite3.DatabaseError("has tables but no outbox schema version")
        script = _TABLE.format(name="submissions", extra=_V3_COLUMN) + ";" + _INDEXES + _V3_INDEX + _PAYMENTS
    elif version == 1:
        script = _from_v1(db, default_kiosk_id) + _FROM_V2 + _PAYMENTS
    elif version == 2:
        script = _FROM_V2 + _PAYMENTS
    elif version == 3:
        script = _PAYMENTS
    else:
        raise sqlite3.DatabaseError(f"unknown schema version {version}")
    try:
        # One transaction: a crash mid-migration leaves the old schema, not half a new one.
        db.executescript("BEGIN IMMEDIATE;" + script + f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _from_v1(db: sqlite3.Connection, kiosk_id: str) -> str:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='submissions'").fetchone()
    last_seq = int(row[0]) if row else 0
    quoted = kiosk_id.replace("'", "''")
    return (_TABLE.format(name="submissions_v2", extra="") + ";"
            "INSERT INTO submissions_v2 (seq, receipt_no, kiosk_id, kind, item_code, subject, payload, state,"
            " attempts, due_at, accepted_at, sending_at, delivered_at, rejected_at, platform_ref, last_error)"
            f" SELECT seq, receipt_no, '{quoted}', kind, item_code, subject, payload, state, attempts, due_at,"
            " accepted_at, sending_at, delivered_at, rejected_at, platform_ref, last_error FROM submissions;"
            "DROP TABLE submissions;"
            "ALTER TABLE submissions_v2 RENAME TO submissions;"
            "DELETE FROM sqlite_sequence WHERE name IN ('submissions', 'submissions_v2');"
            f"INSERT INTO sqlite_sequence (name, seq) VALUES ('submissions', {last_seq});"
            + _INDEXES)


_FROM_V2 = "ALTER TABLE submissions ADD COLUMN delivery_key TEXT;" + _V3_INDEX
