"""``kiosk devices camera-test``: open a camera, watch it for a few seconds, say how it is.

    kiosk devices camera-test [--camera URI] [--seconds N] [--out PNG] [--config FILE]

Reports the camera's state, the frame rate it delivers and the rate the face and QR checks keep
up with, the face-framing hint a resident would see, and any QR code in view (our formats only;
a sign-in token is never printed). URI: ``camera://0``, ``camera:///dev/video0`` or a video file
(which plays looped, like the simulators of ``devices/camera/simulate.py``); default: the camera in
the settings, else ``camera://0``.

Frames stay in memory. Only with ``--out`` is one annotated frame written, to the named PNG: it
may show a person, so name a place you will delete it from.

Exit status: 0 frames arrived · 1 no camera or no frames (the reason is shown) · 2 the settings have problems.
"""

from __future__ import annotations

import argparse
import collections
import time
from typing import Any

from devices.base import DeviceError
from kiosk.endpoints import parse_endpoint
from kiosk.settings import SettingsError, load_settings

EXIT_OK, EXIT_NO_FRAMES, EXIT_SETTINGS = 0, 1, 2


def register(devices: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = devices.add_parser("camera-test", help="watch a camera for a few seconds: status, fps, face hint, QR",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--camera", metavar="URI",
                   help="camera endpoint (default: devices.camera in the settings, else camera://0)")
    p.add_argument("--seconds", type=float, default=3.0, help="how long to watch (default 3)")
    p.add_argument("--out", metavar="PNG",
                   help="write one annotated frame to this PNG (nothing is written without it)")
    p.add_argument("--config", metavar="FILE",
                   help="settings file (default: /etc/kiosk/kiosk.toml if present)")
    p.set_defaults(func=cmd_camera_test)


def _camera_uri(args: argparse.Namespace) -> str | None:
    if args.camera:
        return str(args.camera)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        exc.report()
        return None
    # The configured face camera; the first camera when the settings name none or a simulated one.
    uri = settings.devices.camera_endpoint("camera")
    return "camera://0" if uri == "none" or parse_endpoint(uri).is_simulator else uri


def describe_qr(read: Any) -> str:
    """One line about a decoded code, without its secret parts."""
    payload = read.verdict.payload
    if payload is None:
        return f"rejected: {read.verdict.reason}"
    if payload.kind == "progress_lookup":
        return f"progress lookup for receipt {payload.receipt_no}"
    expires = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(payload.expires_at))
    return f"sign-in code (token hidden), expires at {expires}"


def cmd_camera_test(args: argparse.Namespace) -> int:
    # lazy: OpenCV loads only for camera commands, not for every `kiosk` command
    import cv2

    # lazy: OpenCV loads only for camera commands
    from devices.camera import Camera, FaceFramer, QrReader

    uri = _camera_uri(args)
    if uri is None:
        return EXIT_SETTINGS
    # OpenCV prints its own backend warnings for a missing camera; our message says it plainly.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        camera = Camera(uri, name="camera-test")
        camera.start()
    except DeviceError as exc:
        print(f"camera {uri}: {exc}")
        return EXIT_NO_FRAMES
    framer, qr = FaceFramer(), QrReader()
    hints: collections.Counter[str] = collections.Counter()
    qr_lines: dict[str, str] = {}
    last: tuple[Any, Any, Any] | None = None
    processed, busy = 0, 0.0
    try:
        deadline = time.monotonic() + args.seconds
        seq = 0
        while time.monotonic() < deadline:
            try:
                frame = camera.wait_frame(after=seq, timeout=min(2.0, max(0.1, deadline - time.monotonic())))
            except DeviceError:
                continue
            seq = frame.seq
            t0 = time.perf_counter()
            assessment = framer.assess(frame.image)
            read = qr.decode(frame.image)
            busy += time.perf_counter() - t0
            processed += 1
            hints[assessment.hint.value] += 1
            if read is not None:
                qr_lines.setdefault(read.text, describe_qr(read))
            last = (frame.image, assessment, read)
        status = camera.status()
    finally:
        camera.close()
    print(f"camera {uri}: {status.state.value}, {status.operations} frames in {args.seconds:g} s, "
          f"{status.detail.get('fps', 0):.1f} fps delivered")
    if status.last_error is not None:
        print(f"  last problem: {status.last_error.message} (what to do: {status.last_error.hint.value})")
    if last is None:
        print("  no frames arrived: check the camera's cable and power, and that no other program holds it")
        return EXIT_NO_FRAMES
    image, assessment, read = last
    h, w = image.shape[:2]
    print(f"  frame {w}x{h}; face and QR checks ran at {processed / busy if busy else 0:.1f} fps")
    print("  face hint: " + ", ".join(f"{k} ×{n}" for k, n in hints.most_common()))
    for line in qr_lines.values():
        print(f"  QR: {line}")
    if not qr_lines:
        print("  QR: none seen")
    if args.out:
        cv2.imwrite(args.out, annotate(image, assessment, read))
        print(f"  annotated frame written to {args.out} (it may show a person: delete it when done)")
    return EXIT_OK


def annotate(image: Any, assessment: Any, read: Any) -> Any:
    """A copy of ``image`` with face boxes, the hint and the QR outline drawn on it."""
    # lazy: OpenCV and numpy load only for camera commands
    import cv2
    import numpy as np

    out = image.copy()
    ok = assessment.hint.value == "ok"
    for x, y, fw, fh in assessment.faces:
        cv2.rectangle(out, (x, y), (x + fw, y + fh), (0, 200, 0) if ok else (0, 140, 255), 2)
    label = f"face: {assessment.hint.value}"
    for colour, thickness in (((0, 0, 0), 4), ((255, 255, 255), 2)):  # outlined: readable on any background
        cv2.putText(out, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, colour, thickness)
    if read is not None and len(read.corners) == 4:
        pts = np.array(read.corners, np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], True, (0, 200, 0) if read.accepted else (0, 0, 255), 3)
    return out
