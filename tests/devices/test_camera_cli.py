"""``kiosk devices camera-test`` on generated videos and on a machine without a camera."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from devices.camera.simulate import FaceScene, qr_scene, write_video
from kiosk.cli import main
from kiosk.qrcodes import progress_url

RECEIPT = "HC-DEMO-001-20261121-000042"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    return {
        "face": write_video(folder / "face.avi", FaceScene(), count=15),
        "qr": write_video(folder / "qr.avi", qr_scene(progress_url(RECEIPT)), count=15),
    }


def test_camera_test_reports_face_hint_and_writes_nothing_unasked(
        scenes: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["devices", "camera-test", "--camera", str(scenes["face"]), "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert "online" in out and "fps delivered" in out
    assert "face hint: ok" in out
    assert "QR: none seen" in out
    assert list(tmp_path.iterdir()) == []  # frames stay in memory


def test_camera_test_reads_a_qr_and_writes_the_annotated_frame_when_asked(
        scenes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_png = tmp_path / "frame.png"
    assert main(["devices", "camera-test", "--camera", f"camera://{scenes['qr']}", "--seconds", "1.5",
                 "--out", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert f"QR: progress lookup for receipt {RECEIPT}" in out
    image = cv2.imread(str(out_png))
    assert image is not None and image.shape == (480, 640, 3)


def test_camera_test_without_a_camera_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["devices", "camera-test", "--camera", "camera://7", "--seconds", "0.5"]) == 1
    assert "no camera 7 found" in capsys.readouterr().out
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"\x00\x01not a video" * 100)
    assert main(["devices", "camera-test", "--camera", str(junk), "--out", str(tmp_path / "x.png")]) == 1
    assert "is not a video" in capsys.readouterr().out
    assert not (tmp_path / "x.png").exists()


def test_camera_test_without_camera_uses_the_configured_face_camera(
        scenes: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIOSK_DEVICES__CAMERA", f"file://{scenes['qr']}")  # devices.camera in the settings
    assert main(["devices", "camera-test", "--seconds", "1.5"]) == 0
    out = capsys.readouterr().out
    assert f"camera file://{scenes['qr']}" in out and RECEIPT in out


def test_camera_test_with_a_simulated_face_camera_tries_the_first_real_one(
        capsys: pytest.CaptureFixture[str]) -> None:
    # The packaged settings say camera = "auto" (simulated here): the technician's test needs a real one.
    assert main(["devices", "camera-test", "--seconds", "0.5"]) in (0, 1)
    assert capsys.readouterr().out.startswith("camera camera://0")
