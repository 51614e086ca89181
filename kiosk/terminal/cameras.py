"""The terminal's cameras from their endpoints: real ones through OpenCV (devices/camera), simulated
scenes for ``sim://``, none for ``none``; the endpoint registry (:mod:`devices.endpoints`) decides which.

Whatever the source, the effect runner sees the same small interface
(:class:`~devices.camera.camera.FrameSource`): ``read()`` → the next frame (a BGR image) or None,
``fps`` and ``close()``. A camera that cannot be opened at start-up does not stop the kiosk: it is
left out, and the items that need it offer their other ways (the flow's availability).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from devices.base import DeviceError, DeviceEvent
from devices.endpoints import open_camera
from kiosk.settings import DevicesSection
from kiosk.terminal.scanning import SimulatedApp

if TYPE_CHECKING:
    from devices.camera.camera import FrameSource

log = logging.getLogger(__name__)

CAMERAS = ("camera", "document_camera", "qr_camera")


def open_cameras(dev: DevicesSection, on_event: Callable[[DeviceEvent], None] | None) -> dict[str, FrameSource]:
    """Every configured camera by name (``camera``, ``document_camera``, ``qr_camera``)."""
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
    return cameras


def close_cameras(cameras: dict[str, FrameSource]) -> None:
    """Stop the real cameras' capture threads (simulated ones have none)."""
    for camera in cameras.values():
        try:
            camera.close()
        except Exception:  # closing must go on for the others
            log.exception("error while closing a camera")
