"""Console sessions bound to their token, token expiry and last use, first-token.txt (issue 17),
over real HTTP against a gateway served by waitress on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from security_rig import Rig, log_in, read_first_token, token_id, wait_for

from local_api.web.credentials import TOKENS_FILE_NAME, TokenStore


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def _new_token(rig: Rig, tech: str, role: str, **extra: object) -> str:
    answer = rig.post("/api/v1/tokens", tech, json={"role": role, "label": "测试", **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def test_revoking_a_token_ends_its_console_sessions_at_once(rig: Rig) -> None:
    tech = read_first_token(rig)
    second = _new_token(rig, tech, "technician")
    session, csrf = log_in(rig, second)
    assert session.get(rig.url + "/api/v1/tokens", timeout=10).status_code == 200

    revoked = requests.delete(rig.url + f"/api/v1/tokens/{token_id(second)}", timeout=10,
                              headers={"Authorization": f"Bearer {tech}"})
    assert revoked.status_code == 200
    # The finding: the cookie kept listing and creating technician tokens for hours.
    listing = session.get(rig.url + "/api/v1/tokens", timeout=10)
    assert listing.status_code == 401, listing.text
    created = session.post(rig.url + "/api/v1/tokens", json={"role": "technician"}, timeout=10,
                           headers={"X-CSRF-Token": csrf})
    assert created.status_code == 401
    assert "revoked" in listing.json()["message"] or "log in" in listing.json()["message"]
    assert len(rig.get("/api/v1/tokens", tech).json()["tokens"]) == 1


def test_demoting_a_token_ends_its_technician_sessions(rig: Rig) -> None:
    tech = read_first_token(rig)
    second = _new_token(rig, tech, "technician")
    session, _csrf = log_in(rig, second)
    assert session.get(rig.url + "/api/v1/tokens", timeout=10).status_code == 200

    demoted = requests.patch(rig.url + f"/api/v1/tokens/{token_id(second)}", json={"role": "operator"},
                             headers={"Authorization": f"Bearer {tech}"}, timeout=10)
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["role"] == "operator"
    assert session.get(rig.url + "/api/v1/tokens", timeout=10).status_code == 401
    assert session.get(rig.url + "/api/v1/status", timeout=10).status_code == 401  # the session is over
    assert rig.get("/api/v1/status", second).status_code == 200  # the token itself is an operator's now
    assert rig.get("/api/v1/tokens", second).status_code == 403


def test_a_token_with_an_expiry_stops_working_and_ends_its_sessions(rig: Rig) -> None:
    tech = read_first_token(rig)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = rig.post("/api/v1/tokens", tech, json={"role": "operator", "expires_at": past})
    assert refused.status_code == 400 and refused.json()["field"] == "expires_at"

    soon = datetime.now(UTC) + timedelta(seconds=3)
    short = _new_token(rig, tech, "operator", expires_at=soon.isoformat())
    listed = {t["id"]: t for t in rig.get("/api/v1/tokens", tech).json()["tokens"]}
    assert datetime.fromisoformat(listed[token_id(short)]["expires_at"]) == soon.replace(microsecond=0)
    assert listed[token_id(tech)]["expires_at"] is None
    session, _csrf = log_in(rig, short)
    assert session.get(rig.url + "/api/v1/status", timeout=10).status_code == 200

    wait_for(lambda: datetime.now(UTC) > soon + timedelta(seconds=0.2), 10, "the expiry")
    assert session.get(rig.url + "/api/v1/status", timeout=10).status_code == 401
    bearer = rig.get("/api/v1/status", short)
    assert bearer.status_code == 401 and "expired" in bearer.json()["message"]


def test_each_tokens_last_use_is_shown_without_secrets(rig: Rig) -> None:
    tech = read_first_token(rig)
    operator = _new_token(rig, tech, "operator")
    before = {t["id"]: t for t in rig.get("/api/v1/tokens", tech).json()["tokens"]}
    assert before[token_id(operator)]["last_used_at"] is None
    started = time.time()
    assert rig.get("/metrics", operator).status_code == 200
    after = {t["id"]: t for t in rig.get("/api/v1/tokens", tech).json()["tokens"]}
    used = datetime.fromisoformat(after[token_id(operator)]["last_used_at"]).timestamp()
    assert started - 1 <= used <= time.time() + 1
    text = json.dumps(after)
    for token in (tech, operator):
        assert token.split(".", 1)[1] not in text
    assert "hash" not in text and "salt" not in text


def test_a_tokens_file_from_before_expiry_and_last_use_still_loads(tmp_path: Path) -> None:
    path = tmp_path / TOKENS_FILE_NAME
    token = TokenStore(path).create("technician", "old")
    old = json.loads(path.read_text())
    old["tokens"] = [{k: v for k, v in entry.items() if k in ("id", "role", "label", "salt", "hash", "created_at")}
                     for entry in old["tokens"]]
    path.write_text(json.dumps({"version": 1, "tokens": old["tokens"]}))
    store = TokenStore(path)
    principal = store.verify(token)
    assert principal is not None and principal.role == "technician"
    (entry,) = store.listing()
    assert entry["expires_at"] is None and entry["id"] == token_id(token)


def test_first_token_file_is_deleted_after_its_first_use(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = rig.data_dir / "first-token.txt"
    tech = read_first_token(rig)
    other = _new_token(rig, tech, "operator")  # the first use
    assert not path.exists()
    assert any("first-token.txt" in r.getMessage() and "deleted" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        for token in (tech, other):
            assert token.split(".", 1)[1] not in record.getMessage()
    assert rig.get("/api/v1/status", tech).status_code == 200  # the token itself stays valid


def test_first_token_file_is_deleted_after_a_console_log_in_too(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = rig.data_dir / "first-token.txt"
    tech = read_first_token(rig)
    assert rig.get("/api/v1/status", f"kgw_{token_id(tech)}.wrong").status_code == 401
    assert path.exists(), "a failed try is not a use"
    log_in(rig, tech)
    assert not path.exists()


def test_session_cookie_is_secure_when_the_gateway_is_not_on_loopback(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__HOST="0.0.0.0")  # the settings say so; the rig serves 127.0.0.1
    try:
        answer = requests.post(rig.url + "/console/session", json={"token": read_first_token(rig)}, timeout=10,
                               headers={"Origin": rig.url})
        assert answer.status_code == 200
        assert "secure" in answer.headers["Set-Cookie"].lower()
    finally:
        rig.close()


def test_session_cookie_is_not_secure_on_loopback_http(rig: Rig) -> None:
    answer = requests.post(rig.url + "/console/session", json={"token": read_first_token(rig)}, timeout=10)
    assert answer.status_code == 200
    assert "secure" not in answer.headers["Set-Cookie"].lower()
    assert "httponly" in answer.headers["Set-Cookie"].lower()


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Referer": "http://127.0.0.1:1/attack.html"},
                                     {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"}])
def test_console_log_in_from_another_origin_is_refused(rig: Rig, headers: dict[str, str]) -> None:
    tech = read_first_token(rig)
    answer = requests.post(rig.url + "/console/session", data={"token": tech}, headers=headers, timeout=10)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "cross_origin_login"
    assert "Set-Cookie" not in answer.headers
    same = requests.post(rig.url + "/console/session", json={"token": tech}, timeout=10,
                         headers={"Origin": rig.url, "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
