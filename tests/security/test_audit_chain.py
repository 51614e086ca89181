"""The audit is protected against change (issue 27, GB/T 22239-2019 8.1.4.3 c): each line carries the
hash of the one before and ``audit.head`` the last; ``kiosk audit verify`` exits 1 naming the first
edited, deleted, moved or inserted line, and 0 on an audit a gateway wrote (with its rotations, a
power cut's torn line, and lines from before the chain). Records say who, what, when, where and the
outcome; the platform's clock offset is one of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from security_rig import Rig, read_first_token, token_id, wait_for

from kiosk.cli import main
from local_api.ops.audit import AUDIT_FILE_NAME, HEAD_FILE_NAME, AuditLog

ROOT = Path(__file__).resolve().parents[2]
ACTOR = {"token_id": "ab12cd34", "role": "technician", "via": "cookie"}


def verify(data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setenv("KIOSK_GATEWAY__DATA_DIR", str(data_dir))
    code = main(["audit", "verify"])
    out = capsys.readouterr()
    return code, out.out + out.err


def written(folder: Path, n: int = 8, **kw: float) -> AuditLog:
    audit = AuditLog(folder / AUDIT_FILE_NAME, kiosk_id="HC-TEST-001", **kw)  # type: ignore[arg-type]
    for i in range(n):
        audit.record("settings_changed", actor=ACTOR, target=f"devices.printer{i}", detail=f"change {i}",
                     where="10.0.0.7")
    return audit


def lines(folder: Path, name: str = AUDIT_FILE_NAME) -> list[str]:
    return (folder / name).read_text(encoding="utf-8").splitlines(keepends=True)


def rewrite(folder: Path, new: list[str], name: str = AUDIT_FILE_NAME) -> None:
    (folder / name).write_text("".join(new), encoding="utf-8")


def test_a_gateway_written_audit_verifies_and_says_who_what_when_where_outcome(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rig = Rig(tmp_path / "data")
    try:
        tech = read_first_token(rig)
        assert requests.post(rig.url + "/console/session", json={"token": tech[:-2] + "xx"}, timeout=5).status_code == 401
        assert requests.post(rig.url + "/console/session", json={"token": tech}, timeout=5).status_code == 200
        # the platform's clock offset, as its Date header says, is recorded once the platform answered
        clock = wait_for(lambda: [e for e in rig.services.audit.recent() if e["action"] == "clock_offset"],
                         what="a clock-offset record")
    finally:
        rig.close()
    assert clock[0]["actor"] == {"kind": "gateway"} and clock[0]["target"] == "platform"
    assert clock[0]["detail"].startswith("offset_s=") and clock[0]["outcome"] == "ok"
    records = [json.loads(line) for line in lines(tmp_path / "data")]
    login = next(e for e in records if e["action"] == "login")
    failed = next(e for e in records if e["action"] == "login_failed")
    assert login["actor"]["token_id"] == token_id(tech) and login["actor"]["role"] == "technician"  # who
    assert login["time"].endswith("Z") and abs(login["at"] - failed["at"]) < 60                       # when
    assert login["where"] == {"kiosk": "HC-TEST-001", "from": "127.0.0.1"}                           # where
    assert (login["outcome"], failed["outcome"]) == ("ok", "unauthorized")                          # outcome
    code, said = verify(tmp_path / "data", monkeypatch, capsys)
    assert code == 0, said
    assert f"audit OK: {len(records)} records" in said


def test_the_command_runs_as_a_program_and_exits_1_on_an_edit(tmp_path: Path) -> None:
    written(tmp_path)
    env = {**os.environ, "KIOSK_GATEWAY__DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "kiosk", "audit", "verify"], capture_output=True, text=True,
                        env=env, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    edited = lines(tmp_path)
    edited[2] = edited[2].replace('"outcome": "ok"', '"outcome": "denied"')
    rewrite(tmp_path, edited)
    bad = subprocess.run([sys.executable, "-m", "kiosk", "audit", "verify"], capture_output=True, text=True,
                         env=env, timeout=60, check=False)
    assert bad.returncode == 1
    assert "audit.jsonl:3: record 3 was changed after it was written" in bad.stderr


@pytest.mark.parametrize(("tamper", "expected"), [
    (lambda ls: ls[:3] + [ls[3].replace("change 3", "change 9")] + ls[4:],
     "audit.jsonl:4: record 4 was changed"),
    (lambda ls: ls[:4] + ls[5:], "audit.jsonl:5: record 6 follows record 4: record(s) 5 were deleted"),
    (lambda ls: ls[:2] + ls[4:], "audit.jsonl:3: record 5 follows record 2: record(s) 3–4 were deleted"),
    (lambda ls: ls[:3] + [ls[4], ls[3]] + ls[5:], "audit.jsonl:4: record 5 follows record 3"),
    (lambda ls: ls[:3] + ['{"seq": 4, "action": "login", "outcome": "ok"}\n'] + ls[3:],
     "audit.jsonl:4: record 4 has no hash chain"),
    (lambda ls: ls[:3] + ["rm -rf was here\n"] + ls[3:], "audit.jsonl:4: not an audit record"),
    (lambda ls: ls[:-1] + [ls[-1].replace("change 7", "change 0")], "audit.jsonl:8: record 8, the last, was changed"),
    (lambda ls: ls[:-1], "audit.jsonl:7: audit.head says the last record is 8, the file ends at 7"),
], ids=["edited", "deleted", "two-deleted", "moved", "inserted", "garbage", "last-edited", "last-deleted"])
def test_verify_names_the_first_bad_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], tamper, expected: str) -> None:
    written(tmp_path)
    assert verify(tmp_path, monkeypatch, capsys)[0] == 0
    rewrite(tmp_path, tamper(lines(tmp_path)))
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert expected in said, said


def test_rotated_files_chain_on_and_a_deletion_in_one_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    written(tmp_path, 40, max_bytes=2000, keep=3)
    names = sorted(p.name for p in tmp_path.glob("audit.jsonl*"))
    assert names == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "audit.jsonl.3"]
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 0, said
    assert "older files were removed after retention" in said  # the chain's start went with audit.jsonl.4
    middle = lines(tmp_path, "audit.jsonl.2")
    rewrite(tmp_path, middle[:1] + middle[2:], "audit.jsonl.2")
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 1 and "audit.jsonl.2:2: " in said and "were deleted" in said


def test_a_torn_line_from_a_power_cut_and_records_from_before_the_chain_still_verify(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    old = [{"seq": 1, "at": 1000.0, "action": "login", "outcome": "ok", "actor": ACTOR, "target": None, "detail": ""},
           {"seq": 2, "at": 1001.0, "action": "logout", "outcome": "ok", "actor": ACTOR, "target": None, "detail": ""}]
    (tmp_path / AUDIT_FILE_NAME).write_text("".join(json.dumps(e) + "\n" for e in old) + '{"seq": 3, "act',
                                            encoding="utf-8")
    audit = AuditLog(tmp_path / AUDIT_FILE_NAME)
    entry = audit.record("login", actor=ACTOR, where="127.0.0.1")
    assert entry["seq"] == 3 and entry["after_torn"] is True
    audit.record("logout", actor=ACTOR, where="127.0.0.1")
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 0, said
    assert "audit.jsonl:3: a torn write (power cut)" in said and "2 record(s) from before the hash chain" in said
    # the torn line cannot be used to smuggle in text: garbage without the next record's declaration fails
    edited = lines(tmp_path)
    edited[4] = edited[4].replace('"logout"', '"logoff"')
    rewrite(tmp_path, edited)
    assert verify(tmp_path, monkeypatch, capsys)[0] == 1


def test_a_lost_head_is_refused_and_a_head_one_behind_is_a_power_cut(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    written(tmp_path, 3)
    head = (tmp_path / HEAD_FILE_NAME).read_text()
    written(tmp_path, 1)  # seq 4, then put the head back one record: the write after the append was lost
    (tmp_path / HEAD_FILE_NAME).write_text(head)
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 0 and "one record behind" in said
    (tmp_path / HEAD_FILE_NAME).unlink()
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 1 and "audit.head is missing" in said


def test_retention_is_checked_against_the_disk_budget(tmp_path: Path) -> None:
    now = [1_000_000_000.0]
    audit = AuditLog(tmp_path / AUDIT_FILE_NAME, max_bytes=1500, keep=2, retention_s=180 * 86400.0,
                     wall_clock=lambda: now[0])
    for _ in range(4):
        audit.record("login", actor=ACTOR, where="127.0.0.1")
    assert not audit.retention_short()  # the files are not at their budget yet
    for _ in range(30):  # a busy day: the budget fills with records all inside the retention
        audit.record("login", actor=ACTOR, where="127.0.0.1")
    assert audit.retention_short()
    assert sorted(p.name for p in tmp_path.glob("audit.jsonl*")) == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    size, oldest = audit.usage()
    assert size <= 1500 * 3 and oldest == now[0]
    now[0] += 200 * 86400.0  # quiet for half a year: the oldest record kept is now past the retention
    audit.record("login", actor=ACTOR, where="127.0.0.1")
    assert not audit.retention_short()


def test_the_platform_clock_offset_is_recorded_first_on_change_and_off_beyond_tolerance(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / AUDIT_FILE_NAME, kiosk_id="HC-TEST-001")
    audit.clock_heard(-0.4)
    audit.clock_heard(0.3)  # the Date header's whole seconds: no news
    audit.clock_heard(612.0)  # the terminal's clock is ten minutes behind the platform's
    audit.clock_heard(612.6)
    records = audit.recent()
    assert [(r["action"], r["outcome"], r["detail"].split(" ")[0]) for r in records] == [
        ("clock_offset", "ok", "offset_s=-0.400"), ("clock_offset", "clock_off", "offset_s=+612.000")]
    assert records[0]["where"] == {"kiosk": "HC-TEST-001", "from": "terminal"}


def test_under_the_sm_suite_the_chain_is_sm3_and_a_switch_from_intl_still_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """GB/T 39786: integrity with the national hash. Records written after ``security.suite`` became "sm"
    chain by SM3 (``sm3:`` prefix), the older ones stay SHA-256, and the whole file verifies; an edit
    of an SM3-chained record is still found."""
    written(tmp_path, 4)  # intl
    audit = AuditLog(tmp_path / AUDIT_FILE_NAME, kiosk_id="HC-TEST-001", suite="sm")
    for i in range(4):
        audit.record("settings_changed", actor=ACTOR, target=f"devices.camera{i}", detail="sm", where="10.0.0.7")
    prevs = [json.loads(line)["prev"] for line in lines(tmp_path)]
    assert not any(p.startswith("sm3:") for p in prevs[:4]) and all(p.startswith("sm3:") for p in prevs[4:])
    assert json.loads((tmp_path / HEAD_FILE_NAME).read_text())["hash"].startswith("sm3:")
    assert verify(tmp_path, monkeypatch, capsys)[0] == 0
    edited = lines(tmp_path)
    assert "devices.camera0" in edited[4]  # record 5, the first chained by SM3 onwards
    edited[4] = edited[4].replace("devices.camera0", "devices.camera9")
    rewrite(tmp_path, edited)
    code, said = verify(tmp_path, monkeypatch, capsys)
    assert code == 1 and "record 5 was changed" in said, said
