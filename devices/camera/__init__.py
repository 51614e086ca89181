"""Cameras: the capture adapter, face framing and capture, QR reading, document scanning, simulators.

Importing this package opens nothing and starts nothing (OpenCV is imported; cascades load only
when a :class:`FaceFramer` is built).
"""

from devices.camera.camera import Camera, CameraSourceInvalid, Frame, camera_source
from devices.camera.discovery import list_cameras
from devices.camera.document import (
    DEFAULT_MAX_BYTES,
    Material,
    PageNotFound,
    ScannedPage,
    compress,
    even_lighting,
    find_page,
    flatten,
    scan_page,
)
from devices.camera.face import (
    BlinkChallenge,
    FaceAssessment,
    FaceCapture,
    FaceFramer,
    FaceHint,
    FaceShot,
    FramingRules,
    LivenessResult,
)
from devices.camera.qr import QrRead, QrReader

__all__ = [
    "DEFAULT_MAX_BYTES", "BlinkChallenge", "Camera", "CameraSourceInvalid", "FaceAssessment", "FaceCapture",
    "FaceFramer", "FaceHint", "FaceShot", "Frame", "FramingRules", "LivenessResult", "Material",
    "PageNotFound",
    "QrRead", "QrReader", "ScannedPage", "camera_source", "compress", "even_lighting", "find_page", "flatten",
    "list_cameras", "scan_page",
]
