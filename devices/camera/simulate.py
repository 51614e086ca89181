"""Synthetic camera scenes and the test videos made from them (MJPG ``.avi`` via ``cv2.VideoWriter``).

Every scene is drawn with OpenCV primitives, so nothing here needs a photo of a real person. The
drawn face (skin-toned oval, hair, brows, eyes with pupils, nose shadow, mouth) is detected by
OpenCV's stock ``haarcascade_frontalface_default.xml`` at every size and position the scenes use,
and its open eyes by ``haarcascade_eye.xml``; tests/devices/test_camera_face.py checks that on the
written-and-decoded videos, so a change here that breaks detection fails a test rather than hiding.

Scenes move a little from frame to frame (sway, sensor noise) so they behave like a live camera,
not a still image. Files are written only into the folder the caller names.

``sim://`` cameras (:func:`open_simulated_camera`, the registry's handler in
:mod:`devices.endpoints`) read these scenes on demand: a face that blinks, a page on the desk, and
whatever code an app (the resident's phone, :class:`CodeSource`) holds up to the QR camera.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import segno

from devices.base import EventCallback
from kiosk.endpoints import Endpoint
from kiosk.qrcodes import progress_url

WIDTH, HEIGHT = 640, 480
FPS = 25.0

Frame = np.ndarray
Scene = Callable[[int], Frame]


NOISE_PATTERNS = 4


@functools.lru_cache(maxsize=4)
def _noise_pattern(shape: tuple[int, ...], sigma: float) -> np.ndarray:
    # int8 (±4 σ fits), one byte a sample, and NOISE_PATTERNS - 1 rows taller than a frame: frame i takes
    # the rows from i % NOISE_PATTERNS on, so each pixel's noise differs from frame to frame while the
    # app keeps one 0.9 MB pattern a scene for as long as a simulated camera runs, not four (P9).
    tall = (shape[0] + NOISE_PATTERNS - 1, *shape[1:])
    noise = np.random.default_rng(1000).normal(0.0, sigma, tall).round()
    return np.clip(noise, -127, 127).astype(np.int8)


def _noise(img: Frame, i: int, sigma: float = 3.0) -> Frame:
    """Sensor noise; a few patterns in turn are as good as fresh noise for detectors, and far cheaper."""
    k = i % NOISE_PATTERNS
    return cv2.add(img, _noise_pattern(img.shape, sigma)[k:k + img.shape[0]], dtype=cv2.CV_8U)


def _room(width: int = WIDTH, height: int = HEIGHT) -> Frame:
    """A plain service-hall background: wall, a door frame, a poster."""
    img = np.full((height, width, 3), (180, 170, 160), np.uint8)
    cv2.rectangle(img, (20, 40), (110, height), (140, 130, 120), -1)
    cv2.rectangle(img, (width - 130, 60), (width - 40, 170), (90, 120, 170), -1)
    cv2.rectangle(img, (0, height - 40), (width, height), (120, 110, 100), -1)
    return img


def draw_face(img: Frame, cx: int, cy: int, width: int, *, eyes_open: bool = True) -> None:
    """Draw a frontal face whose oval is ``width`` pixels wide, centred at (cx, cy)."""
    h = int(width * 1.3)
    skin = (150, 180, 220)
    hair = (width // 2 + width // 12, h // 2 + h // 12)
    cv2.ellipse(img, (cx, cy - h // 8), hair, 0, 180, 360, (30, 30, 40), -1)
    cv2.ellipse(img, (cx, cy), (width // 2, h // 2), 0, 0, 360, skin, -1)
    ey, ex = cy - h // 8, width // 5
    ew, eh = width // 9, max(2, width // 18)
    for s in (-1, 1):
        cv2.ellipse(img, (cx + s * ex, ey - eh * 2 - 2), (ew + 3, max(2, eh // 2)), 0, 180, 360,
                    (40, 40, 50), max(2, width // 40))
        if eyes_open:
            cv2.ellipse(img, (cx + s * ex, ey), (ew, eh), 0, 0, 360, (245, 245, 245), -1)
            cv2.circle(img, (cx + s * ex, ey), eh, (40, 30, 20), -1)
        else:  # a closed lid: a skin-dark line where the eye was
            cv2.line(img, (cx + s * ex - ew, ey), (cx + s * ex + ew, ey), (100, 125, 165),
                     max(2, width // 60))
    cv2.line(img, (cx, ey + eh), (cx - width // 30, cy + h // 10), (120, 150, 190), max(2, width // 40))
    cv2.ellipse(img, (cx, cy + h // 10), (width // 14, width // 30), 0, 0, 180, (110, 140, 180), -1)
    cv2.ellipse(img, (cx, cy + h // 4), (width // 6, max(2, width // 20)), 0, 0, 360, (90, 90, 170), -1)


@dataclass(frozen=True)
class FaceScene:
    """One or more faces in the hall. ``faces`` holds (cx, cy, width) in a 640×480 frame.

    ``blink_every`` > 0 closes the eyes for ``blink_frames`` frames out of every ``blink_every``;
    ``brightness`` scales the whole frame (0.2 is a dim hall at night).
    """

    faces: tuple[tuple[int, int, int], ...] = ((320, 240, 200),)
    blink_every: int = 0
    blink_frames: int = 4
    brightness: float = 1.0
    sway_px: int = 4

    def __call__(self, i: int) -> Frame:
        img: np.ndarray = _room()
        dx = round(self.sway_px * math.sin(i / 6))
        closed = self.blink_every > 0 and (i % self.blink_every) >= self.blink_every - self.blink_frames
        for cx, cy, w in self.faces:
            draw_face(img, cx + dx, cy, w, eyes_open=not closed)
        img = cv2.GaussianBlur(img, (5, 5), 0)
        if self.brightness != 1.0:
            img = cv2.convertScaleAbs(img, alpha=self.brightness)
        return _noise(img, i)


def qr_scene(text: str, *, module_px: int = 6, tilt_deg: float = 8.0) -> Scene:
    """A phone held up to the camera showing ``text`` as a QR code (segno ``make_qr``, never Micro QR)."""
    matrix = np.array(segno.make_qr(text, error="m").matrix, dtype=np.uint8)
    code: np.ndarray = np.where(matrix > 0, 0, 255).astype(np.uint8)
    code = np.pad(code, 4, constant_values=255)  # the quiet zone a reader needs
    code = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    side = code.shape[0]
    phone = np.full((side + 120, side + 40, 3), (30, 30, 30), np.uint8)
    phone[60:60 + side, 20:20 + side] = cv2.cvtColor(code, cv2.COLOR_GRAY2BGR)

    def frame(i: int) -> Frame:
        img = _room()
        angle = tilt_deg * math.sin(i / 8)
        ph, pw = phone.shape[:2]
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
        m[0, 2] += WIDTH / 2 - pw / 2 + 6 * math.sin(i / 5)
        m[1, 2] += HEIGHT / 2 - ph / 2
        cv2.warpAffine(phone, m, (WIDTH, HEIGHT), dst=img, borderMode=cv2.BORDER_TRANSPARENT)
        return _noise(img, i)

    return frame


# The A4 page of the document scene as the 高拍仪 sees it from above: turned 6° and with a slight
# keystone (the top edge 20 px shorter), corners clockwise from the page's top-left. A black square
# marks the page's top-left corner so tests can check that the scan comes out upright.
PAGE_CORNERS = ((211, 29), (470, 57), (439, 452), (160, 422))
PAGE_SIZE = (420, 594)  # the flat page as drawn, width × height (A4 proportions, 1 : 1.414)


def page_image() -> Frame:
    """The flat page: a title, lines of 'text', a table, and the orientation mark at top-left."""
    w, h = PAGE_SIZE
    page = np.full((h, w, 3), 250, np.uint8)
    cv2.rectangle(page, (24, 24), (64, 64), (0, 0, 0), -1)
    cv2.rectangle(page, (110, 30), (w - 110, 52), (60, 60, 60), -1)
    for k, y in enumerate(range(100, 330, 22)):
        cv2.line(page, (40, y), (w - 40 - (k % 3) * 40, y), (90, 90, 90), 4)
    cv2.rectangle(page, (40, 360), (w - 40, 520), (70, 70, 70), 2)
    for y in (400, 440, 480):
        cv2.line(page, (40, y), (w - 40, y), (70, 70, 70), 2)
    cv2.line(page, (180, 360), (180, 520), (70, 70, 70), 2)
    return page


def document_scene(*, with_page: bool = True, shading: float = 0.45) -> Scene:
    """A page on a dark wooden desk seen from the document camera at an angle, lit unevenly.

    ``shading`` is how much darker the far corner is than the lamp side; ``with_page=False`` gives
    the bare desk (for "no page found").
    """
    desk = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    desk[:] = (40, 70, 110)
    rng = np.random.default_rng(7)
    for y in range(0, HEIGHT, 6):  # wood grain
        shade = int(rng.integers(-12, 12))
        tilt = int(rng.integers(-4, 4))
        cv2.line(desk, (0, y), (WIDTH, y + tilt), (40 + shade, 70 + shade, 110 + shade), 2)
    if with_page:
        w, h = PAGE_SIZE
        src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
        m = cv2.getPerspectiveTransform(src, np.array(PAGE_CORNERS, np.float32))
        warped = cv2.warpPerspective(page_image(), m, (WIDTH, HEIGHT))
        mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (WIDTH, HEIGHT))
        desk[mask > 127] = warped[mask > 127]
    xs = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    ys = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
    light = 1.0 - shading * (0.6 * xs + 0.4 * ys)
    lit = np.clip(desk.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)

    def frame(i: int) -> Frame:
        return _noise(lit, i, sigma=2.0)

    return frame


def frames(scene: Scene, count: int) -> Iterator[Frame]:
    """``count`` frames of ``scene``."""
    for i in range(count):
        yield scene(i)


def write_video(path: str | Path, scene: Scene, count: int = 50, fps: float = FPS) -> Path:
    """Write ``count`` frames of ``scene`` to ``path`` as MJPG in an AVI container; returns the path."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}: OpenCV's MJPG writer refused it")
    try:
        for img in frames(scene, count):
            writer.write(img)
    finally:
        writer.release()
    return path


def write_all(folder: str | Path, count: int = 50) -> dict[str, Path]:
    """Write every standard scene into ``folder`` and return {scene name: path}.

    face (with a blink every 20 frames), face_still (no blink), no_face, two_faces, face_far,
    face_close, face_off_centre, face_dark, qr_progress, document, desk (no page).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scenes: dict[str, Scene] = {
        "face": FaceScene(blink_every=20),
        "face_still": FaceScene(),
        "no_face": FaceScene(faces=()),
        "two_faces": FaceScene(faces=((190, 240, 170), (450, 240, 170))),
        "face_far": FaceScene(faces=((320, 240, 100),)),
        "face_close": FaceScene(faces=((320, 250, 320),)),
        "face_off_centre": FaceScene(faces=((170, 230, 180),)),
        "face_dark": FaceScene(brightness=0.2),
        "qr_progress": qr_scene(progress_url("HC-DEMO-001-20261121-000001")),
        "document": document_scene(),
        "desk": document_scene(with_page=False),
    }
    return {name: write_video(folder / f"{name}.avi", scene, count) for name, scene in scenes.items()}


# -- sim:// cameras ------------------------------------------------------------------------------

class SceneCamera:
    """A simulated camera: frames drawn by a scene, read on demand.

    No thread: the effect runner pulls frames when it needs them, and ``fps`` gives the virtual time
    between frames so the blink challenge sees a steady stream.
    """

    fps = FPS

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self._i = 0

    def read(self) -> Frame:
        self._i += 1
        return self.scene(self._i)

    def close(self) -> None:
        """Nothing to release."""


class CodeSource(Protocol):
    """What holds codes up to a simulated QR camera: the resident's phone in the kiosk's simulator."""

    @property
    def signin_key(self) -> Any: ...
    def use_platform(self, url: str) -> None: ...
    def next_code(self, purpose: str, last_receipt: bytes = b"") -> str: ...


def empty_scene(i: int) -> Frame:
    """Nothing held up: a grey frame."""
    return np.full((HEIGHT, WIDTH, 3), 200, np.uint8)


class CodeCamera:
    """A simulated QR camera: each scan draws what ``app`` holds up (:func:`qr_scene`), read on
    demand like the other simulated cameras. Without an app nothing is held up."""

    fps = FPS

    def __init__(self, app: CodeSource | None = None) -> None:
        self.app = app
        self._scene: Scene | None = None
        self._i = 0
        self.shown = ""  # the last code shown (tests read it; the scanner never logs it)

    @property
    def signin_key(self) -> Any:
        """The key the app's codes are signed with (None without an app)."""
        return self.app.signin_key if self.app is not None else None

    def use_platform(self, url: str) -> None:
        """Let the app get its codes from the platform simulator at ``url`` ("" for none)."""
        if self.app is not None:
            self.app.use_platform(url)

    def present(self, purpose: str, last_receipt: bytes = b"") -> None:
        """Called at the start of each scan: decide what is held up to the camera."""
        self.shown = self.app.next_code(purpose, last_receipt) if self.app is not None else ""
        self._scene = qr_scene(self.shown, module_px=5) if self.shown else empty_scene
        self._i = 0

    def read(self) -> Frame:
        """The next frame of what is held up."""
        self._i += 1
        return (self._scene or empty_scene)(self._i)

    def close(self) -> None:
        """Nothing to release."""


def open_simulated_camera(endpoint: Endpoint, *, name: str, on_event: EventCallback | None = None,
                          app: CodeSource | None = None) -> SceneCamera | CodeCamera:
    """The registry's ``sim://`` camera handler, by the camera's role: ``camera`` a face that blinks
    every 20 frames, ``document_camera`` a page on a desk, ``qr_camera`` what ``app`` holds up."""
    if name == "qr_camera":
        return CodeCamera(app)
    if name == "document_camera":
        return SceneCamera(document_scene())
    return SceneCamera(FaceScene(blink_every=20))
