"""Failed token checks are throttled, not locked out (issue 17): per source address and per token
id, 429 with Retry-After, never a refusal of a valid token; all of loopback is one source; the
kiosk app's audit door is rate-limited. Real HTTP against a gateway served by waitress on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from security_rig import Rig, raw_request, read_first_token, token_id, wait_for

from kiosk.terminal.maintenance import Maintenance, MaintenanceConfig, hash_pin


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data", KIOSK_GATEWAY__AUTH_MAX_FAILURES="3", KIOSK_GATEWAY__AUTH_SOURCE_MAX_FAILURES="3",
            KIOSK_GATEWAY__AUTH_LOCKOUT_S="60")
    yield r
    r.close()


def test_someone_elses_failures_never_refuse_a_valid_token(rig: Rig) -> None:
    tech = read_first_token(rig)
    # Five typos from a shared jump host: the scrape behind the same address must keep working.
    codes = [rig.get("/api/v1/status", f"kgw_typo{i:04d}.nope").status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert rig.get("/metrics", tech).status_code == 200
    assert rig.get("/api/v1/status", tech).status_code == 200
    session = requests.post(rig.url + "/console/session", json={"token": tech}, timeout=10)
    assert session.status_code == 200


def test_failed_attempts_are_throttled_with_retry_after(rig: Rig) -> None:
    read_first_token(rig)
    for i in range(3):
        assert rig.get("/api/v1/status", f"kgw_guess{i:03d}.nope").status_code == 401
    throttled = rig.get("/api/v1/status", "kgw_guess999.nope")
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["error"] == "too_many_failures" and "try again" in body["message"]
    assert 0 < int(throttled.headers["Retry-After"]) <= 61
    login = requests.post(rig.url + "/console/session", json={"token": "kgw_abcdef01.nope"}, timeout=10)
    assert login.status_code == 429 and int(login.headers["Retry-After"]) > 0


def test_every_loopback_address_is_one_source(rig: Rig) -> None:
    tech = read_first_token(rig)
    for i, source in enumerate(("127.0.0.1", "127.0.0.2", "127.0.0.3")):
        status, _headers, _body = raw_request(rig, "GET", "/api/v1/status", source=source, token=f"kgw_0000000{i}.x")
        assert status == 401
    for source in ("127.0.0.4", "127.9.9.9", "127.0.0.1"):
        status, headers, body = raw_request(rig, "GET", "/api/v1/status", source=source, token="kgw_11111111.x")
        assert status == 429, (source, body)
        assert int(headers["retry-after"]) > 0
    status, _headers, _body = raw_request(rig, "GET", "/api/v1/status", source="127.0.0.5", token=tech)
    assert status == 200


def test_failures_against_one_token_id_are_throttled_but_its_holder_is_not(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__AUTH_MAX_FAILURES="2", KIOSK_GATEWAY__AUTH_SOURCE_MAX_FAILURES="50")
    try:
        tech = read_first_token(rig)
        operator = rig.post("/api/v1/tokens", tech, json={"role": "operator"}).json()["token"]
        target = token_id(operator)
        codes = [rig.get("/api/v1/status", f"kgw_{target}.guess{i}").status_code for i in range(3)]
        assert codes == [401, 401, 429]
        assert rig.get("/api/v1/status", "kgw_99999999.guess").status_code == 401  # other ids: the source has room
        assert rig.get("/api/v1/status", operator).status_code == 200  # the holder of the real token
    finally:
        rig.close()


def test_requests_without_a_token_or_with_a_session_do_not_use_up_tries(rig: Rig) -> None:
    tech = read_first_token(rig)
    for _ in range(6):
        assert rig.get("/api/v1/status").status_code == 401
        assert requests.get(rig.url + "/api/v1/status", cookies={"kgw_session": "forged"}, timeout=10).status_code == 401
    assert rig.get("/api/v1/status", "kgw_12345678.nope").status_code == 401
    assert rig.get("/health").status_code == 200
    assert rig.get("/api/v1/status", tech).status_code == 200


def test_the_kiosk_audit_door_is_rate_limited(rig: Rig) -> None:
    record = {"action": "paper_replaced", "outcome": "ok", "detail": "test"}
    codes = [rig.post("/api/v1/audit", json=record).status_code for _ in range(80)]
    assert codes[0] == 201
    assert 429 in codes, "forged audit entries are accepted without bound"
    first_refused = codes.index(429)
    assert set(codes[first_refused:]) == {429}
    throttled = rig.post("/api/v1/audit", json=record)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert throttled.json()["error"] == "too_many_requests"
    assert rig.get("/health").status_code == 200  # the rest of the kiosk door is untouched


def test_requests_refused_at_the_kiosk_door_do_not_use_up_the_apps_audit_allowance(tmp_path: Path) -> None:
    """A page or a process without the door's secret is refused (401) and counts for nothing: the kiosk
    app still has its whole allowance (gateway.kiosk_audit_per_minute) afterwards."""
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__KIOSK_AUDIT_PER_MINUTE="3")
    try:
        record = {"action": "paper_replaced", "outcome": "ok", "detail": "test"}
        forged = [requests.post(rig.url + "/api/v1/audit", json=record, timeout=10).status_code for _ in range(10)]
        assert set(forged) == {401}
        assert [rig.door("POST", "/api/v1/audit", json=record).status_code for _ in range(4)] == [201, 201, 201, 429]
    finally:
        rig.close()


def test_the_kiosk_app_keeps_its_maintenance_records_while_the_audit_door_is_throttled(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    record = {"action": "paper_replaced", "outcome": "ok", "detail": "filling the rate"}
    while rig.post("/api/v1/audit", json=record).status_code != 429:
        pass
    m = Maintenance(MaintenanceConfig(hash_pin("258036"), max_attempts=5, lockout_s=300, idle_exit_s=120),
                    control=lambda: None, gateway=rig.client, clock=time.monotonic,
                    on_service=lambda on, msg: None)
    try:
        m.open()
        for digit in "135790":  # a wrong PIN: one maintenance_login_failed record for the audit
            m.tap(f"pin:{digit}")
        m.tap("pin:ok")

        def throttled_send_seen() -> bool:
            m.poll()  # the app's loop turning: it sends queued records on its worker
            return any("rate limit" in r.getMessage() or "refused by the gateway" in r.getMessage()
                       for r in caplog.records)

        wait_for(throttled_send_seen, 20, "the throttled send")
        assert m.view()["audit_pending"] == 1, "a throttled record must wait for a retry, not be dropped"
    finally:
        m.close()
