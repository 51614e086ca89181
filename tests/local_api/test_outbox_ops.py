"""The outbox's newer duties on real SQLite: resends stored once, FIFO per kiosk, schema v1 → v2,
and `kiosk outbox list|show|retry|purge` run as operators would, in a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from gateway_rig import identities

from local_api.outbox.crypto import KEY_FILE_NAME, Sealer
from local_api.outbox.schema import SCHEMA_VERSION
from local_api.outbox.store import Material, Outbox

ROOT = Path(__file__).resolve().parents[2]
PERSON = identities(1)[0]
V1_SCHEMA = """
CREATE TABLE submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, receipt_no TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    item_code TEXT NOT NULL, subject TEXT, payload BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'delivered', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0, due_at REAL NOT NULL, accepted_at REAL NOT NULL, sending_at REAL,
    delivered_at REAL, rejected_at REAL, platform_ref TEXT, last_error TEXT);
PRAGMA user_version=1;
"""


def open_outbox(folder: Path) -> Outbox:
    return Outbox(folder / "outbox.db", Sealer.from_key_file(folder / KEY_FILE_NAME), kiosk_id="HC-TEST-001")


def test_a_resend_with_the_same_request_id_is_stored_once(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    try:
        first, created = box.accept_once("application", "rs-sydj", {"applicant": PERSON}, request_id="req-0001")
        again, created_again = box.accept_once("application", "rs-sydj", {"applicant": PERSON}, request_id="req-0001")
        other = box.accept("application", "rs-sydj", {"applicant": PERSON},
                           materials=[Material("户口本首页", "image/jpeg", b"\xff\xd8scan\xff\xd9")])
        assert (created, created_again) == (True, False) and again.receipt_no == first.receipt_no
        assert box.counts()["queued"] == 2
        assert box.open_materials(other)[0].data == b"\xff\xd8scan\xff\xd9" and box.open_materials(first) == []
    finally:
        box.close()


def test_fifo_per_kiosk_a_backing_off_head_does_not_block_another_kiosk(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    try:
        a1 = box.accept("application", "x", {"applicant": PERSON}, kiosk_id="HC-A")
        box.accept("application", "x", {"applicant": PERSON}, kiosk_id="HC-A")
        b1 = box.accept("application", "x", {"applicant": PERSON}, kiosk_id="HC-B")
        box.mark_sending(a1.receipt_no)
        box.mark_retry(a1.receipt_no, due_at=a1.accepted_at + 3600, error="HTTP 503")
        due = box.next_due(now=a1.accepted_at + 1)
        assert due is not None and due.receipt_no == b1.receipt_no  # A's second waits behind A's head
    finally:
        box.close()


def test_a_version_1_database_is_migrated_keeping_rows_and_numbering(tmp_path: Path) -> None:
    sealer = Sealer.from_key_file(tmp_path / KEY_FILE_NAME)
    blob = sealer.seal({"applicant": PERSON}, "HC-TEST-001-20260101-000007\x1fapplication\x1frs-sydj")
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        db.executescript(V1_SCHEMA)
        db.execute("INSERT INTO submissions (seq, receipt_no, kind, item_code, payload, state, due_at, accepted_at)"
                   " VALUES (7, 'HC-TEST-001-20260101-000007', 'application', 'rs-sydj', ?, 'queued', 1, 1)", (blob,))
    db.close()
    box = open_outbox(tmp_path)
    try:
        old = box.get("HC-TEST-001-20260101-000007")
        assert old.kiosk_id == "HC-TEST-001" and box.open_payload(old)["applicant"] == PERSON
        new = box.accept("application", "rs-sydj", {"applicant": PERSON})
        assert new.receipt_no != old.receipt_no and new.receipt_no.endswith("-0001")
        assert old.idempotency_key == old.receipt_no  # it may already be at the platform under that key
        assert new.idempotency_key != new.receipt_no
        assert box._read("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        box.integrity_check()
    finally:
        box.close()


def kiosk(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KIOSK_GATEWAY__DATA_DIR=str(data), KIOSK_KIOSK__ID="HC-TEST-001")
    return subprocess.run([sys.executable, "-m", "kiosk", "outbox", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_outbox_commands_list_show_retry_and_purge(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    delivered = box.accept("application", "rs-sydj", {"applicant": PERSON})
    rejected = box.accept("application", "rs-sydj", {"applicant": PERSON})
    for record in (delivered, rejected):
        box.mark_sending(record.receipt_no)
    box.mark_delivered(delivered.receipt_no, "HCZW1")
    box.mark_rejected(rejected.receipt_no, "HTTP 422: applicant.id_number: required field is missing")
    box.close()

    listing = kiosk(tmp_path, "list", "--state", "rejected")
    assert listing.returncode == 0, listing.stderr
    assert rejected.receipt_no in listing.stdout and delivered.receipt_no not in listing.stdout
    assert "HTTP 422" in listing.stdout and PERSON["name"] not in listing.stdout
    shown = kiosk(tmp_path, "show", rejected.receipt_no)
    assert shown.returncode == 0 and "rejected" in shown.stdout and PERSON["id_number"] not in shown.stdout
    assert kiosk(tmp_path, "retry", delivered.receipt_no).returncode == 1  # delivered: nothing to retry
    assert kiosk(tmp_path, "retry", rejected.receipt_no).returncode == 0
    assert kiosk(tmp_path, "purge", rejected.receipt_no).returncode == 1  # queued again: not finished
    purged = kiosk(tmp_path, "purge", delivered.receipt_no)
    assert purged.returncode == 0, purged.stderr
    missing = kiosk(tmp_path, "show", delivered.receipt_no)
    assert missing.returncode == 1 and "no submission" in missing.stderr
    box = open_outbox(tmp_path)
    try:
        assert box.counts() == {"queued": 1, "sending": 0, "delivered": 0, "rejected": 0, "expired": 0}
    finally:
        box.close()
    nowhere = kiosk(tmp_path / "empty", "list")
    assert nowhere.returncode == 1 and "no outbox" in nowhere.stderr
