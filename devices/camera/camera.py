"""The camera adapter: ``cv2.VideoCapture`` on an owned capture thread, keeping only the latest frame.

Sources: a device index (``camera://0``, ``0``), a device path (``/dev/video0``, ``camera:///dev/video0``)
or a video file (``camera:///path/to/scene.avi`` or a plain path). A video file plays like a live
camera — paced to its own frame rate and, by default, looped — so the simulator scenes of
:mod:`devices.camera.simulate` stand in for hardware.

Status on the shared model (:mod:`devices.base`): ``no_device`` when the source cannot be opened,
``online`` while frames arrive, ``offline`` with a :class:`DeviceTimeout` as last error when no frame
came for ``stall_timeout_s`` (event ``frames_stalled``), and back to ``online`` with event
``frames_recovered`` when frames flow again. After a stall the thread drops the capture handle and
reopens it with capped backoff (at most :data:`REOPEN_MAX_S` between tries); that is its whole recovery.

Hot-plug both ways: :meth:`Camera.watch` starts the capture thread even when the source is absent
(``no_device`` with the reason) and the thread picks the camera up when it appears. A source that
goes away while in use — its device node or file vanishes (a USB camera unplugged: udev removes
``/dev/videoN``) — is noticed within :data:`GONE_CHECK_S`, reported ``no_device`` with a
:class:`DeviceDisconnected` as last error (event ``camera_gone``), and picked up again when it returns
(``frames_recovered``). An index source (``camera://0``) is watched through ``/dev/video0`` on Linux.

Privacy: frames live in memory only, one at a time; :meth:`Camera.stop` forgets the last one.
Nothing here writes to disk.
"""

from __future__ import annotations

import collections
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import cv2
import numpy as np

from devices.base import (
    DeviceDisconnected,
    DeviceError,
    DeviceNotFound,
    DeviceState,
    DeviceStatus,
    DeviceTimeout,
    EventCallback,
    StatusTracker,
)
from kiosk.endpoints import Endpoint

log = logging.getLogger(__name__)

_BACKOFF_MIN_S = 0.2
#: Longest wait between two tries to (re)open an absent or stalled camera: it is picked up within this
#: (plus the open itself) of coming back; the target is ≤ 3 s (TARGETS.md R3).
REOPEN_MAX_S = 1.0
#: How often a camera in use checks that its device node (or file) is still there.
GONE_CHECK_S = 0.25
_IDLE_S = 0.01  # between failed reads before a stall is declared: frames usually resume within this


class CameraSourceInvalid(DeviceNotFound):
    """The source exists but is not something OpenCV can play (e.g. a file that is not a video)."""

    retryable = False


def camera_source(uri: str | int) -> int | str:
    """A ``cv2.VideoCapture`` source from an endpoint: an int for a device index, else a path.

    ``camera://0`` and ``"0"`` → 0; ``camera:///dev/video2`` → ``/dev/video2``;
    ``camera:///srv/scenes/face.avi``, ``file:///…`` and plain paths → the path.
    """
    if isinstance(uri, int):
        return uri
    text = uri.strip()
    if not text:
        raise DeviceNotFound("no camera configured: set the camera endpoint, e.g. camera://0")
    for prefix in ("camera://", "file://"):
        if text.lower().startswith(prefix):
            rest = text[len(prefix):]
            if rest.isdigit():
                return int(rest)
            if not rest.startswith("/"):
                raise DeviceNotFound(f"camera endpoint {uri!r} names neither an index nor a path; "
                                     "use camera://0 or camera:///path/to/video.avi")
            return rest
    if "://" in text:
        raise DeviceNotFound(f"{uri!r} is not a camera endpoint; use camera://0, camera:///dev/video0 "
                             "or a video file path")
    return int(text) if text.isdigit() else text


@dataclass(frozen=True)
class Frame:
    """One captured image (BGR, as OpenCV delivers it), its sequence number and monotonic time."""

    image: np.ndarray
    seq: int
    at: float

    def __repr__(self) -> str:  # frames can show a face: never dump pixels into logs
        h, w = self.image.shape[:2]
        return f"Frame(seq={self.seq}, {w}x{h})"


class Camera:
    """A camera (or a video file playing as one), delivering frames on its own capture thread.

    ``loop`` (default: True for files) restarts a file at its end; ``pace`` (default: True for files)
    delivers a file's frames at its recorded frame rate. ``width``/``height`` are requested from
    real cameras (files keep their own size).
    """

    def __init__(self, source: str | int, *, name: str = "camera", on_event: EventCallback | None = None,
                 loop: bool | None = None, pace: bool | None = None, stall_timeout_s: float = 2.0,
                 width: int = 640, height: int = 480) -> None:
        self.source = camera_source(source)
        self.is_file = isinstance(self.source, str) and not self.source.startswith("/dev/")
        self.loop = self.is_file if loop is None else loop
        self.pace = self.is_file if pace is None else pace
        self.stall_timeout_s = stall_timeout_s
        self.width, self.height = width, height
        self._tracker = StatusTracker(name, on_event)
        self._cap: cv2.VideoCapture | None = None
        self._cap_lock = threading.Lock()
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._seq = 0
        self._times: collections.deque[float] = collections.deque(maxlen=30)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._stalled = False
        self._orphaned = False  # a capture thread that did not stop still owns the handle
        self._absent = False  # the source is not there (never found, or gone): retried by the thread
        self._file_fps = 25.0
        # What is watched for the source going away: the file or device node, /dev/videoN for index N.
        self._node: str | None = None
        if isinstance(self.source, str):
            self._node = self.source
        elif sys.platform.startswith("linux"):  # V4L2: camera index N is /dev/videoN
            self._node = f"/dev/video{self.source}"

    @property
    def name(self) -> str:
        return self._tracker.name

    def describe(self) -> str:
        """The source in words, for messages (no personal data)."""
        if isinstance(self.source, int):
            return f"camera {self.source}"
        return f"{'video file' if self.is_file else 'camera'} {self.source}"

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Open the source; raises :class:`DeviceNotFound` (or :class:`CameraSourceInvalid`) plainly."""
        with self._cap_lock:
            if self._cap is not None:
                return
            try:
                self._cap = self._open_capture()
            except DeviceError as exc:
                self._tracker.record_error(exc, DeviceState.NO_DEVICE)
                raise
        self._tracker.set_state(DeviceState.ONLINE, source=str(self.source))

    def _open_capture(self) -> cv2.VideoCapture:
        src = self.source
        if not isinstance(src, str) and self._node is not None and not os.path.exists(self._node):
            # Checked first: OpenCV would try (and log a warning) for an index with no device node.
            raise DeviceNotFound(f"no {self.describe()} found ({self._node} does not exist): check the cable; "
                                 "the resident can use the ID card or staff help instead")
        if isinstance(src, str):
            path = Path(src)
            if not path.exists():
                raise DeviceNotFound(f"{self.describe()} does not exist: check the camera endpoint "
                                     "(is the camera plugged in? is the path right?)")
            if not os.access(path, os.R_OK):
                raise DeviceNotFound(f"{self.describe()} exists but may not be read (permission denied): "
                                     "add the kiosk user to the 'video' group")
        cap = cv2.VideoCapture(src) if isinstance(src, str) else cv2.VideoCapture(src, cv2.CAP_ANY)
        if not cap.isOpened():
            cap.release()
            if self.is_file:
                raise CameraSourceInvalid(f"{self.describe()} is not a video OpenCV can play: use an MJPG "
                                          ".avi or another format FFmpeg reads")
            raise DeviceNotFound(f"no {self.describe()} found: check the cable and that /dev/video* exists; "
                                 "the resident can use the ID card or staff help instead")
        if self.is_file:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self._file_fps = fps if 1.0 <= fps <= 240.0 else 25.0
        else:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        return cap

    def close(self) -> None:
        """Stop capturing (if running) and release the source."""
        self.stop()
        if not self._orphaned:
            with self._cap_lock:
                self._release()
        self._tracker.set_state(DeviceState.OFFLINE)

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def __enter__(self) -> Self:
        self.open()
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def status(self) -> DeviceStatus:
        """A snapshot of the camera's health, with the measured frame rate in ``detail['fps']``."""
        snap = self._tracker.snapshot()
        snap.detail["fps"] = round(self.fps, 1)
        snap.detail["stalled"] = self._stalled
        snap.detail.setdefault("source", str(self.source))
        return snap

    # -- the capture thread ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the capture thread (the source is opened first if it is not; errors are raised here)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already capturing")
        if self._orphaned:
            raise RuntimeError(f"{self.name}: the previous capture thread is stuck in the driver; "
                               "create a new Camera")
        self.open()
        self._start_thread()

    def watch(self) -> None:
        """Start capturing now if the source is there, else as soon as it appears.

        Never raises for an absent or unplayable source: the status says ``no_device`` with the reason
        meanwhile, and the capture thread tries again at least every :data:`REOPEN_MAX_S`.
        """
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already capturing")
        if self._orphaned:
            raise RuntimeError(f"{self.name}: the previous capture thread is stuck in the driver; "
                               "create a new Camera")
        try:
            self.open()
        except DeviceError as exc:
            self._absent = True
            log.warning("%s: %s (picked up when it appears)", self.name, exc)
        self._start_thread()

    def _start_thread(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._capture_loop, name=f"{self.name}-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the capture thread, wait for it and forget the last frame. The source stays open."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            if thread is not threading.current_thread():  # an event callback may stop the camera
                thread.join(timeout=self.stall_timeout_s + 5.0)  # a blocked driver read gives up in seconds
            if thread.is_alive() and thread is not threading.current_thread():
                # Releasing the capture under a read still in progress can crash the driver: leave the
                # handle to the thread, which exits after that read.
                log.error("%s: capture thread did not stop in time", self.name)
                self._orphaned = True
            self._thread = None
        with self._cond:
            self._latest = None
            self._times.clear()

    def _capture_loop(self) -> None:
        last_frame_at = time.monotonic()
        next_due = last_frame_at
        backoff = _BACKOFF_MIN_S
        since_rewind = 0  # frames since the file was opened or rewound: a rewind that yields none is a stall
        next_check = last_frame_at + GONE_CHECK_S
        while not self._stop.is_set():
            try:
                cap = self._cap
                if cap is None:
                    with self._cap_lock:
                        self._cap = cap = self._open_capture()
                    last_frame_at = next_check = time.monotonic()
                    since_rewind = 0
                    if self._absent:
                        self._absent = False
                        log.info("%s: %s found", self.name, self.describe())
                elif self._node is not None and time.monotonic() >= next_check:
                    next_check = time.monotonic() + GONE_CHECK_S
                    if not os.path.exists(self._node):
                        self._went_away()
                        backoff = _BACKOFF_MIN_S
                        self._stop.wait(backoff)
                        continue
                ok, image = cap.read()
            except DeviceError as exc:  # (re)opening failed: the source is not there
                if not self._absent or self._tracker.snapshot().state is not DeviceState.NO_DEVICE:
                    self._absent = True  # reported once per absence; the error counter is not a retry counter
                    self._tracker.record_error(exc, DeviceState.NO_DEVICE)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, REOPEN_MAX_S)
                continue
            except Exception:  # the capture thread is the camera's only worker: it must not die
                log.exception("%s: unexpected error while capturing", self.name)
                self._stop.wait(backoff)
                continue
            now = time.monotonic()
            if ok and image is not None:
                backoff = _BACKOFF_MIN_S
                last_frame_at = now
                since_rewind += 1
                self._publish(image, now)
                if self.pace:
                    # Late (a loaded machine, a reopen) means start the next period now: no burst.
                    next_due = max(next_due + 1.0 / self._file_fps, now)
                    self._stop.wait(max(0.0, next_due - time.monotonic()))
                continue
            if self.is_file and self.loop and since_rewind > 0 and cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                since_rewind = 0
                continue
            if now - last_frame_at >= self.stall_timeout_s:
                self._declare_stall()
                with self._cap_lock:
                    self._release()  # reopen on the next turn
                self._stop.wait(backoff)
                backoff = min(backoff * 2, REOPEN_MAX_S)
            else:
                self._stop.wait(_IDLE_S)

    def _publish(self, image: np.ndarray, now: float) -> None:
        with self._cond:
            self._seq += 1
            self._latest = Frame(image, self._seq, now)
            self._times.append(now)
            self._cond.notify_all()
        self._tracker.operation_ok()
        if self._stalled:
            self._stalled = False
            log.info("%s: frames recovered", self.name)
            self._tracker.set_state(DeviceState.ONLINE)
            self._tracker.emit("frames_recovered")
        else:
            self._tracker.set_state(DeviceState.ONLINE)

    def _went_away(self) -> None:
        """The source's device node (or file) vanished: drop the handle and the last frame, say so once."""
        with self._cap_lock:
            self._release()
        with self._cond:
            self._latest = None
            self._times.clear()
        self._stalled = True  # its return is reported as frames_recovered, like the end of a stall
        self._absent = True
        err = DeviceDisconnected(f"{self.describe()} went away (unplugged, or its device node vanished): check its "
                                 "USB cable; it is used again as soon as it is back. The resident can use the ID "
                                 "card or staff help meanwhile")
        log.warning("%s: %s", self.name, err)
        self._tracker.record_error(err, DeviceState.NO_DEVICE)
        self._tracker.emit("camera_gone")

    def _declare_stall(self) -> None:
        if self._stalled:
            return
        self._stalled = True
        err = DeviceTimeout(f"{self.describe()} delivered no frame for {self.stall_timeout_s:g} s: check its "
                            "cable and power; the resident can use the ID card or staff help meanwhile")
        log.warning("%s: %s", self.name, err)
        self._tracker.record_error(err, DeviceState.OFFLINE)
        self._tracker.emit("frames_stalled")

    # -- reading frames ----------------------------------------------------------------------

    @property
    def fps(self) -> float:
        """Frames per second delivered over the last 30 frames (0 when fewer than two)."""
        with self._cond:
            times = list(self._times)
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def latest(self) -> Frame | None:
        """The newest frame, or None before the first one (never blocks)."""
        with self._cond:
            return self._latest

    def wait_frame(self, after: int = 0, timeout: float = 3.0) -> Frame:
        """The first frame newer than sequence number ``after``; raises :class:`DeviceTimeout` when late."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest.seq <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set() or self._thread is None:
                    break
                self._cond.wait(remaining)
            frame = self._latest
        if frame is None or frame.seq <= after:
            raise DeviceTimeout(f"{self.describe()} delivered no new frame within {timeout:g} s: "
                                "check the camera; offer the resident another way (ID card, staff help)")
        return frame


# -- frame by frame, as the terminal reads cameras ----------------------------------------------

class FrameSource(Protocol):
    """What the terminal reads a camera through, real or simulated (:func:`devices.endpoints.open_camera`)."""

    @property
    def fps(self) -> float: ...
    def read(self) -> Any: ...
    def close(self) -> None: ...


#: How long :meth:`LiveCamera.read` waits for a new frame.
READ_TIMEOUT_S = 1.0


class LiveCamera:
    """A real camera (its own capture thread in :class:`Camera`) read frame by frame."""

    def __init__(self, camera: Camera) -> None:
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

    def status(self) -> DeviceStatus:
        return self.camera.status()

    def close(self) -> None:
        self.camera.close()


def open_live_camera(endpoint: Endpoint, *, name: str, on_event: EventCallback | None = None,
                     app: object = None) -> LiveCamera:
    """The registry's handler for ``camera://`` and ``file://`` cameras: capturing, or — when the camera
    is not there — watching for it (:meth:`Camera.watch`: its status says ``no_device`` and why until it
    appears). ``app`` is for simulated cameras only."""
    camera = Camera(endpoint.uri, name=name, on_event=on_event)
    camera.watch()
    return LiveCamera(camera)
