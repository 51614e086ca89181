"""Face presence and framing hints, a liveness *baseline*, and the best frame as JPEG.

The face check itself (人证比对: is this the card holder?) is the platform's, through the gateway.
This module never decides who someone is: it helps the resident stand right, picks one good frame,
encodes it as JPEG for the caller to submit, and forgets it.

Detection is OpenCV's stock Haar frontal-face cascade on a grey frame downscaled to 256 px wide,
which keeps a 640×480 frame well inside the P8 budget (≥ 20 fps on one core); YuNet would be more
accurate but needs an ONNX model no wheel ships (DEVICES.md §4).

Liveness here is a BASELINE, not anti-spoofing: :class:`BlinkChallenge` passes when the eye
cascade sees open eyes, then none on a still-present face, then open eyes again, within a short
window. A replayed video of a blink passes it; a printed photo does not. Certified 活体检测 belongs
to the national identity platform or a vendor SDK; results say ``baseline=True`` so no caller
mistakes this for that.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

_DETECT_WIDTH = 256  # frames are downscaled to this width before detection (speed; faces stay ≥ 30 px)


class FaceHint(str, enum.Enum):
    """What the resident should do, in the order the hints are checked."""

    TOO_DARK = "too_dark"
    NO_FACE = "no_face"
    MORE_THAN_ONE_FACE = "more_than_one_face"
    TOO_FAR = "too_far"
    TOO_CLOSE = "too_close"
    OFF_CENTRE = "off_centre"
    OK = "ok"


@dataclass(frozen=True)
class FramingRules:
    """Thresholds of the framing hints, as fractions of the frame (documented so staff can tune them)."""

    min_brightness: float = 50.0
    """Mean grey level (0–255) of the frame below which the hall is too dark to see a face."""
    min_face_width: float = 0.25
    """A face narrower than this fraction of the frame width is too far away."""
    max_face_width: float = 0.55
    """A face wider than this fraction of the frame width is too close."""
    max_offset_x: float = 0.12
    """The face centre may sit this fraction of the frame width left or right of the centre."""
    max_offset_y: float = 0.15
    """… and this fraction of the frame height above or below it."""


@dataclass(frozen=True)
class FaceAssessment:
    """One frame's verdict: the hint, the face boxes (x, y, w, h in frame pixels) and brightness."""

    hint: FaceHint
    faces: tuple[tuple[int, int, int, int], ...]
    brightness: float

    @property
    def face(self) -> tuple[int, int, int, int] | None:
        """The largest face, if any."""
        return max(self.faces, key=lambda b: b[2] * b[3]) if self.faces else None


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + name  # type: ignore[attr-defined]  # cv2's stubs miss cv2.data
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV cascade {path} could not be loaded: reinstall opencv-python-headless 4.x "
                           "(5.x no longer ships Haar cascades)")
    return cascade


class FaceFramer:
    """Assesses frames for face presence and framing. Loads its cascades when constructed."""

    def __init__(self, rules: FramingRules | None = None) -> None:
        self.rules = rules or FramingRules()
        self._faces = _cascade("haarcascade_frontalface_default.xml")
        self._eyes = _cascade("haarcascade_eye.xml")

    def assess(self, frame: np.ndarray) -> FaceAssessment:
        """The framing hint for one BGR (or grey) frame."""
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape
        scale = min(1.0, _DETECT_WIDTH / w)
        small = grey if scale >= 1 else cv2.resize(grey, None, fx=scale, fy=scale,
                                                   interpolation=cv2.INTER_AREA)
        brightness = float(small.mean())
        if brightness < self.rules.min_brightness:
            return FaceAssessment(FaceHint.TOO_DARK, (), brightness)
        # Equalising first lets dim-but-usable frames still show a face.
        # scaleFactor 1.2 / minNeighbors 4 measured about twice as fast as 1.1 / 5 with the same
        # detections on the simulator scenes (bench/bench_camera.py keeps the P8 figure honest).
        found = self._faces.detectMultiScale(cv2.equalizeHist(small), scaleFactor=1.2, minNeighbors=4,
                                             minSize=(30, 30))
        faces = tuple((int(x / scale), int(y / scale), int(fw / scale), int(fh / scale))
                      for x, y, fw, fh in found)
        return FaceAssessment(self._hint(faces, w, h), faces, brightness)

    def _hint(self, faces: tuple[tuple[int, int, int, int], ...], w: int, h: int) -> FaceHint:
        r = self.rules
        if not faces:
            return FaceHint.NO_FACE
        if len(faces) > 1:
            return FaceHint.MORE_THAN_ONE_FACE
        x, y, fw, fh = faces[0]
        if fw < r.min_face_width * w:
            return FaceHint.TOO_FAR
        if fw > r.max_face_width * w:
            return FaceHint.TOO_CLOSE
        if abs(x + fw / 2 - w / 2) > r.max_offset_x * w or abs(y + fh / 2 - h / 2) > r.max_offset_y * h:
            return FaceHint.OFF_CENTRE
        return FaceHint.OK

    def eyes_open(self, frame: np.ndarray, face: tuple[int, int, int, int]) -> bool:
        """True when the eye cascade finds at least one open eye in the face's upper half."""
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        x, y, fw, fh = face
        # The eye band of a Haar face box; resized to 200 px wide, where the eye cascade was
        # steady on open eyes and silent on closed ones in the simulator scenes (a few ms).
        roi = grey[max(0, y + fh // 4): y + fh * 11 // 20, max(0, x): x + fw]
        if roi.size == 0:
            return False
        scale = 200 / roi.shape[1]
        roi = cv2.resize(roi, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        eyes = self._eyes.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=3, minSize=(20, 20))
        return len(eyes) > 0


def sharpness(frame: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Variance of the Laplacian over the face box: higher is sharper (less motion blur)."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x, y, w, h = box
    roi = grey[max(0, y): y + h, max(0, x): x + w]
    return float(cv2.Laplacian(roi, cv2.CV_64F).var()) if roi.size else 0.0


@dataclass(frozen=True)
class LivenessResult:
    """Outcome of a liveness challenge. ``baseline`` is always True: this is not certified anti-spoofing."""

    passed: bool
    challenge: str
    reason: str
    baseline: bool = True


class BlinkChallenge:
    """Baseline blink challenge: open eyes → closed (face still there) → open, within ``window_s``.

    Feed it every assessed frame with :meth:`feed`; :attr:`result` is set once it passes or times out.
    A replayed video passes it — see the module docstring.
    """

    challenge = "blink"

    def __init__(self, framer: FaceFramer, window_s: float = 6.0, min_closed_frames: int = 1) -> None:
        self._framer = framer
        self.window_s = window_s
        self.min_closed_frames = min_closed_frames
        self._started: float | None = None
        self._phase = "want_open"
        self._closed_run = 0
        self.result: LivenessResult | None = None

    def feed(self, frame: np.ndarray, assessment: FaceAssessment,
             now: float | None = None) -> LivenessResult | None:
        """Advance the challenge with one frame; returns the result once decided."""
        if self.result is not None:
            return self.result
        now = time.monotonic() if now is None else now
        if self._started is None:
            self._started = now
        if now - self._started > self.window_s:
            self.result = LivenessResult(False, self.challenge,
                                         f"no blink seen within {self.window_s:g} s (baseline)")
            return self.result
        if assessment.hint is not FaceHint.OK or assessment.face is None:
            return None  # only a well-framed single face counts; a swap of faces must not pass
        open_ = self._framer.eyes_open(frame, assessment.face)
        if self._phase == "want_open" and open_:
            self._phase = "want_closed"
        elif self._phase == "want_closed":
            self._closed_run = 0 if open_ else self._closed_run + 1
            if self._closed_run >= self.min_closed_frames:
                self._phase = "want_reopen"
        elif self._phase == "want_reopen" and open_:
            self.result = LivenessResult(True, self.challenge,
                                         "blink seen (baseline: a replayed video also passes)")
        return self.result


@dataclass
class FaceShot:
    """The chosen frame, encoded for the platform's identity check. The caller submits it and drops it."""

    jpeg: bytes
    box: tuple[int, int, int, int]
    sharpness: float
    liveness: LivenessResult | None = None
    size: tuple[int, int] = field(default=(0, 0))

    def __repr__(self) -> str:  # never dump image bytes into logs or tracebacks
        return f"FaceShot(<{len(self.jpeg)} bytes JPEG>, box={self.box}, sharpness={self.sharpness:.0f})"


class FaceCapture:
    """Collects well-framed frames and keeps only the best one, in memory.

    :meth:`offer` each frame (it returns the frame's assessment for the on-screen hint);
    :meth:`take` encodes the best frame as JPEG and forgets it; :meth:`clear` forgets without encoding.
    """

    def __init__(self, framer: FaceFramer, *, jpeg_quality: int = 90,
                 liveness: BlinkChallenge | None = None) -> None:
        self._framer = framer
        self.jpeg_quality = jpeg_quality
        self.liveness = liveness
        self._best: np.ndarray | None = None
        self._best_box: tuple[int, int, int, int] = (0, 0, 0, 0)
        self._best_score = -1.0
        self.hints: deque[FaceHint] = deque(maxlen=30)

    @property
    def has_candidate(self) -> bool:
        return self._best is not None

    def offer(self, frame: np.ndarray, now: float | None = None) -> FaceAssessment:
        """Assess ``frame``; keep it if it is the best well-framed one so far."""
        a = self._framer.assess(frame)
        self.hints.append(a.hint)
        if self.liveness is not None:
            self.liveness.feed(frame, a, now)
        if a.hint is FaceHint.OK and a.face is not None:
            score = sharpness(frame, a.face)
            if score > self._best_score:
                # A copy: the camera reuses nothing, but the caller may; and only this one is kept.
                self._best, self._best_box, self._best_score = frame.copy(), a.face, score
        return a

    def take(self) -> FaceShot | None:
        """The best frame as JPEG (None if no frame was well framed); the frame is forgotten."""
        if self._best is None:
            return None
        ok, buf = cv2.imencode(".jpg", self._best, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        h, w = self._best.shape[:2]
        shot = FaceShot(buf.tobytes() if ok else b"", self._best_box, self._best_score,
                        self.liveness.result if self.liveness else None, (w, h))
        self.clear()
        return shot

    def clear(self) -> None:
        """Forget every frame held (end of session, or the resident chose another way)."""
        self._best, self._best_score, self._best_box = None, -1.0, (0, 0, 0, 0)
        self.hints.clear()
