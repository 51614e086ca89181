"""The outbox's keys carry their algorithm (issue 27): a terminal switched from ``intl`` to ``sm`` keeps
opening what it queued before, seals what comes after with SM4-GCM, and blobs made before suites existed
still open byte for byte."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from local_api.outbox.crypto import KEYS, KeyFileError, Sealer, SealError
from local_api.outbox.store import Outbox

APPLICANT = {"name": "张三", "id_number": "11010519491231002X"}

# Sealed by the outbox before suites existed (AES-256-GCM, key b"k" * 32): the format of every terminal's
# queue today, which an upgraded gateway must still open.
LEGACY_AAD = "HC-TEST-001-20261204-000001-0001"
LEGACY_BLOB = bytes.fromhex("01f28f811c2dcd265a6f64b3602e9f03d91f8439fb269b353961bd3a4f3a5761fb801afe13928d"
                            "005252fac7d3c7")


def test_a_blob_sealed_before_suites_opens_unchanged() -> None:
    assert Sealer(b"k" * 32).open(LEGACY_BLOB, LEGACY_AAD) == {"name": "张三"}
    ring = Sealer(b"s" * 16, "sm", readable={"intl": b"k" * 32})  # after the switch to sm, too
    assert ring.open(LEGACY_BLOB, LEGACY_AAD) == {"name": "张三"}
    assert ring.seal({"x": 1}, "a")[:1] == KEYS["sm"].key_id


def blob_suites(folder: Path) -> list[str | None]:
    with sqlite3.connect(folder / "outbox.db") as db:
        return [Sealer.suite_of(bytes(row[0])) for row in db.execute("SELECT payload FROM submissions ORDER BY seq")]


def test_switching_to_sm_rekeys_the_queue_without_losing_a_row(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db", Sealer.from_data_folder(tmp_path, "intl"), kiosk_id="HC-TEST-001")
    old = [box.accept("application", "rs-sydj", {"applicant": APPLICANT, "n": n}) for n in range(3)]
    box.close()
    assert not (tmp_path / KEYS["sm"].file_name).exists()

    sealer = Sealer.from_data_folder(tmp_path, "sm")
    assert sealer.algorithm == "SM4-GCM"
    assert stat.S_IMODE((tmp_path / KEYS["sm"].file_name).stat().st_mode) == 0o600
    assert len((tmp_path / KEYS["sm"].file_name).read_bytes()) == 16
    box = Outbox(tmp_path / "outbox.db", sealer, kiosk_id="HC-TEST-001")
    try:
        new = [box.accept("application", "rs-sydj", {"applicant": APPLICANT, "n": n}, materials=None)
               for n in range(3, 5)]
        assert blob_suites(tmp_path) == ["intl"] * 3 + ["sm"] * 2
        for n, record in enumerate(old + new):  # every row opens, whichever key sealed it
            assert box.open_payload(record) == {"applicant": APPLICANT, "n": n}
    finally:
        box.close()


def test_a_row_whose_key_file_is_gone_says_which_key_it_needs(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db", Sealer.from_data_folder(tmp_path, "intl"), kiosk_id="HC-TEST-001")
    record = box.accept("application", "rs-sydj", {"applicant": APPLICANT})
    box.close()
    (tmp_path / KEYS["intl"].file_name).unlink()  # what must never happen while rows wait
    box = Outbox(tmp_path / "outbox.db", Sealer.from_data_folder(tmp_path, "sm"), kiosk_id="HC-TEST-001")
    try:
        with pytest.raises(SealError, match="outbox.key"):
            box.open_payload(record)
    finally:
        box.close()


def test_a_key_of_the_wrong_size_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / KEYS["sm"].file_name).write_bytes(b"x" * 32)
    with pytest.raises(KeyFileError, match="outbox-sm4.key.*not a 16-byte key"):
        Sealer.from_data_folder(tmp_path, "sm")
