"""The terminal's cameras from their endpoints: real ones through OpenCV (devices/camera), simulated
scenes for ``sim://``, none for ``none``; the endpoint registry (:mod:`devices.endpoints`) decides which.

Whatever the source, the effect runner sees the same small interface
(:class:`~devices.camera.camera.FrameSource`): ``read()`` → the next frame (a BGR image) or None,
``fps`` and ``close()``. A camera that is not there at start-up does not stop the kiosk: a real one
is watched for (:meth:`devices.camera.camera.Camera.watch`) and used as soon as it appears, and one
that goes away is picked up again when it returns. Meanwhile its status says ``no_device`` and why,
and :func:`camera_availability` marks the items that need it unavailable (the flow's availability).

Every configured camera is in :func:`camera_statuses` (the heartbeat → gateway → console, metrics
and alerts) under its settings name: ``camera`` (face), ``document_camera``, ``qr_camera``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devices.base import DeviceError, DeviceEvent, DeviceState, DeviceStatus, LastError
from devices.endpoints import open_camera
from kiosk.settings import DevicesSection
from kiosk.terminal.scanning import SimulatedApp

if TYPE_CHECKING:
    from devices.camera.camera import FrameSource

log = logging.getLogger(__name__)

CAMERAS = ("camera", "document_camera", "qr_camera")
NAMES = {"camera": "人像摄像头 / face camera", "document_camera": "高拍仪 / document camera",
         "qr_camera": "二维码摄像头 / QR camera"}
#: How long a technician's capture test waits for a frame.
TEST_TIMEOUT_S = 3.0
_UP = (DeviceState.ONLINE.value, DeviceState.BUSY.value)


class UnopenedCamera:
    """Stands in for a configured camera whose endpoint could not be opened at all: it gives no
    frames and its status says why, so the camera is still reported (and its items marked)."""

    fps = 0.0

    def __init__(self, name: str, error: DeviceError) -> None:
        self.name = name
        self.error = error
        self._at = time.time()

    def read(self) -> None:
        return None

    def status(self) -> DeviceStatus:
        return DeviceStatus(self.name, DeviceState.NO_DEVICE, errors=1,
                            last_error=LastError(str(self.error), self.error.hint, self._at))

    def close(self) -> None:
        """Nothing to release."""


def open_cameras(dev: DevicesSection, on_event: Callable[[DeviceEvent], None] | None) -> dict[str, FrameSource]:
    """Every configured camera by name (``camera``, ``document_camera``, ``qr_camera``): present or
    not, each is in the answer (an absent real camera is watched for)."""
    # The resident's phone, held up to a simulated QR camera; a real camera never sees it.
    phone = SimulatedApp()
    cameras: dict[str, FrameSource] = {}
    for name in CAMERAS:
        uri = dev.camera_endpoint(name)
        if uri == "none":
            continue
        try:
            cameras[name] = open_camera(uri, name, on_event, app=phone)
        except DeviceError as exc:
            log.warning("%s %s cannot be opened (%s): items that need it offer their other ways; check it in "
                        "maintenance mode", name, uri, exc)
            cameras[name] = UnopenedCamera(name, exc)
    return cameras


def camera_status(name: str, camera: Any) -> dict[str, Any]:
    """One camera's status as ``DeviceStatus.to_dict()``: a real camera's own, a simulated one online."""
    if hasattr(camera, "status"):
        status: dict[str, Any] = camera.status().to_dict()
        return status
    return DeviceStatus(name, DeviceState.ONLINE, detail={"simulated": True}).to_dict()


def camera_statuses(cameras: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every configured camera's status by name (no personal data: states, counters, reasons)."""
    return {name: camera_status(name, camera) for name, camera in cameras.items()}


def camera_up(camera: Any) -> bool:
    """Whether a camera gives frames now (no I/O): a simulated one always does."""
    if camera is None:
        return False
    if not hasattr(camera, "status"):
        return True
    return str(camera.status().state.value) in _UP


def camera_availability(cameras: dict[str, Any]) -> dict[str, bool]:
    """What the flow may offer: ``camera`` (face check) and ``document_camera`` (document scan), and
    ``qr_camera`` when the terminal has one (else the flow scans QR codes with the document camera)."""
    out = {name: camera_up(cameras.get(name)) for name in ("camera", "document_camera")}
    if "qr_camera" in cameras:
        out["qr_camera"] = camera_up(cameras["qr_camera"])
    return out


def capture_test(camera: Any, name: str, timeout_s: float = TEST_TIMEOUT_S) -> tuple[bool, str]:
    """A technician's test: capture one new frame from the camera and say its size, or why none came."""
    label = NAMES.get(name, name)
    if camera is None:
        return False, f"未配置 / {label}: not configured on this kiosk (devices.{name} = none)"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            frame = camera.read()  # a real camera waits up to a second for a new frame
            live = hasattr(camera, "status") and not isinstance(camera, UnopenedCamera)
            if frame is not None or not live or time.monotonic() >= deadline:
                break
    except Exception as exc:  # noqa: BLE001  OpenCV and drivers raise their own types; a test reports, never crashes
        return False, f"摄像头无画面 / {label} gave no picture: {type(exc).__name__}: {exc}"
    if frame is None:
        why = "check its cable and power"
        if hasattr(camera, "status"):
            status = camera.status()
            if status.last_error is not None and status.state.value not in _UP:
                why = status.last_error.message
            elif status.state.value not in _UP:
                why = f"it is {status.state.value}"
        return False, f"摄像头无画面 / {label} gave no picture within {timeout_s:g} s: {why}"
    height, width = frame.shape[:2]
    fps = getattr(camera, "fps", 0.0) or 0.0
    rate = f", {fps:.0f} fps" if fps else ""
    return True, f"摄像头正常 / {label} gives pictures ({width}×{height}{rate})"


def reopen_camera(cameras: dict[str, Any], name: str, dev: DevicesSection,
                  on_event: Callable[[DeviceEvent], None] | None) -> tuple[bool, str]:
    """A technician's reset: close camera ``name`` and open it again from ``dev`` (in place in
    ``cameras``, the dict the effect runner reads). Never raises: the outcome says what happened."""
    label = NAMES.get(name, name)
    uri = dev.camera_endpoint(name)
    old = cameras.pop(name, None)
    if old is not None:
        try:
            old.close()
        except Exception:
            log.exception("error while closing %s", name)
    if uri == "none":
        return False, f"{label}: not configured on this kiosk (devices.{name} = none)"
    try:
        camera: Any = open_camera(uri, name, on_event, app=SimulatedApp())
    except DeviceError as exc:
        camera = UnopenedCamera(name, exc)
    cameras[name] = camera
    if camera_up(camera):
        return True, f"已重新连接 / {label} reopened from the current settings"
    reason = camera.status().last_error.message if hasattr(camera, "status") and camera.status().last_error else ""
    return False, (f"重新连接失败 / {label} is not there: {reason or 'check its cable'}; it is picked up as soon as "
                   "it appears")


def close_cameras(cameras: dict[str, FrameSource]) -> None:
    """Stop the real cameras' capture threads (simulated ones have none)."""
    for camera in cameras.values():
        try:
            camera.close()
        except Exception:  # closing must go on for the others
            log.exception("error while closing a camera")


__all__ = ["CAMERAS", "NAMES", "UnopenedCamera", "camera_availability", "camera_status", "camera_statuses",
           "camera_up", "capture_test", "close_cameras", "open_cameras", "reopen_camera"]
