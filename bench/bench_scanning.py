"""QRSCAN: how long a resident waits between holding up a code and the flow getting the answer, and
how quickly a cancelled scan lets go of the camera (kiosk/terminal/scanning.py).

- ``QRSCAN``: :func:`kiosk.terminal.scanning.scan` from start to :class:`flow.QrScanned`, the simulated QR
  camera showing a receipt's progress link (segno drawn into 640×480 frames, tilted and noisy, read
  by OpenCV's detector), median with p95 in the note. Anchor: one bare ``cv2.QRCodeDetector``
  ``detectAndDecode`` of a frame of the same scene, in the same run; the ratio says how many decodes'
  worth of time a scan takes (frames that do not decode, the pause between frames, the payload check).
- ``QRSCAN-cancel``: from ``cancel.set()`` to the scan returning, with nothing in view (the
  resident tapped back), median with p95 in the note. Informational: the design says "promptly";
  the bound is one frame's decode plus the pause between frames.

    .venv/bin/python -m bench.run --only QRSCAN
"""

from __future__ import annotations

import threading
import time

import cv2

from bench.common import Figure, median, percentile, timed
from kiosk import flow
from kiosk.qrcodes import progress_url
from kiosk.terminal.scanning import SimulatedQrCamera, scan

RECEIPT = "HC-DEMO-001-20261121-000042"


def _scan_once(camera: SimulatedQrCamera) -> None:
    camera.app.hold_up(progress_url(RECEIPT))
    event = scan(flow.ScanQr("progress", 30.0), camera)
    # the measurement failed (not a TypeError: no caller passed a wrong type)
    if not isinstance(event, flow.QrScanned):
        raise RuntimeError(f"the benchmark's code was not read: {event}")  # noqa: TRY004


def _cancel_once(camera: SimulatedQrCamera) -> float:
    camera.app.hold_up("")
    effect = flow.ScanQr("progress", 600.0)
    done = threading.Event()
    returned: list[float] = []

    def run() -> None:
        scan(effect, camera)
        returned.append(time.perf_counter())
        done.set()

    worker = threading.Thread(target=run, name="bench-scan")
    worker.start()
    time.sleep(0.05)  # let it be mid-scan
    start = time.perf_counter()
    effect.cancel.set()
    if not done.wait(30):
        raise RuntimeError("a cancelled scan did not return within 30 s")
    worker.join()
    return returned[0] - start


def run(quick: bool) -> list[Figure]:
    repeat = 8 if quick else 40
    camera = SimulatedQrCamera()
    _scan_once(camera)  # warm up OpenCV and segno
    scans = timed(lambda: _scan_once(camera), repeat)
    frame = SimulatedQrCamera()
    frame.app.hold_up(progress_url(RECEIPT))
    frame.present("progress")
    image = frame.read()
    detector = cv2.QRCodeDetector()
    decodes = timed(lambda: detector.detectAndDecode(image), repeat)
    anchor = median(decodes)
    value = median(scans)
    cancels = [_cancel_once(camera) for _ in range(max(4, repeat // 4))]
    return [
        Figure("QRSCAN", "QR scan: code held up → QrScanned (simulated QR camera, 640×480)", round(value * 1000, 1),
               "ms", "informational", None, anchor="one bare detectAndDecode of the same scene",
               anchor_value=round(anchor * 1000, 1), ratio=round(value / anchor, 2) if anchor else None,
               note=f"p95 {percentile(scans, 95) * 1000:.1f} ms over {repeat} scans"),
        Figure("QRSCAN-cancel", "QR scan cancelled → scanner returns", round(median(cancels) * 1000, 1), "ms",
               "informational", None, note=f"p95 {percentile(cancels, 95) * 1000:.1f} ms over {len(cancels)} cancels"),
    ]
