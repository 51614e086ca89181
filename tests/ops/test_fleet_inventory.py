"""``kiosk fleet check`` and ``kiosk fleet targets`` as an operator runs them, on the shipped inventory and on
broken ones; the shipped Prometheus example is what the command makes from the shipped inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "deploy" / "fleet" / "fleet.yml"
EXAMPLE = ROOT / "deploy" / "prometheus" / "example"


def kiosk(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)


def test_the_shipped_inventory_is_valid() -> None:
    done = kiosk("fleet", "check", "--inventory", str(INVENTORY))
    assert done.returncode == 0, done.stderr
    assert "6 terminal(s) at 5 station(s) in 2 district(s): OK" in done.stdout


def test_a_broken_inventory_is_refused_naming_each_problem(tmp_path: Path) -> None:
    data = yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))
    data["terminals"][1]["id"] = data["terminals"][0]["id"]  # the same id twice
    data["terminals"][2]["address"] = "10.20.0.300/24"  # no address
    data["terminals"][3]["station"] = ""
    data["terminals"][4]["hardware"]["devices"].append("fax")
    bad = tmp_path / "fleet.yml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = kiosk("fleet", "check", "--inventory", str(bad))
    assert done.returncode == 2
    assert "terminals.2.address (HC-XL-001): Value error, must be an IP address or a host name" in done.stderr
    assert "terminals.3.station (HC-DX-001)" in done.stderr
    assert "terminals.4.hardware.devices.5 (SM-GZ-001)" in done.stderr
    data = yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))
    data["terminals"][1]["id"] = data["terminals"][0]["id"]
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = kiosk("fleet", "check", "--inventory", str(bad))
    assert done.returncode == 2 and "id used by more than one terminal: HC-XY-001" in done.stderr


def test_check_names_terminals_without_a_scrape_token(tmp_path: Path) -> None:
    (tmp_path / "HC-XY-001.token").write_text("t\n")
    done = kiosk("fleet", "check", "--inventory", str(INVENTORY), "--tokens", str(tmp_path))
    assert done.returncode == 2
    assert "no token file" in done.stderr and "HC-XY-002" in done.stderr and "HC-XY-001," not in done.stderr


def test_targets_give_each_terminal_its_labels_and_its_own_token(tmp_path: Path) -> None:
    done = kiosk("fleet", "targets", "--inventory", str(INVENTORY), "--out", str(tmp_path), "--dashboard",
                 str(ROOT / "deploy" / "grafana" / "kiosk-fleet.json"))
    assert done.returncode == 0, done.stderr
    target = json.loads((tmp_path / "targets" / "HC-DX-001.json").read_text(encoding="utf-8"))
    assert target == [{"targets": ["10.20.2.11:8443"],
                       "labels": {"kiosk_id": "HC-DX-001", "station": "东孚街道便民服务中心", "district": "海沧区"}}]
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = config["scrape_configs"]
    assert len(jobs) == 6
    assert len({j["authorization"]["credentials_file"] for j in jobs}) == 6  # a token per terminal
    dx = next(j for j in jobs if j["job_name"] == "kiosk/HC-DX-001")
    assert dx["scheme"] == "https" and dx["relabel_configs"] == [{"target_label": "job", "replacement": "kiosk"}]
    assert "tls_config" not in dx
    done = kiosk("fleet", "targets", "--inventory", str(INVENTORY), "--out", str(tmp_path), "--ca-file", "/etc/ca.crt")
    jobs = yaml.safe_load((tmp_path / "prometheus.yml").read_text(encoding="utf-8"))["scrape_configs"]
    assert [j["job_name"] for j in jobs if j.get("tls_config") == {"ca_file": "/etc/ca.crt"}] == ["kiosk/HC-DX-001"]
    board = json.loads((tmp_path / "kiosk-fleet.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["station"]["type"] == "custom" and len(variables["station"]["options"]) == 5
    assert {o["value"] for o in variables["kiosk_id"]["options"]} >= {"HC-XY-001", "SM-ZS-001"}
    assert "datasource" in variables  # the dashboard's own variables stay


def test_a_terminal_taken_out_of_the_inventory_stops_being_a_target(tmp_path: Path) -> None:
    assert kiosk("fleet", "targets", "--inventory", str(INVENTORY), "--out", str(tmp_path)).returncode == 0
    data = yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))
    data["terminals"] = data["terminals"][:2]
    smaller = tmp_path / "fleet.yml"
    smaller.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert kiosk("fleet", "targets", "--inventory", str(smaller), "--out", str(tmp_path)).returncode == 0
    assert sorted(p.name for p in (tmp_path / "targets").iterdir()) == ["HC-XY-001.json", "HC-XY-002.json"]


def test_the_shipped_example_is_what_the_command_makes(tmp_path: Path) -> None:
    out = tmp_path / "example"
    done = kiosk("fleet", "targets", "--inventory", "deploy/fleet/fleet.yml", "--out", str(out), "--rules",
                 "../kiosk-alerts.yml", "--alertmanager", "alertmanager.example.internal:9093")
    assert done.returncode == 0, done.stderr
    for name in ("prometheus.yml", "grafana-variables.json", *(f"targets/{p.name}" for p in (out / "targets").iterdir())):
        assert (out / name).read_text(encoding="utf-8") == (EXAMPLE / name).read_text(encoding="utf-8"), name
