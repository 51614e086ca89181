"""The technician page's probe: a port listed at the gateway is probed by the kiosk app after its next
heartbeat (the gateway never opens ports), and the outcome says what answered. Real HTTP, the app's
heartbeat, the SAM reader simulator on a pty behind a /dev/serial/by-id-style link."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from devices.id_card.simulator import IdReaderSimulator
from local_api.web import console


def probe(app, url: str, auth: dict, port: str) -> dict:  # type: ignore[no-untyped-def]
    queued = requests.post(f"{url}/api/v1/devices/ports/probe", json={"port": port}, headers=auth, timeout=10)
    assert queued.status_code == 202, queued.text
    command_id = queued.json()["command_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = requests.get(f"{url}/api/v1/devices/tests/{command_id}", headers=auth, timeout=10).json()
        if found["state"] == "done":
            return found
        app.step()
        time.sleep(0.02)
    raise AssertionError("the probe never finished")


def test_a_listed_port_is_probed_by_the_app_and_says_what_answered(
        kiosk_stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    monkeypatch.setattr(console, "BY_ID_DIR", by_id)
    stack = kiosk_stack()
    app, url, auth = stack.app, stack.url, stack.auth
    link = by_id / "usb-SIM_IdReader_0002-if00-port0"
    with IdReaderSimulator(stable_path=link, line_baud=57600) as sim:
        found = probe(app, url, auth, str(link))
        assert found["ok"] is True and "ID card reader at 57600 baud" in found["detail"], found
        sim.silent = True
        quiet = probe(app, url, auth, str(link))
        assert quiet["ok"] is False and "nothing answered" in quiet["detail"], quiet
    refused = requests.post(f"{url}/api/v1/devices/ports/probe", json={"port": "/dev/ttyS99"}, headers=auth,
                            timeout=10)
    assert refused.status_code == 404 and refused.json()["error"] == "unknown_port"
