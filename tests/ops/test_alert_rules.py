"""The shipped Prometheus files, checked and unit-tested by promtool (apt package `prometheus`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
RULES = PROM / "kiosk-alerts.yml"
RULE_TESTS = PROM / "kiosk-alerts.test.yml"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt: prometheus; `bash deploy/setup.sh --test` installs it)")
    return found


def run(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          check=False)


def test_rules_are_valid() -> None:
    done = run("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_unit_tests_pass() -> None:
    done = run("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_rule_fails_its_unit_test(tmp_path: Path) -> None:
    """The unit tests can fail: a paper-out rule that looks at the wrong level is caught."""
    broken = RULES.read_text(encoding="utf-8").replace('kiosk_gateway_printer_paper{level="out"} == 1\n',
                                                       'kiosk_gateway_printer_paper{level="low"} == 1\n')
    assert broken != RULES.read_text(encoding="utf-8")
    (tmp_path / RULES.name).write_text(broken, encoding="utf-8")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    done = run("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert done.returncode != 0
    assert "KioskPaperOut" in done.stdout + done.stderr


def _alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_has_a_unit_test_and_routing_labels() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    tested = {case["alertname"] for t in tests for case in t.get("alert_rule_test", [])
              if case.get("exp_alerts")}
    names = {a["alert"] for a in _alerts()}
    assert names - tested == set(), f"alerts without a firing unit test: {names - tested}"
    routes = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))["route"]["routes"]
    routed = {m for r in routes for m in r["matchers"]}
    for alert in _alerts():
        assert alert["labels"]["severity"] in ("page", "ticket", "info"), alert["alert"]
        assert f'audience="{alert["labels"]["audience"]}"' in routed or alert["labels"]["audience"] == "operations"
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]


def test_the_issue_s_alerts_are_all_there() -> None:
    names = {a["alert"] for a in _alerts()}
    for wanted in ("KioskDeviceDown", "KioskPaperLow", "KioskPaperOut", "KioskBacklogGrowing", "KioskBacklogOld",
                   "KioskPlatformUnreachable", "KioskAppHeartbeatLost", "KioskDiskLow",
                   # issue 22: a fleet
                   "KioskFleetUnreachable", "KioskStationUnreachable", "KioskOutOfServiceTooLong", "KioskRestartLoop",
                   "KioskClockSkew", "KioskNoSessionsInOpeningHours", "KioskLoginFailures"):
        assert wanted in names


def test_alerts_name_the_terminal_and_station_not_an_address() -> None:
    """Per-terminal summaries print kiosk_id (instance only as a fallback for series without it)."""
    for alert in _alerts():
        summary = alert["annotations"]["summary"]
        if "$labels.instance" in summary:
            assert "with $labels.kiosk_id" in summary, alert["alert"]
        assert alert["annotations"].get("runbook") or alert["annotations"]["description"], alert["alert"]


def test_alertmanager_config_is_valid() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (apt: prometheus-alertmanager; `bash deploy/setup.sh --test`)")
    done = subprocess.run([amtool, "check-config", str(ALERTMANAGER)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_shipped_scrape_example_passes_promtool_as_it_stands() -> None:
    """deploy/prometheus/example/ is `kiosk fleet targets` run on deploy/fleet/fleet.yml: checked where it
    lies, as its header says, with nothing replaced."""
    example = PROM / "example" / "prometheus.yml"
    assert "kiosk fleet targets" in example.read_text(encoding="utf-8").splitlines()[0]
    done = run("check", "config", str(example), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
