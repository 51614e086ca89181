"""The terminal's cameras from their endpoints: real ones through OpenCV (devices/camera), simulated
scenes for ``sim://``, none for ``none``.

Whatever the source, the effect runner sees the same small interface: ``read()`` → the next frame
(a BGR image) or None, and ``fps``. A camera that cannot be opened at start-up does not stop the
kiosk: it is left out, and the items that need it offer their other ways (the flow's availability).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from devices.base import DeviceError, DeviceEvent
from kiosk.settings import DevicesSection

log = logging.getLogger(__name__)

CAMERAS = ("camera", "document_camera", "qr_camera")
READ_TIMEOUT_S = 1.0


class LiveCamera:
    """A real camera (its own capture thread in :class:`devices.camera.Camera`) read frame by frame."""

    def __init__(self, camera: Any) -> None:
        self.camera = camera
        self._seq = 0

    @property
    def fps(self) -> float:
        return self.camera.fps or 25.0

    def read(self) -> Any:
        """The next new frame, or None when none came within a second (the caller tries again or gives up)."""
        try:
            frame = self.camera.wait_frame(after=self._seq, timeout=READ_TIMEOUT_S)
        except DeviceError:
            return None
        self._seq = frame.seq
        return frame.image

    def status(self) -> Any:
        return self.camera.status()

    def close(self) -> None:
        self.camera.close()


def open_cameras(dev: DevicesSection, on_event: Callable[[DeviceEvent], None] | None) -> dict[str, Any]:
    """Every configured camera by name (``camera``, ``document_camera``, ``qr_camera``)."""
    from kiosk.terminal.hardware import simulated_cameras

    cameras: dict[str, Any] = {}
    simulated: dict[str, Any] | None = None
    for name in CAMERAS:
        uri = dev.camera_endpoint(name)
        if uri == "none":
            continue
        if uri.startswith("sim://"):
            simulated = simulated if simulated is not None else simulated_cameras()
            cameras[name] = simulated[name]
            continue
        live = _open_live(name, uri, on_event)
        if live is not None:
            cameras[name] = live
    return cameras


def _open_live(name: str, uri: str, on_event: Callable[[DeviceEvent], None] | None) -> LiveCamera | None:
    from devices.camera import Camera

    camera = Camera(uri, name=name, on_event=on_event)
    try:
        camera.start()
    except DeviceError as exc:
        log.warning("%s %s cannot be opened (%s): items that need it offer their other ways; check it in "
                    "maintenance mode", name, uri, exc)
        camera.close()
        return None
    return LiveCamera(camera)


def close_cameras(cameras: dict[str, Any]) -> None:
    """Stop the real cameras' capture threads (simulated ones have none)."""
    for camera in cameras.values():
        if isinstance(camera, LiveCamera):
            try:
                camera.close()
            except Exception:  # closing must go on for the others
                log.exception("error while closing a camera")
