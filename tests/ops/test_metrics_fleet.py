"""The fleet's view of one terminal: a real gateway on 127.0.0.1, heartbeats posted over HTTP as
the kiosk app posts them, and /metrics read back as Prometheus reads it. Every metric the shipped
alert rules and dashboard name must be among the exposed ones, so a renamed metric breaks here
instead of silently never alerting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from kiosk.settings import load_settings
from local_api.client import GatewayClient
from local_api.server import ServerHandle, build_gateway
from local_api.web.credentials import FIRST_TOKEN_FILE_NAME

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "kiosk-alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "kiosk-fleet.json"
CITIZEN = {"name": "测试", "id_number": "11010519491231002X"}


class Terminal:
    """A gateway (no platform: deliveries fail, as on a terminal with its link down)."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = load_settings(environ={
            "KIOSK_KIOSK__ID": "HC-FLEET-001", "KIOSK_GATEWAY__DATA_DIR": str(data_dir),
            "KIOSK_PLATFORM__SECRET": "test-secret-0123456789", "KIOSK_PLATFORM__TIMEOUT_S": "1",
            "KIOSK_GATEWAY__MIN_FREE_MB": "1"})
        self.gateway = build_gateway(self.settings, platform_base_url="http://127.0.0.1:9", base_delay_s=0.05,
                                     idle_probe_s=None, item_codes=None)
        self.http = ServerHandle(self.gateway.app, name="gateway").start()
        self.url = self.http.url
        self.door = GatewayClient.for_settings(self.settings, self.url, timeout_s=10)  # the kiosk app's secret
        self.token = (data_dir / FIRST_TOKEN_FILE_NAME).read_text().strip()

    def heartbeat(self, body: dict) -> requests.Response:
        return self.door.send("POST", "/api/v1/heartbeat", json=body)

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """``{(sample name, labels): value}`` from /metrics, read as Prometheus reads it."""
        answer = requests.get(self.url + "/metrics", headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(answer.text) for s in family.samples}

    def close(self) -> None:
        self.http.close()
        self.gateway.close()


@pytest.fixture()
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    t = Terminal(tmp_path)
    yield t
    t.close()


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def device(state: str, **detail: object) -> dict:
    return {"name": "x", "state": state, "operations": 7, "errors": 2, "detail": detail, "last_error": None}


HEARTBEAT = {
    "screen": "home",
    "devices": {"id_reader": device("online", port="/dev/ttyUSB0"),
                "printer": device("user_error", paper="out", cover_open=False, ready=False,
                                  reason="打印机缺纸 / paper out: replace the paper roll"),
                "camera": device("offline")},
    "sessions": {"run": "run-aaaa1111", "counts": [
        {"item_kind": "print", "outcome": "completed", "count": 3},
        {"item_kind": "query", "outcome": "timeout", "count": 1}]},
}


def test_device_states_and_paper_level_are_exposed_one_gauge_per_state(terminal: Terminal) -> None:
    before = terminal.samples()
    assert value(before, "kiosk_gateway_heartbeat_age_seconds") == -1.0  # no app yet
    assert not [k for k in before if k[0] == "kiosk_gateway_device_state"]

    assert terminal.heartbeat(HEARTBEAT).status_code == 200
    s = terminal.samples()
    assert value(s, "kiosk_gateway_device_state", device="printer", state="user_error") == 1.0
    assert value(s, "kiosk_gateway_device_state", device="printer", state="online") == 0.0
    assert value(s, "kiosk_gateway_device_state", device="camera", state="offline") == 1.0
    assert value(s, "kiosk_gateway_device_state", device="id_reader", state="online") == 1.0
    states = [k for k in s if k[0] == "kiosk_gateway_device_state" and ("device", "id_reader") in k[1]]
    assert len(states) == 6  # every state present, so `== 0` works in a rule as well as `== 1`
    assert value(s, "kiosk_gateway_printer_paper", device="printer", level="out") == 1.0
    assert value(s, "kiosk_gateway_printer_paper", device="printer", level="low") == 0.0
    assert value(s, "kiosk_gateway_printer_paper", device="id_reader", level="out") is None  # no paper there
    assert value(s, "kiosk_gateway_device_operations_total", device="printer") == 7.0
    assert value(s, "kiosk_gateway_device_errors_total", device="camera") == 2.0
    assert 0.0 <= value(s, "kiosk_gateway_heartbeat_age_seconds") < 60.0
    assert value(s, "kiosk_gateway_heartbeat_stale_seconds") == 30.0
    svc = terminal.gateway.services
    assert value(s, "kiosk_gateway_info", kiosk_id="HC-FLEET-001", place=terminal.settings.kiosk.place,
                 version=svc.version, catalog_version=svc.fleet.catalog_version,
                 settings_version=svc.fleet.settings_version()) == 1.0
    assert svc.fleet.catalog_version.startswith("sha256:")

    # The paper is replaced: the next heartbeat moves the 1 from "out" to "ok".
    fixed = json.loads(json.dumps(HEARTBEAT))
    fixed["devices"]["printer"] = device("online", paper="ok")
    assert terminal.heartbeat(fixed).status_code == 200
    s = terminal.samples()
    assert value(s, "kiosk_gateway_printer_paper", device="printer", level="out") == 0.0
    assert value(s, "kiosk_gateway_printer_paper", device="printer", level="ok") == 1.0
    assert value(s, "kiosk_gateway_device_state", device="printer", state="online") == 1.0


def test_sessions_are_counted_once_per_run_and_survive_an_app_restart(terminal: Terminal) -> None:
    for _ in range(3):  # the same cumulative tally, sent again and again, counts once
        assert terminal.heartbeat(HEARTBEAT).status_code == 200
    s = terminal.samples()
    assert value(s, "kiosk_gateway_sessions_total", item_kind="print", outcome="completed") == 3.0
    assert value(s, "kiosk_gateway_sessions_total", item_kind="query", outcome="timeout") == 1.0

    later = {"screen": "attract", "sessions": {"run": "run-aaaa1111", "counts": [
        {"item_kind": "print", "outcome": "completed", "count": 5}]}}
    assert terminal.heartbeat(later).status_code == 200
    # The app restarts: a new run counts from zero, and the gateway's total keeps growing.
    restarted = {"screen": "attract", "sessions": {"run": "run-bbbb2222", "counts": [
        {"item_kind": "print", "outcome": "completed", "count": 1},
        {"item_kind": "none", "outcome": "abandoned", "count": 2}]}}
    assert terminal.heartbeat(restarted).status_code == 200
    s = terminal.samples()
    assert value(s, "kiosk_gateway_sessions_total", item_kind="print", outcome="completed") == 6.0
    assert value(s, "kiosk_gateway_sessions_total", item_kind="none", outcome="abandoned") == 2.0


def test_a_heartbeat_with_an_unknown_session_kind_is_refused_and_counts_nothing(terminal: Terminal) -> None:
    bad = {"screen": "home", "sessions": {"run": "run-cccc3333", "counts": [
        {"item_kind": "lottery", "outcome": "completed", "count": 1}]}}
    answer = terminal.heartbeat(bad)
    assert answer.status_code == 400
    assert answer.json()["field"].startswith("sessions.counts.0.item_kind")
    assert not [k for k in terminal.samples() if k[0] == "kiosk_gateway_sessions_total"]
    # A heartbeat without a tally (the app before this change) still works as before.
    assert terminal.heartbeat({"screen": "home", "devices": {}}).json()["ok"] is True


def test_ratings_deliveries_and_failures_are_counted(terminal: Terminal) -> None:
    stored = terminal.door.send("POST", "/api/v1/submissions", json={
        "kind": "print_request", "item_code": "rs-sbjfzm", "applicant": CITIZEN, "form": {}})
    assert stored.status_code == 202, stored.text
    receipt = stored.json()["receipt_no"]
    rating = {"receipt_no": receipt, "level": 1, "direction": "gbt39046"}
    assert terminal.door.send("POST", "/api/v1/ratings", json=rating).status_code == 202
    assert terminal.door.send("POST", "/api/v1/ratings", json=rating).status_code in (200, 409)
    s = terminal.samples()
    assert value(s, "kiosk_gateway_ratings_total", level="1") == 1.0  # the resend is not a second rating
    assert value(s, "kiosk_gateway_submissions_accepted_total", kind="print_request") == 1.0
    assert value(s, "kiosk_gateway_outbox_submissions", state="queued") + \
        value(s, "kiosk_gateway_outbox_submissions", state="sending") >= 1.0
    assert value(s, "kiosk_gateway_forwarder_delivered_total") == 0.0
    assert value(s, "kiosk_gateway_disk_min_free_bytes") == 1024 * 1024
    assert value(s, "kiosk_gateway_disk_free_bytes") > 0


def _names_in(text: str) -> set[str]:
    return set(re.findall(r"\bkiosk_gateway_[a-z0-9_]+", text))


def test_every_metric_the_alert_rules_and_dashboard_use_is_exposed(terminal: Terminal) -> None:
    assert terminal.heartbeat(HEARTBEAT).status_code == 200
    terminal.door.send("POST", "/api/v1/submissions", json={
        "kind": "application", "item_code": "rs-sydj", "applicant": CITIZEN, "form": {}})
    # A certificate's expiry has a sample only with TLS set up: tests/security/test_platform_tls.py reads it.
    # The clock offset only once the platform answered with a date: tests/ops/test_fleet.py reads it.
    exposed = {name for name, _ in terminal.samples()} | {"kiosk_gateway_tls_cert_not_after_seconds",
                                                          "kiosk_gateway_clock_offset_seconds"}
    used = _names_in(RULES.read_text(encoding="utf-8"))
    assert len(used) >= 10, "the rules name fewer metrics than expected: is the file the right one?"
    assert used - exposed == set(), f"alert rules use metrics the gateway does not expose: {used - exposed}"
    if DASHBOARD.exists():
        panels = _names_in(DASHBOARD.read_text(encoding="utf-8"))
        # Histograms are used through their _bucket/_sum/_count samples.
        assert panels - exposed == set(), f"dashboard uses metrics the gateway does not expose: {panels - exposed}"


def test_a_fleet_sees_service_paper_versions_and_why_in_status_and_metrics(terminal: Terminal) -> None:
    """Issue 22: out of service, paper, every device, versions, last session — in /api/v1/status and /metrics;
    process metrics for restart loops; no ``_created`` series."""
    auth = {"Authorization": f"Bearer {terminal.token}"}
    assert terminal.heartbeat(HEARTBEAT).status_code == 200
    s = terminal.samples()
    assert value(s, "kiosk_gateway_in_service") == 1.0
    assert value(s, "process_start_time_seconds") > 0
    assert not [name for name, _ in s if name.endswith("_created")]
    last = value(s, "kiosk_gateway_last_session_timestamp_seconds")
    assert last is not None and last > 1.7e9

    switched = requests.post(terminal.url + "/api/v1/service", headers=auth, timeout=10,
                             json={"in_service": False, "message": "维护中"})
    assert switched.status_code == 200, switched.text
    s = terminal.samples()
    assert value(s, "kiosk_gateway_in_service") == 0.0
    status = requests.get(terminal.url + "/api/v1/status", headers=auth, timeout=10).json()
    assert status["service"]["in_service"] is False and status["service"]["message"] == "维护中"
    assert status["paper"] == {"printer": "out"}
    assert set(status["devices"]) == {"id_reader", "printer", "camera"}
    assert status["versions"]["catalog"].startswith("sha256:")
    assert status["versions"]["software"] == terminal.gateway.services.version
    assert status["last_session_at"] is not None
    rules = {(f["rule"], f["device"]) for f in status["attention"]}
    assert ("KioskPaperOut", "printer") in rules  # paper out says so, by name, at a glance
    assert ("KioskDeviceDown", "camera") in rules  # cameras are not invisible
    assert ("KioskOutOfServiceTooLong", None) in rules
    assert status["attention"][0]["severity"] == "page"
