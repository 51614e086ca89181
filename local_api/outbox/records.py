"""What the outbox hands out: its records, materials and errors (no SQLite, no crypto here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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


class RequestConflict(OutboxError):
    """A request id already stored with a different body: a bug in the caller, never a resend.
    The stored submission stands; the new body is not stored (and no resident may be told "done")."""


@dataclass(frozen=True)
class Material:
    """One attached material (e.g. a document-camera image of 户口本首页)."""

    name: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Record:
    """A submission's bookkeeping: everything but its personal data and materials."""

    receipt_no: str
    kiosk_id: str
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
    expired_at: float | None
    platform_ref: str | None
    last_error: str | None
    materials_count: int = 0
    materials_bytes: int = 0
    delivery_key: str | None = None

    @property
    def idempotency_key(self) -> str:
        """The key the platform knows this submission by: a UUID (rows from before schema 3: the
        receipt number they may already have been sent under)."""
        return self.delivery_key or self.receipt_no
