"""Two factors for the console log-in (issue 27, GB/T 22239-2019 8.1.4.1 d): token + TOTP (RFC 6238),
the secret enrolled with ``kiosk totp enrol``; a wrong code counts as a failed check (lock-out as for
tokens), a used code is not taken twice, and the log-in is audited with its second factor. TOTP is the
standard library's HMAC, checked here against the RFCs' own test vectors."""

from __future__ import annotations

import base64
import json
import re
import stat
import time
from pathlib import Path

import pytest
import requests
from security_rig import Rig, read_first_token, token_id

from kiosk.cli import main
from local_api.ops.audit import AUDIT_FILE_NAME
from local_api.web.credentials import TOTP_FILE_NAME, hotp, totp

RFC_SECRET = b"12345678901234567890"


def test_hotp_matches_rfc_4226_appendix_d() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [hotp(RFC_SECRET, counter) for counter in range(10)] == expected


@pytest.mark.parametrize(("at", "sha1", "sha256"), [
    (59, "94287082", "46119246"), (1111111109, "07081804", "68084774"), (1111111111, "14050471", "67062674"),
    (1234567890, "89005924", "91819424"), (2000000000, "69279037", "90698825"), (20000000000, "65353130", "77737706"),
])
def test_totp_matches_rfc_6238_appendix_b(at: int, sha1: str, sha256: str) -> None:
    assert totp(RFC_SECRET, at, digits=8) == sha1
    assert totp(b"12345678901234567890123456789012", at, digits=8, digest="sha256") == sha256


def enrol(rig: Rig, token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> bytes:
    monkeypatch.setenv("KIOSK_GATEWAY__DATA_DIR", str(rig.data_dir))
    monkeypatch.setenv("KIOSK_KIOSK__ID", "HC-TEST-001")
    assert main(["totp", "enrol", token_id(token), "--no-qr"]) == 0
    said = capsys.readouterr().out
    secret = re.search(r"TOTP secret for token \w+: ([A-Z2-7]+)", said)
    assert secret is not None and f"otpauth://totp/gov-kiosk%3AHC-TEST-001-{token_id(token)}?secret=" in said
    return base64.b32decode(secret.group(1))


def log_in(rig: Rig, token: str, code: str | None = None) -> requests.Response:
    body = {"token": token} if code is None else {"token": token, "totp": code}
    return requests.post(rig.url + "/console/session", json=body, timeout=5, headers={"Origin": rig.url})


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data", KIOSK_GATEWAY__SECOND_FACTOR="technician", KIOSK_GATEWAY__AUTH_MAX_FAILURES="3",
            KIOSK_GATEWAY__AUTH_LOCKOUT_S="60")
    yield r
    r.close()


def test_a_technician_logs_in_with_token_and_code_once_enrolled(rig: Rig, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    tech = read_first_token(rig)
    refused = log_in(rig, tech)
    assert refused.status_code == 403 and refused.json()["error"] == "totp_not_enrolled"
    assert f"kiosk totp enrol {token_id(tech)}" in refused.json()["message"]
    secret = enrol(rig, tech, monkeypatch, capsys)
    assert stat.S_IMODE((rig.data_dir / TOTP_FILE_NAME).stat().st_mode) == 0o600
    asked = log_in(rig, tech)
    assert asked.status_code == 401 and asked.json()["error"] == "totp_required"
    assert log_in(rig, tech, "000000" if totp(secret, time.time()) != "000000" else "111111").json()["error"] == \
        "totp_wrong"
    code = totp(secret, time.time())
    answer = log_in(rig, tech, code)
    assert answer.status_code == 200 and answer.json()["role"] == "technician"
    again = log_in(rig, tech, code)  # the same code a second time: someone read it over a shoulder
    assert again.status_code == 401 and again.json()["error"] == "totp_wrong"
    # a code is no substitute for the token
    assert log_in(rig, tech[:-4] + "AAAA", totp(secret, time.time() + 30)).status_code == 401
    # an operator token needs no second factor under gateway.second_factor = "technician"
    operator = requests.post(rig.url + "/api/v1/tokens", json={"role": "operator"}, timeout=5,
                             headers={"Authorization": f"Bearer {tech}"}).json()["token"]
    assert log_in(rig, operator).status_code == 200
    records = [json.loads(line) for line in (rig.data_dir / AUDIT_FILE_NAME).read_text().splitlines()]
    logins = [r for r in records if r["action"].startswith("login")]
    assert [(r["action"], r["outcome"]) for r in logins][:5] == [
        ("login", "totp_not_enrolled"), ("login_failed", "totp_required"), ("login_failed", "totp_wrong"),
        ("login", "ok"), ("login_failed", "totp_wrong")]
    assert logins[3]["detail"] == "second factor: TOTP" and logins[3]["actor"]["token_id"] == token_id(tech)
    assert all(r["actor"]["token_id"] == token_id(tech) for r in logins[:5])
    assert secret.hex() not in (rig.data_dir / AUDIT_FILE_NAME).read_text()


def test_wrong_codes_lock_the_token_out_even_with_the_right_code(rig: Rig, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tech = read_first_token(rig)
    secret = enrol(rig, tech, monkeypatch, capsys)
    wrong = "000000" if totp(secret, time.time()) != "000000" else "111111"
    for _ in range(3):  # gateway.auth_max_failures
        assert log_in(rig, tech, wrong).json()["error"] == "totp_wrong"
    locked = log_in(rig, tech, totp(secret, time.time()))
    assert locked.status_code == 429 and locked.json()["error"] == "too_many_failures"
    assert int(locked.headers["Retry-After"]) > 0
    # the bearer token alone still works for scripts (one factor: documented in docs/compliance.md)
    assert requests.get(rig.url + "/api/v1/status", headers={"Authorization": f"Bearer {tech}"},
                        timeout=5).status_code == 200


def test_removing_the_secret_puts_the_policy_back_in_charge(rig: Rig, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    tech = read_first_token(rig)
    enrol(rig, tech, monkeypatch, capsys)
    assert main(["totp", "remove", token_id(tech)]) == 0
    assert log_in(rig, tech).json()["error"] == "totp_not_enrolled"  # the policy still asks for one
    assert main(["totp", "enrol", "deadbeef", "--no-qr"]) == 1
    assert "no token with id 'deadbeef'" in capsys.readouterr().err


def test_config_check_warns_when_operators_reach_the_gateway_without_a_second_factor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIOSK_GATEWAY__DATA_DIR", str(tmp_path / "data"))
    assert main(["config", "check", "--strict"]) == 0  # on loopback: only this machine reaches the doors
    capsys.readouterr()
    monkeypatch.setenv("KIOSK_GATEWAY__HOST", "10.8.0.5")  # the fleet's VPN
    assert main(["config", "check", "--strict"]) == 2
    said = capsys.readouterr().err
    assert "environment KIOSK_GATEWAY__HOST: gateway.second_factor: off while operators reach the gateway" in said
    assert "kiosk totp enrol" in said
    monkeypatch.setenv("KIOSK_GATEWAY__SECOND_FACTOR", "technician")
    assert main(["config", "check", "--strict"]) == 0
