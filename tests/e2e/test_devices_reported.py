"""End to end through the real processes (``kiosk run --headless``: platform simulator, gateway, app):
a camera is a device the fleet sees. The face camera is a video file played through OpenCV (the same
VideoCapture path a USB camera takes); moving the file away is the camera unplugged (its device node
vanishes), moving it back is the camera plugged in again.

Assertions are made where operators and residents look: the gateway's ``/api/v1/status`` and
``/metrics`` (what the console and Prometheus read), and the screen's item availability.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kiosk_rig import Kiosk, wait_for

from devices.camera.simulate import FaceScene, write_video

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kiosk, Path, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("devices")
    video = write_video(tmp / "face.avi", FaceScene(blink_every=20), count=40)
    kiosk = Kiosk(tmp, KIOSK_DEVICES__CAMERA=f"file://{video}").start()
    try:
        # The first token is deleted after its first use: read it once for the whole module.
        token = (tmp / "data" / "first-token.txt").read_text().strip()
        yield kiosk, video, {"Authorization": f"Bearer {token}"}
    finally:
        kiosk.stop()


def camera_status(kiosk: Kiosk, auth: dict[str, str]) -> dict[str, Any]:
    answer = requests.get(kiosk.gateway + "/api/v1/status", headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["devices"].get("camera") or {}
    return found


def camera_metric(kiosk: Kiosk, auth: dict[str, str]) -> dict[str, float]:
    """``kiosk_gateway_device_state{device="camera"}`` by state, as Prometheus scrapes it."""
    text = requests.get(kiosk.gateway + "/metrics", headers=auth, timeout=10).text
    prefix = 'kiosk_gateway_device_state{device="camera",state="'
    return {row[len(prefix):].split('"', 1)[0]: float(row.rsplit(" ", 1)[1])
            for row in text.splitlines() if row.startswith(prefix)}


def test_a_camera_that_goes_away_shows_down_at_the_gateway_and_up_again_after_it_returns(rig) -> None:
    kiosk, video, auth = rig
    wait_for(lambda: camera_status(kiosk, auth).get("state") == "online", 30, "the face camera reported online")
    assert camera_metric(kiosk, auth)["online"] == 1.0
    assert kiosk.finger.view()["available"]["camera"] is True

    aside = video.rename(video.with_name("unplugged.avi"))
    down = wait_for(lambda: (s := camera_status(kiosk, auth)).get("state") == "no_device" and s, 30,
                    "the face camera reported down at the gateway")
    assert "went away" in down["last_error"]["message"], down  # the reason, for the console
    metric = camera_metric(kiosk, auth)
    assert metric["no_device"] == 1.0 and metric["online"] == 0.0, metric
    # The resident's screen: face checks are not offered while the camera is away.
    wait_for(lambda: kiosk.finger.view()["available"]["camera"] is False, 10, "face checks marked unavailable")
    assert "camera" in kiosk.log() and "went away" in kiosk.log()

    aside.rename(video)
    wait_for(lambda: camera_status(kiosk, auth).get("state") == "online", 30, "the face camera reported online again")
    assert camera_metric(kiosk, auth)["online"] == 1.0
    wait_for(lambda: kiosk.finger.view()["available"]["camera"] is True, 10, "face checks offered again")


def test_the_technician_capture_test_runs_on_the_running_kiosks_camera(rig) -> None:
    kiosk, _, auth = rig
    wait_for(lambda: camera_status(kiosk, auth).get("state") == "online", 30, "the face camera reported online")
    queued = requests.post(kiosk.gateway + "/api/v1/devices/camera/tests", json={"action": "self_test"},
                           headers=auth, timeout=10)
    assert queued.status_code == 202, queued.text
    command = queued.json()["command_id"]
    result = wait_for(lambda: (r := requests.get(f"{kiosk.gateway}/api/v1/devices/tests/{command}", headers=auth,
                                                 timeout=10).json())["state"] == "done" and r, 40,
                      "the capture test's outcome")
    assert result["ok"] is True and "640×480" in result["detail"], result
