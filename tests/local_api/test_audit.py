"""The events audit (issue 10): append-only, who/when/what, no secrets and no personal data;
fed by the operators' door over real HTTP and by the kiosk app's maintenance mode."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests
from gateway_rig import Rig, door_headers, identities

from local_api.ops.audit import AUDIT_FILE_NAME, AuditError, AuditLog

PERSON = identities(1)[0]


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data", KIOSK_GATEWAY__AUTH_MAX_FAILURES="3", KIOSK_GATEWAY__AUTH_LOCKOUT_S="60")
    yield r
    r.close()


def tech_token(rig: Rig) -> str:
    return rig.first_token


def audit_lines(rig: Rig) -> list[dict]:
    """The records, without the gateway's own clock-offset notes (written when the platform first answers)."""
    return [e for line in (rig.data_dir / AUDIT_FILE_NAME).read_text().splitlines()
            if (e := json.loads(line))["action"] != "clock_offset"]


def test_records_append_with_growing_numbers_across_reopen_and_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / AUDIT_FILE_NAME
    first = AuditLog(path, wall_clock=lambda: 1000.0)
    first.record("login", actor={"token_id": "ab12cd34", "role": "operator"})
    first.record("service_switch", actor={"token_id": "ab12cd34", "role": "operator"}, detail="x" * 1000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with open(path, "ab") as f:
        f.write(b'{"seq": 3, "action": "lo')  # a power cut in the middle of a line
    again = AuditLog(path)
    entry = again.record("logout", actor={"token_id": "ab12cd34", "role": "operator"})
    assert entry["seq"] == 3  # numbering continues after the last whole record
    listing = again.recent()
    assert [e["action"] for e in listing] == ["login", "service_switch", "logout"]
    assert len(listing[1]["detail"]) == 300  # details are bounded
    assert [e["seq"] for e in again.recent(after_seq=1, limit=1)] == [2]
    assert [e["seq"] for e in again.recent(limit=2)] == [2, 3]  # the newest ones
    assert path.read_bytes().count(b"\n") == 4 and b'"lo' in path.read_bytes()  # nothing rewritten


def test_an_unwritable_audit_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(AuditError, match="cannot append"):
        AuditLog(blocker / AUDIT_FILE_NAME).record("login", actor={})


def test_logins_failures_and_throttling_are_audited_without_secrets(rig: Rig) -> None:
    tech = tech_token(rig)
    token_id = tech.removeprefix("kgw_").split(".")[0]
    wrong = f"kgw_{token_id}.{'A' * 43}"
    assert requests.post(rig.url + "/console/session", json={"token": wrong}, timeout=5).status_code == 401
    assert requests.post(rig.url + "/console/session", json={"token": tech}, timeout=5).status_code == 200
    for _ in range(3):  # gateway.auth_max_failures for one token id
        assert rig.get("/api/v1/status", "kgw_guess.nope").status_code == 401
    assert rig.get("/api/v1/status", "kgw_guess.nope").status_code == 429  # throttled (issue 17: no lock-out)
    assert rig.get("/api/v1/status", tech).status_code == 200  # a right token is never refused
    assert rig.get("/api/v1/status", "kgw_guess.nope").status_code == 429  # still throttled: not recorded again
    records = audit_lines(rig)
    assert [r["action"] for r in records] == ["login_failed", "login", "auth_failed", "auth_failed", "auth_failed",
                                              "throttled"]
    assert records[0]["actor"]["token_id"] == token_id and records[0]["outcome"] == "unauthorized"
    assert records[1]["actor"]["role"] == "technician" and records[1]["outcome"] == "ok"
    assert records[-1]["outcome"] == "too_many_failures"
    raw = (rig.data_dir / AUDIT_FILE_NAME).read_text()
    assert tech.split(".", 1)[1] not in raw and "A" * 43 not in raw
    shown = rig.get("/api/v1/events", tech, params={"source": "audit"}).json()
    assert shown["source"] == "audit" and [e["action"] for e in shown["events"]
                                                  if e["action"] != "clock_offset"][:2] == ["login_failed", "login"]
    assert shown["events"][0]["at"].startswith("20")  # ISO time for people
    assert rig.get("/api/v1/events", tech, params={"source": "nope"}).status_code == 400


def test_changes_switches_outbox_tests_and_refusals_say_who_did_what(rig: Rig) -> None:
    tech = tech_token(rig)
    operator = rig.post("/api/v1/tokens", tech, json={"role": "operator", "label": "值守"}).json()["token"]
    operator_id = operator.removeprefix("kgw_").split(".")[0]
    receipt = rig.client.submit("application", "rs-sydj", PERSON, {"reason": "测试"})["receipt_no"]
    rig.client.wait_delivered(receipt, 10)
    off = rig.post("/api/v1/service", operator, json={"in_service": False, "message": "设备维护中"})
    assert off.status_code == 200 and off.json()["in_service"] is False
    assert rig.post("/api/v1/devices/printer/tests", operator, json={"action": "test_print"}).status_code == 403
    rig.client.heartbeat("home", {"printer": {"name": "printer", "state": "online", "detail": {}}})
    assert rig.post("/api/v1/devices/printer/tests", tech, json={"action": "test_print"}).status_code == 202
    assert rig.post(f"/api/v1/outbox/{receipt}/retry", tech).status_code == 409  # delivered: not parked
    changed = requests.put(rig.url + "/api/v1/devices/settings", json={"paper_width_mm": 58}, timeout=5,
                           headers={"Authorization": f"Bearer {tech}"})
    assert changed.status_code == 200
    records = audit_lines(rig)
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("token_created", "ok"), ("service_switch", "ok"), ("device_test", "forbidden"), ("device_test", "ok"),
        ("outbox_retry", "not_parked"), ("settings_changed", "ok")]
    by_action = {r["action"]: r for r in records}
    assert by_action["service_switch"]["actor"] == {"token_id": operator_id, "role": "operator", "via": "bearer"}
    assert by_action["service_switch"]["detail"] == "out of service: 设备维护中"
    assert records[2]["actor"] == {"token_id": operator_id, "role": "operator", "via": "bearer"}
    assert by_action["device_test"]["target"] == "printer" and by_action["device_test"]["detail"] == "action=test_print"
    assert by_action["outbox_retry"]["target"] == receipt and by_action["outbox_retry"]["outcome"] == "not_parked"
    assert by_action["settings_changed"]["detail"] == "paper_width_mm: 80 → 58"
    raw = (rig.data_dir / AUDIT_FILE_NAME).read_text()
    for secret in (tech, operator):
        assert secret.split(".", 1)[1] not in raw
    for personal in (PERSON["name"], PERSON["id_number"], PERSON["address"], "测试"):
        assert personal not in raw  # the submission's contents never reach the audit


def test_kiosk_maintenance_mode_records_on_loopback_only(rig: Rig) -> None:
    tech = tech_token(rig)
    answer = requests.post(rig.url + "/api/v1/audit", timeout=5, headers=door_headers(rig.data_dir), json={
        "action": "maintenance_login_failed", "outcome": "wrong_pin", "detail": "attempt 1 of 5"})
    assert answer.status_code == 201 and answer.json()["actor"] == {"kind": "kiosk"}
    assert rig.post("/api/v1/audit", json={"action": "format_disk"}).status_code == 400
    remote = rig.gateway.app.test_client().post("/api/v1/audit", json={"action": "paper_replaced"},
                                                environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert remote.status_code == 403
    actions = [(e["action"], e["outcome"]) for e in rig.get("/api/v1/events", tech, params={"source": "audit"})
               .json()["events"]]
    assert ("maintenance_login_failed", "wrong_pin") in actions and ("paper_replaced", "ok") not in actions
