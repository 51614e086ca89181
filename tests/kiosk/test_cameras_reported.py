"""Cameras as first-class devices, seen from the operator's and the technician's side: the kiosk app
(in this process) reports every configured camera in its heartbeat, the real gateway shows them in
``/api/v1/status`` and ``/metrics``, and ``POST /api/v1/devices/camera/tests`` runs a real capture on
the app's camera (a video file playing through OpenCV) and answers what happened. A social security
card reader that cannot be reached is reported the same way, with its reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from devices.camera.simulate import FaceScene, document_scene, write_video
from screens.app import KioskApp


def step_until(app: KioskApp, predicate, timeout_s: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        app.step()
        time.sleep(0.02)


def status(url: str, auth: dict) -> dict:
    answer = requests.get(f"{url}/api/v1/status", headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def metric(url: str, auth: dict, device: str, state: str) -> float | None:
    text = requests.get(f"{url}/metrics", headers=auth, timeout=10).text
    line = f'kiosk_gateway_device_state{{device="{device}",state="{state}"}} '
    for row in text.splitlines():
        if row.startswith(line):
            return float(row[len(line):])
    return None


def run_test(app: KioskApp, url: str, auth: dict, device: str, action: str = "self_test") -> dict:
    queued = requests.post(f"{url}/api/v1/devices/{device}/tests", json={"action": action}, headers=auth, timeout=10)
    assert queued.status_code == 202, queued.text
    command_id = queued.json()["command_id"]

    def done() -> dict | None:
        found = requests.get(f"{url}/api/v1/devices/tests/{command_id}", headers=auth, timeout=10).json()
        return found if found["state"] == "done" else None

    return step_until(app, done, what=f"{device} {action} finished")


@pytest.fixture
def kiosk(kiosk_stack, tmp_path: Path):
    face = write_video(tmp_path / "face.avi", FaceScene(), count=20)
    page = write_video(tmp_path / "page.avi", document_scene(), count=20)
    missing = tmp_path / "qr.avi"  # configured, but not plugged in at start-up

    def cameras(settings):
        devices = settings.devices.model_copy(update={"camera": f"file://{face}", "document_camera": f"file://{page}",
                                                      "qr_camera": f"file://{missing}"})
        return settings.model_copy(update={"devices": devices})

    stack = kiosk_stack(adjust=cameras)
    return stack.app, stack.url, stack.auth, face, missing


def test_every_configured_camera_is_in_status_and_metrics_and_a_capture_test_answers(kiosk):
    app, url, auth, face, missing = kiosk
    devices = step_until(app, lambda: (d := status(url, auth)["devices"]) and "camera" in d and d,
                         what="the cameras reported")
    assert {"id_reader", "printer", "camera", "document_camera", "qr_camera"} <= set(devices)
    assert devices["camera"]["state"] == "online" and devices["document_camera"]["state"] == "online"
    assert devices["qr_camera"]["state"] == "no_device"
    assert "does not exist" in devices["qr_camera"]["last_error"]["message"]
    assert metric(url, auth, "camera", "online") == 1.0
    assert metric(url, auth, "qr_camera", "no_device") == 1.0 and metric(url, auth, "qr_camera", "online") == 0.0

    result = run_test(app, url, auth, "camera")
    assert result["ok"] is True and "640×480" in result["detail"], result
    result = run_test(app, url, auth, "qr_camera")
    assert result["ok"] is False and "does not exist" in result["detail"], result
    step_until(app, lambda: app.terminal.flow.available.get("qr_camera") is False, 5, "QR scans unavailable")

    # The QR camera is plugged in: picked up, reported up, usable.
    missing.write_bytes(face.read_bytes())
    step_until(app, lambda: status(url, auth)["devices"]["qr_camera"]["state"] == "online", what="qr_camera up")
    assert metric(url, auth, "qr_camera", "online") == 1.0
    assert run_test(app, url, auth, "qr_camera")["ok"] is True
    step_until(app, lambda: app.terminal.flow.available["qr_camera"], what="QR scans offered again")


def test_an_unplugged_face_camera_is_reported_down_with_the_reason_and_its_items_marked(kiosk):
    app, url, auth, face, _ = kiosk
    step_until(app, lambda: status(url, auth)["devices"].get("camera", {}).get("state") == "online",
               what="the face camera reported up")
    aside = face.rename(face.with_name("unplugged.avi"))
    down = step_until(app, lambda: (d := status(url, auth)["devices"]["camera"])["state"] == "no_device" and d,
                      what="the face camera reported down")
    assert "went away" in down["last_error"]["message"]
    assert metric(url, auth, "camera", "no_device") == 1.0
    events = requests.get(f"{url}/api/v1/events", headers=auth, timeout=10).json()["events"]
    said = [e["message"] for e in events if e["kind"] == "device_state" and e.get("device") == "camera"]
    assert any("online → no_device" in m and "went away" in m for m in said), said  # the console's event list
    # Face-check items offer their other ways (the app re-reads availability four times a second).
    step_until(app, lambda: app.terminal.flow.available["camera"] is False, 5, "face checks marked unavailable")
    result = run_test(app, url, auth, "camera")
    assert result["ok"] is False and "went away" in result["detail"], result
    aside.rename(face)
    step_until(app, lambda: status(url, auth)["devices"]["camera"]["state"] == "online", what="face camera up again")
    step_until(app, lambda: app.terminal.flow.available["camera"], what="face checks offered again")


def test_a_device_the_app_never_reported_is_still_404(kiosk):
    app, url, auth, *_ = kiosk
    step_until(app, lambda: "camera" in status(url, auth)["devices"], what="the cameras reported")
    answer = requests.post(f"{url}/api/v1/devices/webcam/tests", json={}, headers=auth, timeout=10)
    assert answer.status_code == 404 and answer.json()["error"] == "unknown_device"


def test_a_social_security_card_reader_that_cannot_be_reached_is_reported_with_the_reason(kiosk_stack):
    def ssc(settings):
        devices = settings.devices.model_copy(update={"ssc_reader": "pcsc://Absent Reader 00 00"})
        return settings.model_copy(update={"devices": devices})

    stack = kiosk_stack(adjust=ssc)
    app, url, auth = stack.app, stack.url, stack.auth
    # No pcscd here, or one without this reader: either way the reader is down and says why.
    reader = step_until(app, lambda: (d := status(url, auth)["devices"].get("ssc_reader")) and d.get("last_error") and d,
                        what="the social security card reader reported with its problem")
    assert reader["state"] not in ("online", "busy")
    assert reader["last_error"]["message"]
    assert metric(url, auth, "ssc_reader", reader["state"]) == 1.0


def test_a_device_state_change_is_reported_at_once_not_at_the_next_regular_heartbeat(kiosk):
    app, url, auth, face, _ = kiosk
    step_until(app, lambda: status(url, auth)["devices"].get("camera", {}).get("state") == "online",
               what="the face camera reported up")
    # From here the app's UI loop does not run at all: no regular heartbeat goes out. Only the
    # heartbeat's own device watcher can tell the gateway.
    before = status(url, auth)["heartbeat"]["last_at"]
    face.rename(face.with_name("unplugged.avi"))
    deadline = time.monotonic() + 10
    while status(url, auth)["devices"]["camera"]["state"] != "no_device":
        assert time.monotonic() < deadline, "the gateway never heard the camera went away"
        time.sleep(0.1)
    assert status(url, auth)["heartbeat"]["last_at"] != before
