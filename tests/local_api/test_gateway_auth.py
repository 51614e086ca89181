"""Operator and technician doors over real HTTP (TARGETS S3): 401, 403, throttling, hashed tokens,
CSRF on cookie sessions, loopback-only internal endpoints, status and metrics."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests
from gateway_rig import Rig, identities, wait_for

from local_api.web.credentials import FIRST_TOKEN_FILE_NAME, TOKENS_FILE_NAME

PERSON = identities(1)[0]


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data", KIOSK_GATEWAY__AUTH_MAX_FAILURES="3", KIOSK_GATEWAY__AUTH_SOURCE_MAX_FAILURES="3",
            KIOSK_GATEWAY__AUTH_LOCKOUT_S="60")
    yield r
    r.close()


def first_token(rig: Rig) -> str:
    path = rig.data_dir / FIRST_TOKEN_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text().strip()


def test_first_token_is_a_technician_token_stored_hashed(rig: Rig) -> None:
    tech = first_token(rig)
    assert rig.get("/api/v1/status", tech).status_code == 200
    operator = rig.post("/api/v1/tokens", tech, json={"role": "operator", "label": "区运维"}).json()["token"]
    stored = (rig.data_dir / TOKENS_FILE_NAME).read_text()
    assert stat.S_IMODE((rig.data_dir / TOKENS_FILE_NAME).stat().st_mode) == 0o600
    for token in (tech, operator):
        assert token.split(".", 1)[1] not in stored  # only salted hashes on disk
    listing = rig.get("/api/v1/tokens", tech).json()["tokens"]
    assert {t["role"] for t in listing} == {"technician", "operator"} and "hash" not in json.dumps(listing)
    assert rig.get("/metrics", operator).status_code == 200

    operator_id = operator.removeprefix("kgw_").split(".")[0]
    assert requests.delete(rig.url + f"/api/v1/tokens/{operator_id}", timeout=5,
                           headers={"Authorization": f"Bearer {tech}"}).status_code == 200
    assert rig.get("/metrics", operator).status_code == 401  # revoked


def test_no_token_wrong_token_and_wrong_role(rig: Rig) -> None:
    tech = first_token(rig)
    operator = rig.post("/api/v1/tokens", tech, json={"role": "operator"}).json()["token"]
    for path in ("/api/v1/status", "/metrics", "/api/v1/events", "/api/v1/outbox", "/api/v1/devices/settings"):
        answer = rig.get(path)
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized", path
        assert "Bearer" in answer.headers["WWW-Authenticate"]
    wrong = rig.get("/api/v1/status", tech[:-4] + "AAAA")
    assert wrong.status_code == 401
    assert rig.get("/api/v1/status", operator).status_code == 200
    for path in ("/api/v1/devices/settings", "/api/v1/tokens"):
        forbidden = rig.get(path, operator)
        assert forbidden.status_code == 403 and "technician" in forbidden.json()["message"], path
    assert rig.post("/api/v1/tokens", operator, json={"role": "technician"}).status_code == 403
    assert rig.get("/api/v1/devices/settings", tech).json()["settings"]["printer"] == "sim://printer"


def test_repeated_failures_are_throttled_but_a_right_token_is_not(rig: Rig) -> None:
    # Issue 17: failures used to lock the address out for gateway.auth_lockout_s, even for a right
    # token; now they are throttled (per source and per token id) and a right token always passes.
    tech = first_token(rig)
    codes = [rig.get("/api/v1/status", f"kgw_guess{i}.nope").status_code for i in range(3)]
    assert codes == [401, 401, 401]
    throttled = rig.get("/api/v1/status", "kgw_guess9.nope")
    assert throttled.status_code == 429 and throttled.json()["error"] == "too_many_failures"
    assert int(throttled.headers["Retry-After"]) > 0
    assert rig.get("/api/v1/status", tech).status_code == 200
    events = rig.get("/api/v1/events", tech).json()["events"]
    assert any(e["kind"] == "auth_throttled" for e in events)
    metrics = rig.get("/metrics", tech).text
    assert "kiosk_gateway_auth_failures_total 3.0" in metrics


def test_console_session_needs_its_csrf_token_for_changes(rig: Rig) -> None:
    tech = first_token(rig)
    browser = requests.Session()
    login = browser.post(rig.url + "/console/session", data={"token": tech}, timeout=5)
    assert login.status_code == 200
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    csrf = login.json()["csrf_token"]
    assert browser.get(rig.url + "/api/v1/status", timeout=5).status_code == 200  # reads need no CSRF token
    forged = browser.post(rig.url + "/api/v1/tokens", json={"role": "operator"}, timeout=5)
    assert forged.status_code == 403 and forged.json()["error"] == "csrf_failed"
    wrong = browser.post(rig.url + "/api/v1/tokens", json={"role": "operator"}, timeout=5,
                         headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    made = browser.post(rig.url + "/api/v1/tokens", json={"role": "operator"}, timeout=5,
                        headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert browser.delete(rig.url + "/console/session", timeout=5, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert browser.get(rig.url + "/api/v1/status", timeout=5).status_code == 401
    browser.close()


def test_internal_door_answers_on_loopback_only(rig: Rig) -> None:
    test_client = rig.gateway.app.test_client()
    remote = {"REMOTE_ADDR": "192.0.2.7"}
    body = {"kind": "application", "item_code": "rs-sydj", "applicant": PERSON, "form": {}}
    for method, path, kw in (("post", "/api/v1/submissions", {"json": body}),
                             ("post", "/api/v1/heartbeat", {"json": {"screen": "home", "devices": {}}}),
                             ("post", "/api/v1/documents", {"json": {"item_code": "rs-sbjfzm", "applicant": PERSON}}),
                             ("get", "/api/v1/progress/HC-TEST-001-20260101-000001", {})):
        answer = getattr(test_client, method)(path, environ_base=remote, **kw)
        assert answer.status_code == 403 and answer.json["error"] == "forbidden", path
    assert rig.services.outbox.counts()["queued"] == 0
    liveness = test_client.get("/health", environ_base=remote)
    assert liveness.status_code == 200 and set(liveness.json) == {"status", "version"}  # no details outside
    assert test_client.get("/api/v1/status", environ_base=remote).status_code == 401


def test_status_reports_devices_outbox_platform_disk_and_heartbeat(rig: Rig) -> None:
    tech = first_token(rig)
    before = rig.get("/api/v1/status", tech).json()
    assert before["heartbeat"]["stale"] is True and before["devices"] == {}
    printer = {"name": "printer", "state": "online", "operations": 3, "errors": 0, "detail": {}, "last_error": None}
    rig.client.heartbeat("home", {"printer": printer, "id_reader": dict(printer, name="id_reader", state="offline")})
    receipt = rig.client.submit("application", "rs-sydj", PERSON, {})["receipt_no"]
    rig.client.wait_delivered(receipt, 10)
    status = rig.get("/api/v1/status", tech).json()
    assert status["screen"] == "home" and status["devices"]["id_reader"]["state"] == "offline"
    assert status["heartbeat"]["stale"] is False and status["heartbeat"]["age_s"] < 30
    assert status["outbox"]["counts"]["delivered"] == 1 and status["outbox"]["depth"] == 0
    assert status["outbox"]["last_delivery_at"] is not None
    assert status["platform"]["reachable"] is True and status["platform"]["breaker"] == "closed"
    assert status["disk"]["ok"] is True and status["disk"]["free_mb"] > 0
    assert status["version"] and status["kiosk_id"] == "HC-TEST-001"
    text = rig.get("/metrics", tech).text
    assert 'kiosk_gateway_outbox_submissions{state="delivered"} 1.0' in text
    assert 'kiosk_gateway_submissions_accepted_total{kind="application"} 1.0' in text
    assert "kiosk_gateway_platform_reachable 1.0" in text
    assert rig.get("/ready").json() == {"ready": True, "problems": []}


def test_device_test_goes_to_the_kiosk_app_through_the_heartbeat(rig: Rig) -> None:
    tech = first_token(rig)
    assert rig.post("/api/v1/devices/printer/tests", tech, json={"action": "test_print"}).status_code == 404
    printer = {"name": "printer", "state": "online", "detail": {}}
    assert rig.client.heartbeat("attract", {"printer": printer})["commands"] == []
    queued = rig.post("/api/v1/devices/printer/tests", tech, json={"action": "test_print"})
    assert queued.status_code == 202
    command_id = queued.json()["command_id"]
    commands = rig.client.heartbeat("attract", {"printer": printer})["commands"]
    assert commands == [{"command_id": command_id, "device": "printer", "action": "test_print"}]
    assert rig.client.heartbeat("attract", {"printer": printer})["commands"] == []  # handed out once
    rig.client.heartbeat("attract", {"printer": dict(printer, state="user_error")},
                         results=[{"command_id": command_id, "ok": False, "detail": "paper out"}])
    done = wait_for(lambda: (r := rig.get(f"/api/v1/devices/tests/{command_id}", tech).json())["state"] == "done"
                    and r, what="test outcome")
    assert done["ok"] is False and done["detail"] == "paper out"
    kinds = [e["kind"] for e in rig.get("/api/v1/events", tech).json()["events"]]
    assert "device_state" in kinds and "device_test" in kinds
