"""The fleet test (issue 22, the proof): 50 real gateways, one platform simulator, a real Prometheus and
Alertmanager configured from the fleet inventory by ``kiosk fleet``, the shipped rules (``for:`` shortened)
and routing, and a webhook receiver. Faults are injected and what the people on call would receive is
asserted: which alerts, grouped how, labelled with terminal and station.

Phases, on one fleet (10 stations of 5 terminals, ids ``S01-T1`` … ``S10-T5``):

1. quiet: every terminal scraped, nothing fires;
2. paper out on 3 terminals (2 at one station), a camera and a social security card reader down, one
   terminal out of service, 5 terminals killed (3 at one station, 2 at another) → one message per station
   for the paper, one page per station listing its dead terminals, the devices by name, out of service;
3. the platform down for all → ONE page, no per-terminal platform alerts;
4. the platform back and a signed catalog bundle rolled out to every terminal (each one's version, as its
   status and Prometheus say); then a bundle with a bad signature planned for 10 % → refused by the
   terminals it reached, the plan rolled back, every terminal still on the good version;
5. the VPN down (every gateway frozen) → ONE page for the fleet, no per-terminal or per-station pages.

Marked ``fleet``; part of the default run (``.ci/run``). Needs ``prometheus`` and ``prometheus-alertmanager``
(``bash deploy/setup.sh --test`` installs them).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from fleet_rig import FleetRig, Terminal, device, firing_alerts, tool, wait_for

from kiosk.crypto import SigningKey
from tests.e2e.catalog_rollout import gateway_env, make_bundle, plan, plan_state, publish, wait_versions

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(900)]

N_TERMINALS = 50
GB = 1024**3


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if tool("prometheus") is None or tool("prometheus-alertmanager", "alertmanager") is None:
        pytest.skip("prometheus and prometheus-alertmanager are not installed (`bash deploy/setup.sh --test`)")
    fleet = FleetRig(tmp_path_factory.mktemp("fleet"), n=N_TERMINALS)
    fleet.catalog_key = SigningKey.generate("intl")  # type: ignore[attr-defined]
    fleet.catalog_env = gateway_env(fleet.catalog_key, poll_s=1.0)  # type: ignore[attr-defined]
    try:
        fleet.start_platform()
        fleet.start_gateways()
        fleet.start_heartbeats()
        for t in fleet.terminals:  # a resident's application each: every gateway has heard the platform
            fleet.submit(t)
        fleet.start_monitoring()
        yield fleet
    finally:
        fleet.close()


def new_since(rig: FleetRig, t0: float) -> set[tuple[str, str | None]]:
    """(alertname, kiosk_id) firing in notifications sent since ``t0`` that no earlier notification carried."""
    assert rig.webhook is not None
    before, after = set(), set()
    for note, alert in firing_alerts(rig.webhook.notifications()):
        key = (alert["labels"]["alertname"], alert["labels"].get("kiosk_id"))
        (after if note["at"] >= t0 else before).add(key)
    return after - before


def by_id(rig: FleetRig, terminal_id: str) -> Terminal:
    return next(t for t in rig.terminals if t.id == terminal_id)


def alerts_at(rig: FleetRig, receiver: str, since: float = 0.0) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    assert rig.webhook is not None
    return [(n, a) for n, a in firing_alerts(rig.webhook.notifications())
            if n["path"] == f"/{receiver}" and n["at"] >= since]


def last_group(rig: FleetRig, receiver: str, alertname: str | None, station: str) -> set[str]:
    """kiosk_ids (or devices) of the latest notification of ``receiver`` for this group."""
    assert rig.webhook is not None
    found: set[str] = set()
    for note in rig.webhook.notifications():
        labels = note.get("groupLabels", {})
        if note["path"] == f"/{receiver}" and labels.get("station") == station and \
                (alertname is None or labels.get("alertname") == alertname) and note.get("status") == "firing":
            found = {f"{a['labels'].get('kiosk_id')}/{a['labels'].get('device', '')}" for a in note["alerts"]
                     if a["status"] == "firing"}
    return found


def test_a_fleet_of_50_gateways_alerts_the_right_people_once(rig: FleetRig) -> None:
    terminals = rig.terminals
    station = {t.id: t.station for t in terminals}

    # -- 1. quiet: all scraped with their inventory labels, nothing firing -------------------------
    wait_for("every terminal scraped and up", lambda: rig.scalar('count(up{job="kiosk"} == 1)') == N_TERMINALS, 120)
    wait_for("every gateway reports the platform reachable",
             lambda: rig.scalar("sum(kiosk_gateway_platform_reachable)") == N_TERMINALS, 180)  # retried after a timeout
    info = rig.query("kiosk_gateway_info")
    assert len(info) == N_TERMINALS
    for series in info:  # the target labels from the inventory are on every series
        labels = series["metric"]
        assert labels["station"] == station[labels["kiosk_id"]] and labels["district"]
        assert labels["catalog_version"].startswith("sha256:") and labels["settings_version"].startswith("sha256:")
    assert rig.scalar('count(count by (catalog_version) (kiosk_gateway_info))') == 1.0  # one catalog fleet-wide
    assert rig.scalar("count(process_start_time_seconds)") == N_TERMINALS
    assert rig.scalar('count(kiosk_gateway_device_state{device=~"ssc_reader|camera|document_camera|qr_camera",'
                      ' state="online"} == 1)') == 4 * N_TERMINALS
    assert not rig.query('{__name__=~".+_created"}')
    assert rig.scalar("count(kiosk_gateway_clock_offset_seconds)") == N_TERMINALS
    # The dashboard generated for this inventory: its variables list every terminal, and every stat panel
    # shows a number on a healthy fleet ("terminals answering" included: 50 up, 0 down, not "No data").
    board = json.loads((rig.root / "prometheus" / "kiosk-fleet.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert len(variables["kiosk_id"]["options"]) == N_TERMINALS and len(variables["station"]["options"]) == 10
    for panel in board["panels"]:
        if panel["type"] != "stat":
            continue
        for target in panel["targets"]:
            expr = target["expr"]
            for name in ("district", "station", "kiosk_id"):
                expr = expr.replace(f"${name}", ".*")
            answer = rig.query(expr)
            assert len(answer) == 1, (panel["title"], expr, answer)
    answering = next(p for p in board["panels"] if p["title"] == "Terminals answering")
    up, down = (rig.scalar(t["expr"].replace("$district", ".*").replace("$station", ".*").replace("$kiosk_id", ".*"))
                for t in answering["targets"])
    assert (up, down) == (N_TERMINALS, 0)
    time.sleep(6)  # longer than every shortened `for:` and Alertmanager's group wait
    assert rig.firing() == [], "alerts on a healthy fleet"
    assert rig.webhook is not None and rig.webhook.notifications() == []
    memory = rig.memory()
    print(f"\nfleet memory: {N_TERMINALS} gateways {memory['gateways'] / GB:.2f} GiB RSS "
          f"({memory['gateways'] / N_TERMINALS / 2**20:.0f} MiB each), prometheus {memory['prometheus'] / 2**20:.0f} MiB, "
          f"alertmanager {memory['alertmanager'] / 2**20:.0f} MiB")
    (rig.root / "memory.json").write_text(json.dumps(memory))
    assert memory["gateways"] < 16 * GB  # fits the 24 GB CI machine with room for the rest

    # -- 2. paper, devices, out of service, 5 terminals killed -------------------------------------
    paper_out = ["S01-T1", "S01-T2", "S02-T1"]
    for tid in paper_out:
        by_id(rig, tid).devices["printer"] = device("user_error", paper="out")
    by_id(rig, "S03-T1").devices["camera"] = device("no_device")
    by_id(rig, "S03-T2").devices["ssc_reader"] = device("hardware_error")
    switched = requests.post(by_id(rig, "S04-T1").url + "/api/v1/service", headers=by_id(rig, "S04-T1").auth,
                             json={"in_service": False, "message": "设备维护"}, timeout=10)
    assert switched.status_code == 200, switched.text
    killed = ["S05-T1", "S05-T2", "S05-T3", "S06-T4", "S06-T5"]
    for tid in killed:
        by_id(rig, tid).beating = False
        rig.kill(by_id(rig, tid))
    for tid in paper_out + ["S03-T1", "S03-T2"]:
        rig.beat_once(by_id(rig, tid))

    # Station staff: one message per station, both of S01's printers in it.
    wait_for("paper out at 第1社区服务站, both terminals in one message",
             lambda: last_group(rig, "station-staff", None, station["S01-T1"]) == {"S01-T1/printer", "S01-T2/printer"},
             90)
    wait_for("paper out at 第2社区服务站",
             lambda: last_group(rig, "station-staff", None, station["S02-T1"]) == {"S02-T1/printer"}, 60)
    # Field engineers: a page per station listing its unreachable terminals; the devices by name.
    wait_for("3 terminals unreachable at 第5社区服务站 in one page",
             lambda: last_group(rig, "field-engineers-pager", "KioskTerminalUnreachable", station["S05-T1"])
             == {"S05-T1/", "S05-T2/", "S05-T3/"}, 90)
    wait_for("2 terminals unreachable at 第6社区服务站 in one page",
             lambda: last_group(rig, "field-engineers-pager", "KioskTerminalUnreachable", station["S06-T4"])
             == {"S06-T4/", "S06-T5/"}, 60)
    wait_for("the camera and the social security card reader down",
             lambda: last_group(rig, "field-engineers-pager", "KioskDeviceDown", station["S03-T1"])
             == {"S03-T1/camera", "S03-T2/ssc_reader"}, 60)
    wait_for("out of service at the operations desk",
             lambda: [a for _, a in alerts_at(rig, "operations-desk")
                      if a["labels"]["alertname"] == "KioskOutOfServiceTooLong"
                      and a["labels"]["kiosk_id"] == "S04-T1" and a["labels"]["station"] == station["S04-T1"]], 60)
    time.sleep(4)
    seen = {(a["labels"]["alertname"], a["labels"].get("kiosk_id")) for _, a in
            firing_alerts(rig.webhook.notifications())}
    expected = {("KioskPaperOut", t) for t in paper_out} | {("KioskTerminalUnreachable", t) for t in killed} | {
        ("KioskDeviceDown", "S03-T1"), ("KioskDeviceDown", "S03-T2"), ("KioskOutOfServiceTooLong", "S04-T1")}
    assert seen == expected
    for _, alert in firing_alerts(rig.webhook.notifications()):  # the terminal and its station, by name
        assert alert["labels"]["station"] == station[alert["labels"]["kiosk_id"]]
        assert alert["annotations"]["summary"].startswith(("Terminal " + alert["labels"]["kiosk_id"],
                                                           "Receipt paper OUT on " + alert["labels"]["kiosk_id"],
                                                           alert["labels"].get("device", "-") + " on "
                                                           + alert["labels"]["kiosk_id"],
                                                           alert["labels"]["kiosk_id"]))
    assert not [s for s in rig.query('ALERTS{alertname="KioskStationUnreachable"}')]  # 3 of 5 is not a station

    # -- 3. the platform down for every terminal: one page ---------------------------------------
    phase3 = time.time()
    rig.stop_platform()
    live = [t for t in terminals if t.id not in killed]
    for t in live:  # residents keep applying; each delivery attempt finds the platform gone
        rig.submit(t)
    wait_for("every live gateway reports the platform unreachable",
             lambda: rig.scalar("count(kiosk_gateway_platform_reachable == 0)") == len(live), 90)
    pages = wait_for("one fleet-wide platform page",
                     lambda: [a for _, a in alerts_at(rig, "operations-pager", phase3)
                              if a["labels"]["alertname"] == "KioskPlatformUnreachableFleetWide"], 60)
    assert "kiosk_id" not in pages[0]["labels"]
    # The per-terminal alerts fire in Prometheus but Alertmanager holds them back: nobody gets 45 messages.
    wait_for("per-terminal platform alerts firing in Prometheus",
             lambda: len([a for a in rig.firing() if a["labels"]["alertname"] == "KioskPlatformUnreachable"])
             == len(live), 60)
    time.sleep(5)
    assert new_since(rig, phase3) == {("KioskPlatformUnreachableFleetWide", None)}
    assert len({n["groupKey"] for n, a in firing_alerts(rig.webhook.notifications())
                if a["labels"]["alertname"] == "KioskPlatformUnreachableFleetWide"}) == 1

    # -- 4. the platform back; a signed catalog bundle to all, then a bad one to 10 %, rolled back --
    rig.start_platform()
    sim = f"http://127.0.0.1:{rig.platform_port}"
    # Every live gateway hears the platform again (a forwarder in back-off tries within its idle probe),
    # and no per-terminal platform alert is left firing once the fleet-wide one is gone.
    wait_for("every live gateway reports the platform reachable again",
             lambda: rig.scalar("sum(kiosk_gateway_platform_reachable)") == len(live), 180)
    wait_for("no platform alert left firing",
             lambda: not [a for a in rig.firing() if a["labels"]["alertname"].startswith("KioskPlatformUnreachable")],
             120)
    urls, tokens = [t.url for t in live], [t.token for t in live]
    publish(sim, "2026.12.1", make_bundle("2026.12.1", rig.catalog_key))  # type: ignore[attr-defined]
    plan(sim, "2026.12.1", percent=100)
    wait_versions(urls, tokens, ["2026.12.1"] * len(live), timeout_s=90)
    wait_for("Prometheus sees one catalog version on every live terminal",
             lambda: {r["metric"].get("catalog_version"): float(r["value"][1]) for r in rig.query(
                 "count by (catalog_version) (kiosk_gateway_info)")} == {"2026.12.1": float(len(live))}, 60)
    publish(sim, "2026.12.2", make_bundle("2026.12.2", SigningKey.generate("intl")))  # signed by a stranger
    # The canary: 10 % of the fleet, named (a hashed percentage of 50 can pick none of the 45 live ones).
    canary = [t.id for t in live[::9]][:N_TERMINALS // 10]
    plan(sim, "2026.12.2", kiosks=canary, previous="2026.12.1")
    state = wait_for("a terminal in the 10 % refuses the bad signature and the plan rolls back",
                     lambda: (s := plan_state(sim))["plan"]["state"] == "rolled_back" and s, 90)
    refused = [k for k, r in state["reports"].items() if r.get("status") == "invalid"]
    assert refused and set(refused) <= set(canary)
    time.sleep(3)  # a few polls more: nobody took it, nobody lost the good one
    wait_versions(urls, tokens, ["2026.12.1"] * len(live), timeout_s=30)

    # -- 5. the VPN down: every gateway frozen, one page -----------------------------------------
    phase5 = time.time()
    rig.freeze_all()
    pages = wait_for("one fleet-wide unreachability page",
                     lambda: [a for _, a in alerts_at(rig, "operations-pager", phase5)
                              if a["labels"]["alertname"] == "KioskFleetUnreachable"], 90)
    assert set(pages[0]["labels"]) == {"alertname", "severity", "audience", "fleet"}
    wait_for("every terminal's and station's own alert firing in Prometheus",
             lambda: len([a for a in rig.firing() if a["labels"]["alertname"] == "KioskTerminalUnreachable"])
             == N_TERMINALS, 90)
    time.sleep(5)
    assert new_since(rig, phase5) == {("KioskFleetUnreachable", None)}
