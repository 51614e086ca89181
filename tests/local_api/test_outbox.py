"""The outbox on real SQLite files: durability, order, states, encryption at rest, corruption."""

from __future__ import annotations

import re
import sqlite3
import stat
import threading
import uuid
from pathlib import Path

import pytest

from kiosk.crypto import AEAD_KEY_BYTES
from local_api.outbox.crypto import KEY_FILE_NAME, Sealer, SealError, load_or_create_key
from local_api.outbox.store import (
    DuplicateSubmission,
    Material,
    Outbox,
    OutboxCorrupt,
    OutboxUnavailable,
    RequestConflict,
    UnknownReceipt,
)

NAME = "张三"
ID_NUMBER = "11010519491231002X"
APPLICANT = {"name": NAME, "id_number": ID_NUMBER, "address": "北京市朝阳区某某路1号"}
RECEIPT = re.compile(r"^HC-TEST-001-\d{8}-(\d{6})-(\d{4})$")  # <kiosk>-<date>-<run>-<serial>


def open_outbox(folder: Path, suite: str = "intl", **kw: object) -> Outbox:
    sealer = Sealer.from_data_folder(folder, suite)
    return Outbox(folder / "outbox.db", sealer, kiosk_id="HC-TEST-001", **kw)  # type: ignore[arg-type]


@pytest.fixture
def outbox(tmp_path: Path, crypto_suite: str):
    box = open_outbox(tmp_path, crypto_suite)
    yield box
    box.close()


def test_accept_gives_unique_receipts_that_survive_reopen_and_purge(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    first = [box.accept("application", "rs-sydj", {"applicant": APPLICANT}) for _ in range(3)]
    for rec in first:
        box.mark_sending(rec.receipt_no)
        box.mark_delivered(rec.receipt_no, "REF")
    assert box.purge(older_than=float("inf")) == 3  # every row gone...
    box.close()

    box = open_outbox(tmp_path)
    later = box.accept("application", "rs-sydj", {"applicant": APPLICANT})
    box.close()
    numbers = [RECEIPT.match(r.receipt_no) for r in [*first, later]]
    assert all(numbers) and len({r.receipt_no for r in [*first, later]}) == 4  # ...and numbers never repeat
    assert [int(m.group(2)) for m in numbers[:3]] == [1, 2, 3]  # type: ignore[union-attr]  # counted per run
    assert numbers[3].group(1) != numbers[0].group(1)  # type: ignore[union-attr]  # a new run number
    assert all(r.state == "queued" for r in first) and later.state == "queued"


def test_receipts_never_repeat_after_the_outbox_is_moved_aside_or_restored(tmp_path: Path) -> None:
    """The documented recovery for a corrupt outbox (move it aside, restart) and a restored backup both
    used to restart the numbers at …-000001: another resident's case under the same number."""
    import shutil

    box = open_outbox(tmp_path)
    seen = {box.accept("application", "rs-sydj", {"applicant": APPLICANT}).receipt_no for _ in range(5)}
    box.close()
    shutil.copy(tmp_path / "outbox.db", tmp_path / "backup.db")
    box = open_outbox(tmp_path)
    seen |= {box.accept("application", "rs-sydj", {"applicant": APPLICANT}).receipt_no for _ in range(5)}
    box.close()
    for name in ("outbox.db", "outbox.db-wal", "outbox.db-shm"):  # restore the backup
        (tmp_path / name).unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.db", tmp_path / "outbox.db")
    box = open_outbox(tmp_path)
    again = [box.accept("application", "rs-sydj", {"applicant": APPLICANT}) for _ in range(5)]
    box.close()
    (tmp_path / "outbox.db").rename(tmp_path / "outbox.db.corrupt")  # moved aside: a new empty outbox
    box = open_outbox(tmp_path)
    fresh = [box.accept("application", "rs-sydj", {"applicant": APPLICANT}) for _ in range(5)]
    box.close()
    numbers = [r.receipt_no for r in [*again, *fresh]]
    assert not seen & set(numbers) and len(set(numbers)) == 10
    # The platform's idempotency key is a UUID per submission, never the receipt number.
    keys = [r.idempotency_key for r in [*again, *fresh]]
    assert all(uuid.UUID(k) for k in keys) and len(set(keys)) == 10


def test_two_terminals_on_one_kiosk_id_do_not_share_receipt_numbers(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    boxes = [open_outbox(tmp_path / name) for name in ("a", "b")]
    numbers = [box.accept("application", "rs-sydj", {"applicant": APPLICANT}).receipt_no
               for _ in range(20) for box in boxes]
    for box in boxes:
        box.close()
    assert len(set(numbers)) == 40


def test_states_timestamps_and_attempts(outbox: Outbox) -> None:
    rec = outbox.accept("application", "rs-sydj", {"applicant": APPLICANT, "form": {"reason": "离职"}})
    assert rec.accepted_at > 0 and rec.attempts == 0 and rec.platform_ref is None

    outbox.mark_sending(rec.receipt_no)
    assert outbox.get(rec.receipt_no).state == "sending"
    outbox.mark_retry(rec.receipt_no, due_at=rec.accepted_at + 60, error="HTTP 503: down")
    got = outbox.get(rec.receipt_no)
    assert (got.state, got.attempts, got.last_error) == ("queued", 1, "HTTP 503: down")
    assert outbox.next_due(now=rec.accepted_at + 1) is None  # not due yet
    assert outbox.next_due(now=rec.accepted_at + 61) == got

    outbox.mark_sending(rec.receipt_no)
    outbox.mark_delivered(rec.receipt_no, "HCZW20261121000001")
    got = outbox.get(rec.receipt_no)
    assert (got.state, got.attempts, got.platform_ref, got.last_error) == \
        ("delivered", 2, "HCZW20261121000001", None)
    assert got.delivered_at is not None and got.sending_at is not None
    assert outbox.next_due() is None

    bad = outbox.accept("application", "rs-sydj", {"applicant": APPLICANT})
    outbox.mark_sending(bad.receipt_no)
    outbox.mark_rejected(bad.receipt_no, "HTTP 422: applicant.id_number: required field is missing")
    got = outbox.get(bad.receipt_no)
    assert got.state == "rejected" and got.rejected_at is not None and "id_number" in (got.last_error or "")
    assert outbox.counts() == {"queued": 0, "sending": 0, "delivered": 1, "rejected": 1, "expired": 0}

    with pytest.raises(UnknownReceipt):
        outbox.get("HC-TEST-001-20260101-999999")
    with pytest.raises(UnknownReceipt):
        outbox.mark_delivered("HC-TEST-001-20260101-999999", "X")


def test_next_due_is_acceptance_order(outbox: Outbox) -> None:
    recs = [outbox.accept("application", f"item-{i}", {"applicant": APPLICANT}) for i in range(4)]
    seen = []
    while (rec := outbox.next_due()) is not None:
        seen.append(rec.receipt_no)
        outbox.mark_sending(rec.receipt_no)
        outbox.mark_delivered(rec.receipt_no, "R")
    assert seen == [r.receipt_no for r in recs]


def test_interrupted_send_is_queued_again_on_reopen(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    rec = box.accept("application", "rs-sydj", {"applicant": APPLICANT})
    box.mark_sending(rec.receipt_no)
    box.close()  # as if the process died mid-send

    box = open_outbox(tmp_path)
    try:
        got = box.get(rec.receipt_no)
        assert (got.state, got.attempts) == ("queued", 1)
        assert box.next_due() == got
        assert box.open_payload(got)["applicant"]["name"] == NAME  # same key file, opens again
    finally:
        box.close()


def test_personal_data_is_not_in_the_database_files_in_clear(tmp_path: Path, crypto_suite: str) -> None:
    box = open_outbox(tmp_path, crypto_suite)
    try:
        for _ in range(5):
            rec = box.accept("application", "rs-sydj", {"applicant": APPLICANT, "form": {"备注": NAME}})
        files = [p for p in tmp_path.iterdir() if p.name.startswith("outbox.db")]
        assert any(p.name.endswith("-wal") for p in files)  # the WAL holds the fresh rows: check it too
        raw = b"".join(p.read_bytes() for p in files)
        for secret in (NAME, ID_NUMBER, ID_NUMBER[:14], "朝阳区"):
            assert secret.encode("utf-8") not in raw
            assert secret.encode("utf-16-le") not in raw
        assert rec.receipt_no.encode() in raw  # the scan does see row contents
        assert box.open_payload(rec)["applicant"] == APPLICANT
    finally:
        box.close()


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    key_path = tmp_path / "data" / KEY_FILE_NAME
    key = load_or_create_key(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert load_or_create_key(key_path) == key and len(key) == 32

    key_path.chmod(0o644)  # a careless copy
    load_or_create_key(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_blob_is_bound_to_its_row_and_key(tmp_path: Path, crypto_suite: str) -> None:
    size = AEAD_KEY_BYTES[crypto_suite]  # type: ignore[index]
    sealer = Sealer(b"k" * size, crypto_suite)
    blob = sealer.seal({"name": NAME}, "HC-1")
    assert sealer.open(blob, "HC-1") == {"name": NAME}
    with pytest.raises(SealError):
        sealer.open(blob, "HC-2")
    with pytest.raises(SealError):
        Sealer(b"j" * size, crypto_suite).open(blob, "HC-1")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        sealer.open(bytes(tampered), "HC-1")


def test_one_rating_per_transaction(outbox: Outbox) -> None:
    app = outbox.accept("application", "rs-sydj", {"applicant": APPLICANT})
    outbox.accept("rating", "rs-sydj", {"level": 1}, subject=app.receipt_no)
    with pytest.raises(DuplicateSubmission):
        outbox.accept("rating", "rs-sydj", {"level": 5}, subject=app.receipt_no)
    assert outbox.counts()["queued"] == 2


def test_accepts_committed_together_answer_each_on_its_own(outbox: Outbox) -> None:
    """accept_many (one loop tick of the event-loop door): a refused one leaves the others stored."""
    app = outbox.accept("application", "rs-sydj", {"applicant": APPLICANT})
    outbox.accept("rating", "rs-sydj", {"level": 1}, subject=app.receipt_no)
    stored = outbox.accept_once("application", "rs-sydj", {"applicant": APPLICANT}, request_id="req-00000001")[0]
    results = outbox.accept_many([
        {"kind": "application", "item_code": "a", "payload": {"applicant": APPLICANT}},
        {"kind": "rating", "item_code": "rs-sydj", "payload": {"level": 5}, "subject": app.receipt_no},
        {"kind": "application", "item_code": "rs-sydj", "payload": {"applicant": APPLICANT}, "request_id": "req-00000001"},
        {"kind": "application", "item_code": "rs-sydj", "payload": {"form": 1}, "request_id": "req-00000001"},
        {"kind": "application", "item_code": "b", "payload": {"applicant": APPLICANT}, "request_id": "req-00000002"},
        {"kind": "application", "item_code": "b", "payload": {"applicant": APPLICANT}, "request_id": "req-00000002"},
    ])
    first, rating, resent, conflict, new, again = results
    assert isinstance(rating, DuplicateSubmission) and isinstance(conflict, RequestConflict)
    assert not isinstance(first, BaseException) and first[1] and outbox.get(first[0].receipt_no).item_code == "a"
    assert not isinstance(resent, BaseException) and resent == (resent[0], False)
    assert resent[0].receipt_no == stored.receipt_no
    assert not isinstance(new, BaseException) and not isinstance(again, BaseException)
    assert new[1] and not again[1] and again[0].receipt_no == new[0].receipt_no  # the same request, in one tick
    assert outbox.counts()["queued"] == 5


def test_purge_keeps_pending_and_recent(outbox: Outbox) -> None:
    old = outbox.accept("application", "a", {"applicant": APPLICANT})
    outbox.mark_sending(old.receipt_no)
    outbox.mark_delivered(old.receipt_no, "R1")
    pending = outbox.accept("application", "b", {"applicant": APPLICANT})
    cutoff = outbox.get(old.receipt_no).delivered_at + 0.001  # type: ignore[operator]
    assert outbox.purge(older_than=cutoff) == 1
    assert outbox.purge(older_than=cutoff) == 0
    assert outbox.get(pending.receipt_no).state == "queued"
    with pytest.raises(UnknownReceipt):
        outbox.get(old.receipt_no)


def test_full_disk_refuses_cleanly_and_writes_nothing(outbox: Outbox) -> None:
    outbox.accept("application", "a", {"applicant": APPLICANT})
    pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
    outbox._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(OutboxUnavailable, match="full"):
        outbox.accept("application", "a", {"applicant": APPLICANT, "form": {"photo": "x" * 200_000}})
    assert outbox.counts()["queued"] == 1
    outbox._db.execute("PRAGMA max_page_count=1073741823")
    assert outbox.accept("application", "a", {"applicant": APPLICANT}).state == "queued"


def test_concurrent_accepts_are_all_stored_with_distinct_receipts(outbox: Outbox) -> None:
    receipts: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(15):
            rec = outbox.accept("application", "a", {"applicant": APPLICANT})
            with lock:
                receipts.append(rec.receipt_no)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(receipts)) == 60 and outbox.counts()["queued"] == 60


def test_garbage_file_is_reported_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not an sqlite database at all" * 200)
    with pytest.raises(OutboxCorrupt) as info:
        open_outbox(tmp_path)
    assert str(path) in str(info.value)


def test_damaged_pages_fail_the_integrity_check_naming_the_file(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    for i in range(200):
        box.accept("application", f"item-{i}", {"applicant": APPLICANT, "form": {"n": i}})
    box.close()  # checkpoints the WAL into the main file
    path = tmp_path / "outbox.db"
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    for offset in range(2 * 4096, len(data) - 4096, 4096):  # every page but the header page and the last
        data[offset:offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))

    with pytest.raises(OutboxCorrupt) as info:
        box = open_outbox(tmp_path)
        try:
            box.integrity_check()
        finally:
            box.close()
    assert str(path) in str(info.value)


def test_schema_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE other (x)")
    db.close()
    with pytest.raises(OutboxCorrupt, match="outbox.db"):
        open_outbox(tmp_path)


def test_a_request_id_resent_with_the_same_body_is_one_submission_but_a_different_body_is_refused(
        outbox: Outbox) -> None:
    page = [Material("户口本首页", "image/jpeg", b"\xff\xd8page-one")]
    first, created = outbox.accept_once("application", "rs-sydj", {"applicant": APPLICANT, "form": {"a": "1"}},
                                        request_id="req-0001", materials=page)
    again, created_again = outbox.accept_once("application", "rs-sydj",
                                              {"form": {"a": "1"}, "applicant": APPLICANT},
                                              request_id="req-0001", materials=list(page))
    assert created and not created_again and again.receipt_no == first.receipt_no
    other = {"applicant": {**APPLICANT, "name": "李四"}, "form": {"a": "1"}}
    with pytest.raises(RequestConflict, match=first.receipt_no):
        outbox.accept_once("application", "rs-sydj", other, request_id="req-0001", materials=page)
    with pytest.raises(RequestConflict):  # the same person and form, but another page
        outbox.accept_once("application", "rs-sydj", {"applicant": APPLICANT, "form": {"a": "1"}},
                           request_id="req-0001", materials=[Material("户口本首页", "image/jpeg", b"other")])
    assert outbox.counts()["queued"] == 1  # nothing of the second resident's was stored under the first's
    assert outbox.open_payload(outbox.get(first.receipt_no))["applicant"]["name"] == NAME


def test_the_forwarders_step_marks_deliveries_and_claims_the_next_in_one_write(tmp_path: Path) -> None:
    box = open_outbox(tmp_path)
    first, second = (box.accept("application", "rs-sydj", {"applicant": APPLICANT}) for _ in range(2))
    claimed = box.claim_next()
    assert claimed is not None and claimed.receipt_no == first.receipt_no
    assert (box.get(first.receipt_no).state, box.get(first.receipt_no).attempts) == ("sending", 1)
    # The platform acknowledged the first: written together with the claim of the second.
    claimed = box.claim_next([(first.receipt_no, "REF-1")])
    assert claimed is not None and claimed.receipt_no == second.receipt_no
    got = box.get(first.receipt_no)
    assert (got.state, got.platform_ref, got.delivered_at is not None) == ("delivered", "REF-1", True)
    assert box.get(second.receipt_no).state == "sending"
    # A crash before the second's acknowledgement was written: queued again at the next open, to be
    # resent under the same idempotency key (the platform keeps one).
    box.close()
    box = open_outbox(tmp_path)
    again = box.claim_next()
    assert again is not None and again.receipt_no == second.receipt_no
    assert again.idempotency_key == claimed.idempotency_key
    assert box.claim_next([(second.receipt_no, "REF-2")]) is None  # nothing left: the mark alone is written
    assert box.counts()["delivered"] == 2
    box.close()


def test_a_batch_with_one_refused_row_still_stores_the_rest_once(outbox: Outbox) -> None:
    """accept_many writes a batch in one INSERT when it can; a row the database refuses (a second rating)
    sends it one by one instead: the rating is refused, the rest stored once, a resend found."""
    app = outbox.accept("application", "rs-sydj", {"applicant": APPLICANT})
    outbox.accept("rating", "rs-sydj", {"level": 1}, subject=app.receipt_no)
    stored = outbox.accept_once("application", "rs-sydj", {"applicant": APPLICANT}, request_id="req-00000009")[0]
    results = outbox.accept_many([
        {"kind": "application", "item_code": "a", "payload": {"applicant": APPLICANT}, "request_id": "req-00000010"},
        {"kind": "rating", "item_code": "rs-sydj", "payload": {"level": 5}, "subject": app.receipt_no},
        {"kind": "application", "item_code": "rs-sydj", "payload": {"applicant": APPLICANT}, "request_id": "req-00000009"},
        {"kind": "application", "item_code": "b", "payload": {"applicant": APPLICANT}},
    ])
    first, rating, resent, last = results
    assert isinstance(rating, DuplicateSubmission)
    assert not isinstance(first, BaseException) and first[1] and outbox.get(first[0].receipt_no).item_code == "a"
    assert not isinstance(resent, BaseException) and resent == (outbox.get(stored.receipt_no), False)
    assert not isinstance(last, BaseException) and last[1] and outbox.get(last[0].receipt_no).item_code == "b"
    assert outbox.counts()["queued"] == 5
    again = outbox.accept_many([{"kind": "application", "item_code": "a", "payload": {"applicant": APPLICANT},
                                 "request_id": "req-00000010"},
                                {"kind": "application", "item_code": "c", "payload": {"applicant": APPLICANT}}])
    assert not isinstance(again[0], BaseException) and again[0] == (outbox.get(first[0].receipt_no), False)
    assert not isinstance(again[1], BaseException) and again[1][1]
    assert outbox.open_payload(again[1][0]) == {"applicant": APPLICANT}  # sealed and bound to its row
    assert outbox.counts()["queued"] == 6
