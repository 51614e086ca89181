"""Issue 17: the kiosk door only the kiosk app can use, over real HTTP (waitress on 127.0.0.1).

Each test first reproduced its finding as a request the old gateway accepted: a text/plain or
form-encoded body, a foreign ``Origin``, a foreign ``Host``, no door secret, forged audit records
growing the file without bound, a request through a proxy on the terminal."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import DOOR_SECRET_FILE, Rig, door_headers, identities, make_settings

from kiosk.settings import SettingsError, load_settings
from local_api.client import GatewayClient, GatewayUnavailable
from local_api.server import ServerHandle, build_gateway

PERSON = identities(1)[0]
SUBMISSION = {"kind": "application", "item_code": "rs-sydj", "applicant": PERSON, "form": {"reason": "合同到期"}}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def stored(rig: Rig) -> int:
    return sum(rig.services.outbox.counts().values())


def in_service(rig: Rig) -> bool:
    return bool(rig.services.service_switch.view()["in_service"])


def test_the_issues_curl_does_not_take_the_kiosk_out_of_service(rig: Rig) -> None:
    """The exact request from the issue: text/plain, a foreign Origin, no secret."""
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: text/plain",
         "-H", "Origin: http://evil.example", "-d", '{"in_service":false}', rig.url + "/api/v1/kiosk/service"],
        capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout in ("401", "403", "415", "421"), done.stdout
    assert in_service(rig)
    # Even with the secret, text/plain is refused before anything is switched.
    answer = rig.door("POST", "/api/v1/kiosk/service", data='{"in_service":false}',
                      headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415 and in_service(rig)


def test_bodies_that_are_not_json_are_refused_with_415(rig: Rig) -> None:
    text = json.dumps(SUBMISSION)
    cases = [
        ("/api/v1/submissions", {"data": text, "headers": {"Content-Type": "text/plain"}}),
        ("/api/v1/submissions", {"data": text.encode()}),  # no Content-Type at all
        ("/api/v1/reports", {"data": {"category": "other", "text": "表单"}}),  # form-encoded
        ("/api/v1/help-requests", {"data": json.dumps({"need": "grid_worker", "group": "elderly"}),
                                   "headers": {"Content-Type": "text/plain;charset=UTF-8"}}),
        ("/api/v1/kiosk/service", {"data": {"in_service": "false"}}),
        ("/api/v1/audit", {"data": json.dumps({"action": "paper_replaced"}),
                           "headers": {"Content-Type": "text/plain"}}),
        ("/api/v1/heartbeat", {"files": {"screen": ("a", b"home")}}),  # multipart
    ]
    for path, kw in cases:
        answer = rig.door("POST", path, **kw)
        assert answer.status_code == 415, (path, answer.status_code, answer.text)
        body = answer.json()
        assert body["error"] == "unsupported_media_type" and "application/json" in body["message"]
    assert stored(rig) == 0 and in_service(rig)
    assert rig.door("POST", "/api/v1/submissions", json=SUBMISSION).status_code == 202  # JSON still goes in


def test_a_foreign_origin_is_refused(rig: Rig) -> None:
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1", "https://" + rig.url.split("//")[1]):
        answer = rig.door("POST", "/api/v1/submissions", json=SUBMISSION, headers={"Origin": origin})
        assert answer.status_code == 403 and answer.json()["error"] == "origin_refused", (origin, answer.text)
    cross = rig.door("POST", "/api/v1/reports", json={"category": "other", "text": "x"},
                     headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert stored(rig) == 0
    own = rig.door("POST", "/api/v1/submissions", json=SUBMISSION, headers={"Origin": rig.url})
    assert own.status_code == 202


def test_a_foreign_host_is_refused(rig: Rig) -> None:
    port = rig.http.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", f"10.0.0.5:{port}"):
        answer = rig.door("POST", "/api/v1/kiosk/service", json={"in_service": False}, headers={"Host": host})
        assert answer.status_code == 421 and answer.json()["error"] == "wrong_host", (host, answer.text)
    assert in_service(rig)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert rig.door("GET", "/api/v1/progress/HC-TEST-001-20260101-000001",
                        headers={"Host": host}).status_code != 421


def test_no_secret_no_door_even_on_loopback(rig: Rig) -> None:
    path = rig.data_dir / DOOR_SECRET_FILE
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 32
    for headers in ({}, {"X-Kiosk-Door": ""}, {"X-Kiosk-Door": "0" * len(secret)}, {"X-Kiosk-Door": secret[:-1]}):
        answer = requests.post(rig.url + "/api/v1/submissions", json=SUBMISSION, headers=headers, timeout=10)
        assert answer.status_code == 401 and answer.json()["error"] == "kiosk_door_secret", answer.text
        assert secret not in answer.text
    for method, path_, kw in (("POST", "/api/v1/kiosk/service", {"json": {"in_service": False}}),
                              ("POST", "/api/v1/audit", {"json": {"action": "paper_replaced"}}),
                              ("POST", "/api/v1/heartbeat", {"json": {"screen": "home", "devices": {}}}),
                              ("POST", "/api/v1/screen", {"data": b"\x89PNG", "headers": {"Content-Type": "image/png"}}),
                              ("GET", "/api/v1/submissions/HC-TEST-001-20260101-000001", {}),
                              ("GET", "/api/v1/appointments/slots?item_code=mz-hydjyy", {})):
        answer = requests.request(method, rig.url + path_, timeout=10, **kw)
        assert answer.status_code == 401, (path_, answer.status_code)
    assert stored(rig) == 0 and in_service(rig)
    assert rig.client.submit("application", "rs-sydj", PERSON, {"reason": "x"})["state"] == "queued"


def test_every_state_changing_route_wants_the_secret_or_a_token(rig: Rig) -> None:
    """No route added later slips past: every POST/PUT/DELETE refuses a loopback caller with neither."""
    for rule in rig.gateway.app.url_map.iter_rules():
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            path = rule.rule.replace("<receipt_no>", "HC-TEST-001-20260101-000001").replace("<", "").replace(">", "")
            answer = requests.request(method, rig.url + path, json={}, timeout=10)
            if rule.rule == "/console/session" and method == "POST":
                assert answer.status_code == 400  # the log-in itself: a token in the body
                continue
            assert answer.status_code in (401, 403), (method, rule.rule, answer.status_code)


def test_the_client_finds_a_new_secret_after_a_gateway_restart(rig: Rig) -> None:
    first = (rig.data_dir / DOOR_SECRET_FILE).read_text()
    assert rig.client.heartbeat("home", {})["ok"]
    port = rig.http.port
    rig.http.close()
    rig.gateway.close()
    rig.gateway = build_gateway(rig.settings, platform_base_url=rig.sim_url, base_delay_s=0.02,
                                idle_probe_s=0.1, item_codes=None)
    rig.http = ServerHandle(rig.gateway.app, port=port, name="gateway").start()
    assert (rig.data_dir / DOOR_SECRET_FILE).read_text() != first
    assert rig.client.heartbeat("home", {})["ok"]  # one 401, the file read again, the call repeated
    assert rig.client.submit("application", "rs-sydj", PERSON, {"reason": "x"})["state"] == "queued"


def test_a_client_without_the_secret_is_told_what_to_check(rig: Rig, tmp_path: Path) -> None:
    stray = GatewayClient(rig.url, door_secret_file=tmp_path / "nowhere" / DOOR_SECRET_FILE)
    try:
        with pytest.raises(GatewayUnavailable) as caught:
            stray.heartbeat("home", {})
        assert "door secret" in caught.value.technician and "data_dir" in caught.value.technician
    finally:
        stray.close()


def test_forged_audit_records_cannot_grow_the_file_without_bound(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__AUDIT_MAX_MB="0.02", KIOSK_GATEWAY__AUDIT_KEEP="2",
              KIOSK_GATEWAY__KIOSK_AUDIT_PER_MINUTE="1000")  # the file cap is what is tested, not the rate
    try:
        huge = rig.door("POST", "/api/v1/audit", json={"action": "paper_replaced", "detail": "x" * 100_000})
        assert huge.status_code == 413 and huge.json()["field"] == "body"
        record = {"action": "paper_replaced", "target": "t" * 80, "detail": "详" * 300}
        with caplog.at_level(logging.WARNING, logger="local_api.ops.audit"):
            for _ in range(300):  # ~1.2 kB a line: 360 kB if nothing capped it
                assert rig.door("POST", "/api/v1/audit", json=record).status_code == 201
        files = sorted(rig.data_dir.glob("audit.jsonl*"))
        assert [f.name for f in files] == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
        cap = int(0.02 * 1024 * 1024)
        assert all(f.stat().st_size <= cap for f in files), [f.stat().st_size for f in files]
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        assert any("audit.jsonl reached" in r.getMessage() and "rotated" in r.getMessage() for r in caplog.records)
        newest = rig.services.audit.recent(limit=30)
        last = newest[-1]["seq"]
        assert last in (300, 301)  # 300 records, and the gateway's clock-offset note if the platform answered first
        assert [e["seq"] for e in newest] == list(range(last - 29, last + 1))  # read across the rotation
        first = json.loads((rig.data_dir / "audit.jsonl.1").read_text().splitlines()[0])["seq"]
        following = rig.services.audit.recent(after_seq=first - 1, limit=40)
        assert [e["seq"] for e in following] == list(range(first, min(first + 40, last + 1)))
    finally:
        rig.close()


def test_a_trusted_proxy_makes_no_request_loopback(tmp_path: Path) -> None:
    """A TLS-terminating proxy on the terminal connects from 127.0.0.1; it is named in
    gateway.trusted_proxies, so what it forwards carries the real client's address."""
    rig = Rig(tmp_path / "data", KIOSK_GATEWAY__TRUSTED_PROXIES="127.0.0.1")
    try:
        via_proxy = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        # The kiosk door never answers through a proxy, secret or not.
        answer = rig.door("POST", "/api/v1/kiosk/service", json={"in_service": False}, headers=via_proxy)
        assert answer.status_code == 403 and answer.json()["error"] == "via_proxy"
        assert in_service(rig)
        # The proxy's client is who the operators' door sees: not loopback, so /health is the short one.
        assert set(requests.get(rig.url + "/health", headers=via_proxy, timeout=10).json()) == {"status", "version"}
        assert "outbox" in requests.get(rig.url + "/health", timeout=10).json()  # direct: loopback
        assert rig.client.heartbeat("home", {})["ok"]  # the app (no proxy headers) is unaffected
    finally:
        rig.close()


def test_forwarding_headers_from_an_untrusted_address_are_ignored(rig: Rig) -> None:
    """No trusted proxy configured: X-Forwarded-For changes nobody's address (rotating it buys no fresh
    token tries), it never makes a request more trusted, and the kiosk door refuses it."""
    assert not rig.settings.gateway.trusted_proxies
    assert set(requests.get(rig.url + "/health", headers={"X-Forwarded-For": "127.0.0.1"},
                            timeout=10).json()) == {"status", "version"}
    for i in range(rig.settings.gateway.auth_max_failures):
        requests.get(rig.url + "/api/v1/status", timeout=10, headers={
            "Authorization": "Bearer kgw_00000000.wrong", "X-Forwarded-For": f"198.51.100.{i}"})
    assert rig.get("/api/v1/status", "kgw_00000000.wrong").status_code == 429  # the socket's address was counted
    answer = rig.door("POST", "/api/v1/submissions", json=SUBMISSION, headers={"Forwarded": "for=198.51.100.7"})
    assert answer.status_code == 403 and answer.json()["error"] == "via_proxy"
    assert stored(rig) == 0 and door_headers(rig.data_dir)


def test_a_gateway_on_every_address_is_called_on_loopback(rig: Rig) -> None:
    """``gateway.host = 0.0.0.0`` (e.g. for a VPN scrape): the app still calls its door as 127.0.0.1."""
    port = rig.http.port
    everywhere = rig.settings.model_copy(update={"gateway": rig.settings.gateway.model_copy(
        update={"host": "0.0.0.0", "port": port})})
    for given in (None, f"http://0.0.0.0:{port}"):
        client = GatewayClient.for_settings(everywhere, given)
        try:
            assert client.base_url == rig.url
            assert client.heartbeat("home", {})["ok"]
        finally:
            client.close()


def test_trusted_proxies_must_be_addresses(tmp_path: Path) -> None:
    assert make_settings(tmp_path, KIOSK_GATEWAY__TRUSTED_PROXIES="127.0.0.1, 10.8.0.0/24").gateway.trusted_proxies \
        == ("127.0.0.1", "10.8.0.0/24")
    with pytest.raises(SettingsError) as caught:
        make_settings(tmp_path, KIOSK_GATEWAY__TRUSTED_PROXIES="proxy.example")
    assert "gateway.trusted_proxies" in str(caught.value) and "not an IP address" in str(caught.value)


def test_trusted_proxies_that_is_not_a_list_is_a_settings_problem(tmp_path: Path) -> None:
    """``trusted_proxies = true`` in a settings file is told in plain words (found by the settings fuzzer:
    it was a TypeError)."""
    path = tmp_path / "proxies.toml"
    path.write_text("[gateway]\ntrusted_proxies = true\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={})
    assert "gateway.trusted_proxies" in str(caught.value) and "a list of IP addresses" in str(caught.value)
