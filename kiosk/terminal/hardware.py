"""Opens the terminal's devices from their endpoints, starting built-in simulators for ``sim://``.

The kiosk app owns its devices (card events need low latency); this module is the one place that
knows which adapter and which simulator each setting means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.base import DeviceError, DeviceEvent, DeviceNotFound
from devices.id_card.reader import IdCardReader
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.printer import ReceiptPrinter
from devices.printer.simulator import VirtualPrinter
from devices.smartcard.pcscd_env import missing_prerequisites
from devices.smartcard.reader import SscReader
from devices.smartcard.simulator import SscReaderSimulator
from kiosk.endpoints import parse_endpoint
from kiosk.settings import DevicesSection, Settings

log = logging.getLogger(__name__)


#: Which settings each device is opened from: a change to one of these reopens that device only.
DEVICE_KEYS: dict[str, tuple[str, ...]] = {
    "id_reader": ("id_reader", "read_timeout_s", "poll_interval_s"),
    "printer": ("printer",),
    "ssc_reader": ("ssc_reader",),
}


@dataclass
class Hardware:
    """The opened devices and the simulators standing in for absent ones.

    :meth:`reopen` replaces one device in place (this object stays the same, so whoever holds
    ``app.hardware`` keeps a valid reference).
    """

    id_reader: IdCardReader
    printer: ReceiptPrinter
    id_simulator: IdReaderSimulator | None = None
    ssc_reader: SscReader | None = None
    ssc_simulator: SscReaderSimulator | None = None
    cameras: dict[str, Any] = field(default_factory=dict)
    on_event: Callable[[DeviceEvent], None] | None = None

    @classmethod
    def open(cls, settings: Settings, on_event: Callable[[DeviceEvent], None]) -> Hardware:
        """Open every device; on failure, close what was opened and re-raise."""
        dev = settings.devices
        reader: IdCardReader | None = None
        id_sim: IdReaderSimulator | None = None
        ssc_reader: SscReader | None = None
        ssc_sim: SscReaderSimulator | None = None
        try:
            # Polling runs under the device supervisor: a reader unplugged now (or later) is
            # reconnected with backoff instead of keeping the kiosk from starting.
            reader, id_sim = _open_id_reader(dev, on_event)
            ssc_reader, ssc_sim = _open_ssc(dev.ssc_reader, on_event)
            printer = _open_printer(dev.printer, on_event)
        except BaseException:
            for close in (getattr(ssc_reader, "stop", None), getattr(ssc_sim, "stop", None),
                          getattr(reader, "close", None), getattr(id_sim, "stop", None)):
                if close is not None:
                    _quietly(close)
            raise
        from kiosk.terminal.cameras import open_cameras

        cameras = open_cameras(dev, on_event)
        log.info("devices open", extra={"id_reader": parse_endpoint(dev.id_reader).scheme,
                                        "printer": parse_endpoint(dev.printer).scheme})
        return cls(reader, printer, id_sim, ssc_reader, ssc_sim, cameras, on_event)

    def reopen(self, name: str, devices: DevicesSection, previous: DevicesSection) -> None:
        """Reopen one device (``id_reader``, ``printer`` or ``ssc_reader``) from ``devices``.

        The other devices are not touched. When the new endpoint cannot be opened, the device is
        reopened from ``previous`` and the error (a :class:`DeviceError`) is raised.
        """
        if name == "id_reader":
            self._reopen_id_reader(devices, previous)
        elif name == "printer":
            self._reopen_printer(devices.printer, previous.printer)
        elif name == "ssc_reader":
            self._reopen_ssc(devices.ssc_reader, previous.ssc_reader)
        else:
            raise ValueError(f"{name!r} is not a device that can be reopened; use one of {', '.join(DEVICE_KEYS)}")
        log.info("device reopened", extra={"device": name})

    def _reopen_id_reader(self, devices: DevicesSection, previous: DevicesSection) -> None:
        old_reader, old_sim = self.id_reader, self.id_simulator
        # Close first: the new settings may name the same port (only a timeout changed).
        old_reader.close()
        keep_sim = old_sim if parse_endpoint(devices.id_reader).is_simulator else None
        try:
            reader, sim = _open_id_reader(devices, self.on_event, simulator=keep_sim, verify=True)
        except DeviceError:
            # The old reader object keeps its counters: start it polling again as it was.
            old_reader.start_polling(previous.poll_interval_s)
            raise
        if old_sim is not None and sim is not old_sim:
            _quietly(old_sim.stop)
        self.id_reader, self.id_simulator = reader, sim

    def _reopen_printer(self, uri: str, previous_uri: str) -> None:
        old = self.printer
        # Close first: a receipt printer on port 9100 or a serial line takes one connection at a time.
        old.close()
        try:
            self.printer = _open_printer(uri, self.on_event)
        except DeviceError:
            try:
                old.open()  # may fail again (the old printer went away too): its monitor keeps trying
            except DeviceError as exc:
                log.warning("previous printer %s did not answer on reopening: %s", previous_uri, exc)
            old.start_monitoring()
            raise

    def _reopen_ssc(self, uri: str, previous_uri: str) -> None:
        old_reader, old_sim = self.ssc_reader, self.ssc_simulator
        if old_reader is not None:
            old_reader.stop()
        if old_sim is not None:
            old_sim.stop()
        try:
            self.ssc_reader, self.ssc_simulator = _open_ssc(uri, self.on_event)
        except Exception as exc:
            self.ssc_reader, self.ssc_simulator = _open_ssc(previous_uri, self.on_event)
            if isinstance(exc, DeviceError):
                raise
            raise DeviceNotFound(f"social security card reader {uri} cannot be started ({exc}); "
                                 "the previous reader is in use again") from exc

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every device's status, for the operator's heartbeat (no personal data)."""
        out = {"id_reader": self.id_reader.status().to_dict(), "printer": self.printer.status().to_dict()}
        ssc = self.ssc_reader
        if ssc is not None:
            out["ssc_reader"] = ssc.status().to_dict()
        return out

    def available(self) -> dict[str, bool]:
        """What the flow may offer now: printer ready, cameras present (no I/O)."""
        return {"printer": self.printer.can_print(), "camera": "camera" in self.cameras,
                "document_camera": "document_camera" in self.cameras}

    @property
    def printer_simulator(self) -> VirtualPrinter | None:
        return self.printer.simulator

    def close(self) -> None:
        """Close every device and stop every simulator (idempotent)."""
        from kiosk.terminal.cameras import close_cameras

        close_cameras(self.cameras)
        _quietly(self.printer.close)  # also stops its monitor and its own virtual printer
        if self.ssc_reader is not None:
            _quietly(self.ssc_reader.stop)
        if self.ssc_simulator is not None:
            _quietly(self.ssc_simulator.stop)
        _quietly(self.id_reader.close)
        if self.id_simulator is not None:
            _quietly(self.id_simulator.stop)


def _open_id_reader(dev: DevicesSection, on_event: Callable[[DeviceEvent], None] | None, *,
                    simulator: IdReaderSimulator | None = None,
                    verify: bool = False) -> tuple[IdCardReader, IdReaderSimulator | None]:
    """The ID card reader polling under its supervisor, with a simulator for ``sim://`` (``simulator``
    is reused when given). ``verify`` opens the port first and raises DeviceNotFound when it cannot be
    opened (a technician's change); at start-up the supervisor keeps retrying instead."""
    endpoint = parse_endpoint(dev.id_reader)
    sim = None
    if endpoint.is_simulator:
        sim = simulator
        if sim is None:
            sim = IdReaderSimulator()
            sim.start()
        port = sim.port
    else:
        port = endpoint.serial_url
    reader = IdCardReader(port, read_timeout_s=dev.read_timeout_s, on_event=on_event)
    try:
        if verify:
            reader.open()
        reader.start_polling(dev.poll_interval_s)
    except BaseException:
        _quietly(reader.close)
        if sim is not None and sim is not simulator:
            _quietly(sim.stop)
        raise
    return reader, sim


def _open_printer(uri: str, on_event: Callable[[DeviceEvent], None] | None) -> ReceiptPrinter:
    """The receipt printer, open and monitored. For sim:// the adapter starts its own VirtualPrinter."""
    printer = ReceiptPrinter(uri, on_event=on_event)
    try:
        printer.open()
        # can_print() answers from the last known health: keep it fresh between residents.
        printer.start_monitoring()
    except BaseException:
        _quietly(printer.close)
        raise
    return printer


def _open_ssc(uri: str, on_event: Callable[[DeviceEvent], None] | None
              ) -> tuple[SscReader | None, SscReaderSimulator | None]:
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
        name = sim.reader_name
    reader = SscReader(name, on_event=on_event)
    try:
        reader.start()
    except BaseException:
        if sim is not None:
            _quietly(sim.stop)
        raise
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

    from kiosk.terminal.scanning import SimulatedQrCamera

    return {"camera": SceneCamera(FaceScene(blink_every=20)), "document_camera": SceneCamera(document_scene()),
            "qr_camera": SimulatedQrCamera()}


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
