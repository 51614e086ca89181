"""Camera adapter on real OpenCV: generated MJPG videos play as cameras; no camera; bad files; stalls."""

from __future__ import annotations

from pathlib import Path

import pytest
from event_log import Events

from devices.base import ActionHint, DeviceNotFound, DeviceState, DeviceTimeout
from devices.camera import Camera, CameraSourceInvalid, camera_source, list_cameras
from devices.camera.simulate import FaceScene, write_video


@pytest.fixture(scope="module")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("cam") / "face.avi", FaceScene(), count=20)


def test_a_video_file_plays_as_a_camera_and_loops(face_video: Path) -> None:
    with Camera(str(face_video), stall_timeout_s=5.0) as cam:
        first = cam.wait_frame(timeout=5)
        assert first.image.shape == (480, 640, 3)
        # 20 frames in the file: a sequence number past 25 means it looped instead of stalling.
        frame = first
        while frame.seq <= 25:
            frame = cam.wait_frame(after=frame.seq, timeout=5)
        status = cam.status()
        assert status.state is DeviceState.ONLINE
        assert status.operations >= 25
        assert status.detail["fps"] > 0
        assert status.errors == 0
        # Only the latest frame is kept: asking for it again gives the same one or a newer one.
        latest = cam.latest()
        assert latest is not None and latest.seq >= frame.seq
    assert cam.latest() is None  # stopping forgets the last frame
    assert cam.status().state is DeviceState.OFFLINE


def test_endpoints_name_index_path_or_file() -> None:
    assert camera_source("camera://0") == 0
    assert camera_source("2") == 2
    assert camera_source(1) == 1
    assert camera_source("camera:///dev/video2") == "/dev/video2"
    assert camera_source("camera:///srv/scenes/face.avi") == "/srv/scenes/face.avi"
    assert camera_source("scenes/face.avi") == "scenes/face.avi"
    with pytest.raises(DeviceNotFound, match="camera://0"):
        camera_source("tcp://192.0.2.1:9100")
    with pytest.raises(DeviceNotFound):
        camera_source("  ")


def test_no_camera_is_reported_plainly() -> None:
    events = Events(10.0)
    cam = Camera("camera://9", on_event=events)
    with pytest.raises(DeviceNotFound, match="no camera 9 found") as info:
        cam.start()
    assert info.value.retryable
    assert "ID card" in str(info.value)  # the flow offers another way
    status = cam.status()
    assert status.state is DeviceState.NO_DEVICE
    assert status.last_error is not None and status.last_error.hint is ActionHint.CONFIGURATION
    assert not cam.running


def test_a_missing_file_and_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFound, match="does not exist"):
        Camera(str(tmp_path / "nowhere.avi")).open()
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n" * 50)
    cam = Camera(str(text))
    with pytest.raises(CameraSourceInvalid, match="is not a video") as info:
        cam.open()
    assert not info.value.retryable  # trying the same file again cannot help
    assert cam.status().state is DeviceState.NO_DEVICE


def test_a_camera_that_stops_delivering_is_reported_then_recovers(face_video: Path) -> None:
    # Without looping the file ends: the camera stops delivering frames, exactly like a stalled
    # device. The capture thread declares the stall, drops the handle and reopens it, and frames
    # flow again from the start of the file.
    events = Events(10.0)
    cam = Camera(str(face_video), loop=False, stall_timeout_s=0.5, on_event=events)
    cam.start()
    try:
        events.wait_for(lambda: "frames_stalled" in events.kinds())
        events.wait_for(lambda: "frames_recovered" in events.kinds())
        assert events.kinds().index("frames_stalled") < events.kinds().index("frames_recovered")
        states = [e.payload for e in events.items if e.kind == "state_changed"]
        assert DeviceState.OFFLINE in states and states[-1] is DeviceState.ONLINE
        status = cam.status()
        assert status.last_error is not None
        assert "delivered no frame for 0.5 s" in status.last_error.message
        assert status.last_error.hint is ActionHint.RESET
    finally:
        cam.close()


def test_a_camera_that_goes_away_stays_reported_until_it_returns(tmp_path: Path) -> None:
    path = write_video(tmp_path / "short.avi", FaceScene(), count=5)
    events = Events(10.0)
    cam = Camera(str(path), loop=False, stall_timeout_s=0.3, on_event=events)
    cam.start()
    try:
        cam.wait_frame(timeout=5)
        path.unlink()  # the "camera" is unplugged: its node vanishes, reopening fails
        events.wait_for(lambda: any(e.payload is DeviceState.NO_DEVICE for e in events.items))
        assert "camera_gone" in events.kinds()
        status = cam.status()
        assert status.last_error is not None and "went away" in status.last_error.message
        with pytest.raises(DeviceTimeout, match="no new frame"):
            latest = cam.latest()
            cam.wait_frame(after=latest.seq if latest else 0, timeout=0.5)
        write_video(path, FaceScene(), count=5)  # plugged back in
        events.wait_for(lambda: "frames_recovered" in events.kinds())
        assert cam.status().state is DeviceState.ONLINE
    finally:
        cam.close()
    assert not cam.running


def test_a_looping_camera_unplugged_and_replugged_is_reported_both_ways(face_video: Path, tmp_path: Path) -> None:
    # A looping file keeps playing from its open handle after it is deleted, as a driver keeps a node's
    # last buffers: the camera must notice the node itself is gone, not wait for frames to stop.
    path = tmp_path / "cam.avi"
    path.write_bytes(face_video.read_bytes())
    events = Events(10.0)
    cam = Camera(str(path), stall_timeout_s=5.0, on_event=events)
    cam.start()
    try:
        cam.wait_frame(timeout=5)
        aside = path.rename(tmp_path / "unplugged.avi")
        events.wait_for(lambda: cam.status().state is DeviceState.NO_DEVICE, timeout=3)
        down = cam.status()
        assert down.last_error is not None and "went away" in down.last_error.message
        assert down.last_error.hint is ActionHint.MAINTENANCE
        assert cam.latest() is None  # a frame from before the unplug is never handed out as current
        aside.rename(path)
        events.wait_for(lambda: cam.status().state is DeviceState.ONLINE, timeout=5)
        assert cam.wait_frame(timeout=5).image.shape == (480, 640, 3)
        assert events.kinds().count("camera_gone") == 1 and "frames_recovered" in events.kinds()
    finally:
        cam.close()


def test_a_camera_absent_at_start_is_watched_for_and_picked_up(face_video: Path, tmp_path: Path) -> None:
    path = tmp_path / "later.avi"
    events = Events(10.0)
    cam = Camera(str(path), on_event=events)
    cam.watch()  # never raises for an absent camera
    try:
        assert cam.running
        status = cam.status()
        assert status.state is DeviceState.NO_DEVICE
        assert status.last_error is not None and "does not exist" in status.last_error.message
        with pytest.raises(DeviceTimeout):
            cam.wait_frame(timeout=1.5)  # it keeps trying meanwhile...
        assert cam.status().errors == 1  # ...and says so once, not once per try
        path.write_bytes(face_video.read_bytes())  # plugged in
        frame = cam.wait_frame(timeout=5)
        assert frame.image.shape == (480, 640, 3)
        assert cam.status().state is DeviceState.ONLINE
    finally:
        cam.close()
    assert not cam.running


def test_an_index_camera_with_no_device_node_is_watched_without_raising() -> None:
    cam = Camera("camera://63")
    cam.watch()
    try:
        status = cam.status()
        assert status.state is DeviceState.NO_DEVICE
        assert status.last_error is not None and "no camera 63 found" in status.last_error.message
    finally:
        cam.close()


def test_listing_cameras_never_crashes() -> None:
    assert list_cameras("/nonexistent/video*") == []
    entries = list_cameras("/dev/null")  # exists but is not a V4L2 device
    assert len(entries) == 1
    assert entries[0]["ok"] is False and entries[0]["problem"]
    for entry in list_cameras():
        assert {"uri", "path", "ok", "problem"} <= set(entry)
