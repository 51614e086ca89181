"""Opens the terminal's devices from their endpoints, starting built-in simulators for ``sim://``.

The kiosk app owns its devices (card events need low latency); this module is the one place that
knows which adapter and which simulator each setting means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.base import DeviceEvent
from devices.id_card.reader import IdCardReader
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.printer import ReceiptPrinter
from devices.printer.simulator import VirtualPrinter
from devices.smartcard.pcscd_env import missing_prerequisites
from devices.smartcard.reader import SscReader
from devices.smartcard.simulator import SscReaderSimulator
from kiosk.endpoints import parse_endpoint
from kiosk.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Hardware:
    """The opened devices and the simulators standing in for absent ones."""

    id_reader: IdCardReader
    printer: ReceiptPrinter
    id_simulator: IdReaderSimulator | None = None
    ssc_reader: SscReader | None = None
    ssc_simulator: SscReaderSimulator | None = None
    cameras: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, on_event: Callable[[DeviceEvent], None]) -> Hardware:
        """Open every device; on failure, close what was opened and re-raise."""
        closers: list[Callable[[], Any]] = []
        try:
            dev = settings.devices
            id_endpoint = parse_endpoint(dev.id_reader)
            id_sim = None
            if id_endpoint.is_simulator:
                id_sim = IdReaderSimulator()
                id_sim.start()
                closers.append(id_sim.stop)
                port = id_sim.port
            else:
                port = id_endpoint.serial_url
            reader = IdCardReader(port, read_timeout_s=dev.read_timeout_s, on_event=on_event)
            # Polling runs under the device supervisor: a reader unplugged now (or later) is
            # reconnected with backoff instead of keeping the kiosk from starting.
            reader.start_polling(dev.poll_interval_s)
            closers.append(reader.close)

            ssc_reader, ssc_sim = _open_ssc(dev.ssc_reader, on_event, closers)

            printer_endpoint = parse_endpoint(dev.printer)
            # For sim:// the adapter starts and stops its own VirtualPrinter.
            printer = ReceiptPrinter(dev.printer, on_event=on_event)
            printer.open()
            closers.append(printer.close)
            # can_print() answers from the last known health: keep it fresh between residents.
            printer.start_monitoring()
            closers.append(printer.stop_monitoring)
            # No camera endpoints are configured yet: with simulated devices, simulated cameras.
            cameras: dict[str, Any] = simulated_cameras() if id_endpoint.is_simulator else {}
        except BaseException:
            for close in reversed(closers):
                _quietly(close)
            raise
        log.info("devices open", extra={"id_reader": id_endpoint.scheme, "printer": printer_endpoint.scheme})
        return cls(reader, printer, id_sim, ssc_reader, ssc_sim, cameras, closers)

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every device's status, for the operator's heartbeat (no personal data)."""
        out = {"id_reader": self.id_reader.status().to_dict(), "printer": self.printer.status().to_dict()}
        if self.ssc_reader is not None:
            out["ssc_reader"] = self.ssc_reader.status().to_dict()
        return out

    def available(self) -> dict[str, bool]:
        """What the flow may offer now: printer ready, cameras present (no I/O)."""
        return {"printer": self.printer.can_print(), "camera": "camera" in self.cameras,
                "document_camera": "document_camera" in self.cameras}

    @property
    def printer_simulator(self) -> VirtualPrinter | None:
        return self.printer.simulator

    def close(self) -> None:
        for close in reversed(self._closers):
            _quietly(close)
        self._closers.clear()


def _open_ssc(uri: str, on_event: Callable[[DeviceEvent], None],
              closers: list[Callable[[], Any]]) -> tuple[SscReader | None, SscReaderSimulator | None]:
    """The social security card reader, if configured. Its supervisor keeps retrying a missing pcscd
    or reader, so only a simulator that cannot start at all leaves the kiosk without one."""
    if uri == "none":
        return None, None
    endpoint = parse_endpoint(uri)
    sim = None
    name: str | None = (endpoint.host + endpoint.path).strip("/") or None
    if endpoint.is_simulator:
        problems = missing_prerequisites()
        if problems:
            log.warning("simulated social security card reader not started: %s", "; ".join(problems))
            return None, None
        sim = SscReaderSimulator()
        sim.start()  # before anything in this process talks PC/SC
        closers.append(sim.stop)
        name = sim.reader_name
    reader = SscReader(name, on_event=on_event)
    reader.start()
    closers.append(reader.stop)
    return reader, sim


def _quietly(close: Callable[[], Any]) -> None:
    try:
        close()
    except Exception:  # closing must go on for the other devices
        log.exception("error while closing a device")


# --- cameras --------------------------------------------------------------------------------

class SceneCamera:
    """A simulated camera (``sim://``): frames drawn by ``devices.camera.simulate``, read on demand.

    No thread: the effect runner pulls frames when it needs them, and ``fps`` gives the virtual time
    between frames so the blink challenge sees a steady stream.
    """

    fps = 25.0

    def __init__(self, scene: Callable[[int], Any]) -> None:
        self.scene = scene
        self._i = 0

    def read(self) -> Any:
        self._i += 1
        return self.scene(self._i)


def simulated_cameras() -> dict[str, SceneCamera]:
    """The face camera (a face that blinks every 20 frames) and the document camera (a page on a desk)."""
    from devices.camera.simulate import FaceScene, document_scene

    return {"camera": SceneCamera(FaceScene(blink_every=20)), "document_camera": SceneCamera(document_scene())}


def capture_page(camera: Any, material: int, attempts: int = 10) -> Any:
    """One page from the document camera as a flow event (PageCaptured, or ServiceFailed to retake)."""
    import cv2

    from devices.camera.document import PageNotFound, scan_page
    from kiosk import flow

    if camera is None:
        return flow.ServiceFailed("notice_no_document_camera")
    for _ in range(attempts):
        frame = camera.read()
        if frame is None:
            continue
        try:
            page = scan_page(frame)
        except PageNotFound:
            continue
        image = cv2.imdecode(__import__("numpy").frombuffer(page.jpeg, "uint8"), cv2.IMREAD_GRAYSCALE)
        scale = 240 / max(image.shape[:2])
        thumb = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
        ok, png = cv2.imencode(".png", thumb)
        return flow.PageCaptured(material, page.jpeg, page.width, page.height, png.tobytes() if ok else b"")
    return flow.ServiceFailed("notice_page_not_found")


def capture_face(camera: Any, max_frames: int = 200) -> Any:
    """The best face frame with the baseline blink check, as a flow event (FaceCaptured)."""
    from devices.camera.face import BlinkChallenge, FaceCapture, FaceFramer
    from kiosk import flow

    if camera is None:
        return flow.FaceCaptured(b"", False, "no camera")
    framer = FaceFramer()
    capture = FaceCapture(framer, liveness=BlinkChallenge(framer))
    step = 1.0 / getattr(camera, "fps", 25.0)
    for i in range(max_frames):
        frame = camera.read()
        if frame is None:
            continue
        capture.offer(frame, now=i * step)
        if capture.liveness is not None and capture.liveness.result is not None and capture.has_candidate:
            break
    shot = capture.take()
    if shot is None:
        return flow.FaceCaptured(b"", False, "no well-framed face")
    live = bool(shot.liveness and shot.liveness.passed)
    return flow.FaceCaptured(shot.jpeg if live else b"", live, shot.liveness.reason if shot.liveness else "")
