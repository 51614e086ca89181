"""P8 (camera pipeline): frames per second of face framing and of QR decoding at 640×480 on one core.

Frames come from the simulator scenes (``devices/camera/simulate.py``), written as MJPG and read
back through ``cv2.VideoCapture`` so they carry real JPEG artefacts, then held in memory; the
figures time only the per-frame work, with ``cv2.setNumThreads(1)`` so OpenCV uses one core.

- face framing: :meth:`FaceFramer.assess` over a mix of one face, no face and two faces;
- QR decoding: :meth:`QrReader.decode` (detect + decode + payload check) on frames showing a code.

Figures are 1 / median per-frame time (p95 in the note). Target ≥ 20 fps (TARGETS.md P8). Anchor:
decoding one MJPG 640×480 frame (what reading a camera costs before any of our work), measured
in the same run; the ratio says how many of our frames fit in one decode's time, inverted.

    .venv/bin/python -m bench.run --only P8
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.common import Figure, median, percentile
from devices.camera.face import FaceFramer
from devices.camera.qr import QrReader
from devices.camera.simulate import FaceScene, qr_scene, write_video
from kiosk.qrcodes import progress_url

TARGET_FPS = 20.0
TWO_FACES = FaceScene(faces=((190, 240, 170), (450, 240, 170)))


def _load(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def _per_frame(fn: object, frames: list[np.ndarray], repeat: int) -> list[float]:
    samples = []
    for k in range(repeat):
        frame = frames[k % len(frames)]
        start = time.perf_counter()
        fn(frame)  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return samples


def _figure(id_: str, name: str, samples: list[float], anchor_s: float, note: str) -> Figure:
    fps = 1.0 / median(samples)
    anchor_fps = 1.0 / anchor_s
    return Figure(id=id_, name=name, value=fps, unit="fps", target=f"≥ {TARGET_FPS:g} fps on one core",
                  passed=fps >= TARGET_FPS, anchor="MJPG 640×480 frame decode (fps)", anchor_value=anchor_fps,
                  ratio=fps / anchor_fps,
                  note=f"n={len(samples)}; p95 frame {percentile(samples, 95) * 1000:.1f} ms; {note}")


def run(quick: bool) -> list[Figure]:
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        repeat = 60 if quick else 400
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            count = 20 if quick else 60
            faces = (_load(write_video(folder / "face.avi", FaceScene(blink_every=20), count))
                     + _load(write_video(folder / "none.avi", FaceScene(faces=()), count))
                     + _load(write_video(folder / "two.avi", TWO_FACES, count)))
            qr = qr_scene(progress_url("HC-DEMO-001-20261121-000001"))
            qrs = _load(write_video(folder / "qr.avi", qr, count))
            # Anchor: MJPG decode of the same frames, from memory.
            jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 90])[1] for f in qrs]
            anchor_samples = _per_frame(lambda buf: cv2.imdecode(buf, cv2.IMREAD_COLOR), jpegs, repeat)  # type: ignore[arg-type]
        anchor_s = median(anchor_samples)
        framer = FaceFramer()
        framer.assess(faces[0])  # warm-up: cascade buffers
        face_samples = _per_frame(framer.assess, faces, repeat)
        reader = QrReader()
        decoded = sum(reader.decode(f) is not None for f in qrs)
        qr_samples = _per_frame(reader.decode, qrs, repeat)
        return [
            _figure("P8", "face presence + framing hints, 640×480 (median)", face_samples, anchor_s,
                    "scenes: one face, no face, two faces"),
            _figure("P8", "QR detect + decode + payload check, 640×480 (median)", qr_samples, anchor_s,
                    f"code decoded in {decoded}/{len(qrs)} tilted frames"),
        ]
    finally:
        cv2.setNumThreads(threads)
