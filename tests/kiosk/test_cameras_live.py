"""Real cameras from the settings (kiosk/terminal/cameras.py): OpenCV capture threads reading video files (the
same VideoCapture path a USB camera takes), a face captured and its blink seen, a QR code read; a
camera that cannot be opened leaves the kiosk running without it; ``auto`` never gives a real
terminal a simulated face."""

from __future__ import annotations

import threading
from pathlib import Path

from devices.camera.camera import LiveCamera
from devices.camera.simulate import FaceScene, qr_scene, write_video
from kiosk.qrcodes import progress_url
from kiosk.settings import DevicesSection, load_settings
from kiosk.terminal.cameras import close_cameras, open_cameras
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


def test_a_camera_that_cannot_be_opened_is_left_out_not_fatal(tmp_path: Path, caplog):
    cams = open_cameras(devices(camera=f"file://{tmp_path / 'missing.avi'}", document_camera="none",
                                qr_camera="none"), None)
    assert cams == {}
    assert any("camera" in r.getMessage() and "other ways" in r.getMessage() for r in caplog.records)


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
