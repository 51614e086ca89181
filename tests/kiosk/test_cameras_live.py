"""Real cameras from the settings (kiosk/terminal/cameras.py): OpenCV capture threads reading video files (the
same VideoCapture path a USB camera takes), a face captured and its blink seen, a QR code read; a
camera that cannot be opened leaves the kiosk running without it; ``auto`` never gives a real
terminal a simulated face."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from devices.camera.camera import LiveCamera
from devices.camera.simulate import FaceScene, qr_scene, write_video
from kiosk.qrcodes import progress_url
from kiosk.settings import DevicesSection, load_settings
from kiosk.terminal.cameras import (
    camera_availability,
    camera_statuses,
    capture_test,
    close_cameras,
    open_cameras,
)
from kiosk.terminal.hardware import capture_face


def devices(**cameras: str) -> DevicesSection:
    return load_settings(environ={}).devices.model_copy(update=cameras)


def test_a_face_and_a_qr_code_come_through_real_capture_threads(tmp_path: Path):
    face = write_video(tmp_path / "face.avi", FaceScene(blink_every=20), count=60)
    link = progress_url("HC-DEMO-001-20261121-000007")
    qr = write_video(tmp_path / "qr.avi", qr_scene(link), count=30)
    threads_before = threading.active_count()
    cams = open_cameras(devices(camera=f"file://{face}", document_camera="none", qr_camera=f"file://{qr}"), None)
    try:
        assert set(cams) == {"camera", "qr_camera"} and all(isinstance(c, LiveCamera) for c in cams.values())
        shot = capture_face(cams["camera"])
        assert shot.live and shot.jpeg.startswith(b"\xff\xd8"), shot.reason  # a blink was seen, a JPEG taken
        from devices.camera import QrReader

        reader = QrReader()
        texts = {getattr(reader.decode(cams["qr_camera"].read()), "text", None) for _ in range(10)}
        assert link in texts
    finally:
        close_cameras(cams)
    assert threading.active_count() <= threads_before  # the capture threads are gone


def wait_until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_a_camera_absent_at_start_is_reported_down_and_picked_up_when_it_appears(tmp_path: Path, caplog):
    face = write_video(tmp_path / "face.avi", FaceScene(), count=20)
    later = tmp_path / "later.avi"
    cams = open_cameras(devices(camera=f"file://{later}", document_camera="none", qr_camera="none"), None)
    try:
        # Not fatal, not left out: reported down with the reason, its items unavailable.
        assert set(cams) == {"camera"}
        status = camera_statuses(cams)["camera"]
        assert status["state"] == "no_device" and "does not exist" in status["last_error"]["message"]
        assert camera_availability(cams) == {"camera": False, "document_camera": False}
        assert any("picked up when it appears" in r.getMessage() for r in caplog.records)
        ok, words = capture_test(cams["camera"], "camera", timeout_s=1.0)
        assert not ok and "does not exist" in words
        started = time.monotonic()
        shot = capture_face(cams["camera"])  # a face check that got here anyway ends at once, no face taken
        assert not shot.live and shot.jpeg == b"" and shot.reason == "no camera"
        assert time.monotonic() - started < 10  # not 200 one-second waits for frames
        later.write_bytes(face.read_bytes())  # plugged in
        wait_until(lambda: camera_availability(cams)["camera"], 5, "the camera to be picked up")
        assert camera_statuses(cams)["camera"]["state"] == "online"
        ok, words = capture_test(cams["camera"], "camera")
        assert ok and "640×480" in words
    finally:
        close_cameras(cams)


def test_a_camera_that_goes_away_marks_its_items_unavailable_until_it_returns(tmp_path: Path):
    page = write_video(tmp_path / "page.avi", FaceScene(), count=20)
    cams = open_cameras(devices(camera="sim://camera", document_camera=f"file://{page}", qr_camera="none"), None)
    try:
        assert camera_availability(cams) == {"camera": True, "document_camera": True}
        statuses = camera_statuses(cams)
        assert statuses["camera"]["state"] == "online" and statuses["camera"]["detail"]["simulated"]
        aside = page.rename(tmp_path / "unplugged.avi")
        wait_until(lambda: not camera_availability(cams)["document_camera"], 3, "the document camera marked down")
        down = camera_statuses(cams)["document_camera"]
        assert down["state"] == "no_device" and "went away" in down["last_error"]["message"]
        assert camera_availability(cams)["camera"]  # the face camera is not affected
        aside.rename(page)
        wait_until(lambda: camera_availability(cams)["document_camera"], 5, "the document camera back")
    finally:
        close_cameras(cams)


def test_a_qr_camera_is_reported_and_available_on_its_own(tmp_path: Path):
    qr = write_video(tmp_path / "qr.avi", qr_scene(progress_url("HC-DEMO-001-20261121-000007")), count=10)
    cams = open_cameras(devices(camera="none", document_camera="none", qr_camera=f"file://{qr}"), None)
    try:
        assert set(camera_statuses(cams)) == {"qr_camera"}
        assert camera_availability(cams) == {"camera": False, "document_camera": False, "qr_camera": True}
    finally:
        close_cameras(cams)


def test_auto_means_simulated_only_with_a_simulated_reader():
    simulated = devices()
    assert simulated.camera_endpoint("camera") == "sim://camera"
    real = simulated.model_copy(update={"id_reader": "/dev/ttyUSB0"})
    assert [real.camera_endpoint(n) for n in ("camera", "document_camera", "qr_camera")] == ["none"] * 3


def test_a_camera_setting_that_is_not_a_camera_is_refused():
    import pytest
    from pydantic import ValidationError

    base = load_settings(environ={}).devices.model_dump()
    with pytest.raises(ValidationError, match="not a camera"):
        DevicesSection.model_validate(base | {"camera": "tcp://10.0.0.5:9100"})


def test_a_qr_camera_unplugged_during_a_scan_ends_the_scan_with_the_camera_fault(tmp_path: Path):
    from kiosk import flow
    from kiosk.terminal.scanning import scan

    video = write_video(tmp_path / "qr.avi", FaceScene(), count=20)  # no code in view: the scan keeps looking
    cams = open_cameras(devices(camera="none", document_camera="none", qr_camera=f"file://{video}"), None)
    effect = flow.ScanQr("progress", 60.0)
    try:
        wait_until(lambda: camera_availability(cams)["qr_camera"], 5, "the QR camera up")
        done: list = []
        worker = threading.Thread(target=lambda: done.append(scan(effect, cams["qr_camera"])))
        worker.start()
        time.sleep(0.5)
        video.rename(tmp_path / "unplugged.avi")
        worker.join(15)  # well before the scan's 60 s
        assert not worker.is_alive()
        assert isinstance(done[0], flow.ScanFailed) and done[0].reason_key == "scan_camera_failed"
    finally:
        effect.cancel.set()
        close_cameras(cams)
