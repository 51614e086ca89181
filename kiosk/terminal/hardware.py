"""Opens the terminal's devices from their endpoints.

The kiosk app owns its devices (card events need low latency); this module knows which adapter
each setting means. What an endpoint opens — a real port, or a simulator standing in for
``sim://`` — is the endpoint registry's answer (:mod:`devices.endpoints`), never decided here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devices.base import DeviceError, DeviceEvent, DeviceNotFound, DeviceState, DeviceStatus, LastError
from devices.endpoints import PcscPort, SerialPort, SimulatorUnavailable, open_pcsc_port, open_serial_port
from devices.id_card.reader import IdCardReader
from devices.id_card.simulator import IdReaderSimulator
from devices.printer.printer import ReceiptPrinter
from devices.printer.simulator import VirtualPrinter
from devices.smartcard.reader import SscReader
from devices.smartcard.simulator import SscReaderSimulator
from kiosk import flow
from kiosk.endpoints import parse_endpoint
from kiosk.settings import DevicesSection, Settings
from kiosk.terminal.cameras import (
    camera_availability,
    camera_statuses,
    camera_up,
    close_cameras,
    open_cameras,
)

if TYPE_CHECKING:
    from devices.camera.camera import FrameSource

log = logging.getLogger(__name__)


#: Which settings each device is opened from: a change to one of these reopens that device only.
DEVICE_KEYS: dict[str, tuple[str, ...]] = {
    "id_reader": ("id_reader", "read_timeout_s", "poll_interval_s"),
    "printer": ("printer",),
    "ssc_reader": ("ssc_reader",),
}


@dataclass
class Hardware:
    """The opened devices, and the ports they were opened on (with the simulators standing in
    for absent ones).

    :meth:`reopen` replaces one device in place (this object stays the same, so whoever holds
    ``terminal.hardware`` keeps a valid reference).
    """

    id_reader: IdCardReader
    printer: ReceiptPrinter
    id_port: SerialPort
    ssc_reader: SscReader | None = None
    ssc_port: PcscPort | None = None
    cameras: dict[str, FrameSource] = field(default_factory=dict)
    on_event: Callable[[DeviceEvent], None] | None = None
    ssc_problem: str = ""
    """Why a configured social security card reader could not be started at all ('' when it was, or
    none is configured): it is then reported ``no_device`` with this reason."""
    opened_at: float = field(default_factory=time.time)

    @property
    def id_simulator(self) -> IdReaderSimulator | None:
        """The simulated ID card reader standing in for ``sim://``, else None."""
        return self.id_port.simulator

    @property
    def ssc_simulator(self) -> SscReaderSimulator | None:
        """The simulated social security card reader standing in for ``sim://``, else None."""
        return self.ssc_port.simulator if self.ssc_port is not None else None

    @classmethod
    def open(cls, settings: Settings, on_event: Callable[[DeviceEvent], None]) -> Hardware:
        """Open every device. A device that is absent or failing does not stop the terminal: it is
        down with its reason (its status) and picked up when it appears. On any other failure, close
        what was opened and re-raise."""
        dev = settings.devices
        reader: IdCardReader | None = None
        id_port: SerialPort | None = None
        ssc_reader: SscReader | None = None
        ssc_port: PcscPort | None = None
        try:
            # Polling runs under the device supervisor: a reader unplugged now (or later) is
            # reconnected with backoff instead of keeping the kiosk from starting.
            reader, id_port = _open_id_reader(dev, on_event)
            ssc_reader, ssc_port = _open_ssc(dev, on_event)
            ssc_problem = "" if ssc_reader is not None or dev.ssc_reader == "none" else (
                f"social security card reader {dev.ssc_reader} could not be started: see the app's log")
            # Likewise a printer that is not there (yet): down with its reason, monitored until it answers.
            printer = _open_printer(dev.printer, on_event, absent_ok=True)
        except BaseException:
            for close in (getattr(ssc_reader, "stop", None), getattr(ssc_port, "close", None),
                          getattr(reader, "close", None), getattr(id_port, "close", None)):
                if close is not None:
                    _quietly(close)
            raise
        cameras = open_cameras(dev, on_event)
        log.info("devices open", extra={"id_reader": parse_endpoint(dev.id_reader).scheme,
                                        "printer": parse_endpoint(dev.printer).scheme})
        return cls(reader, printer, id_port, ssc_reader, ssc_port, cameras, on_event, ssc_problem=ssc_problem)

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
            self._reopen_ssc(devices, previous)
        else:
            raise ValueError(f"{name!r} is not a device that can be reopened; use one of {', '.join(DEVICE_KEYS)}")
        log.info("device reopened", extra={"device": name})

    def _reopen_id_reader(self, devices: DevicesSection, previous: DevicesSection) -> None:
        old_reader, old_port = self.id_reader, self.id_port
        # Close first: the new settings may name the same port (only a timeout changed).
        old_reader.close()
        try:
            reader, port = _open_id_reader(devices, self.on_event, reuse=old_port, verify=True)
        except DeviceError:
            # The old reader object keeps its counters: start it polling again as it was.
            old_reader.start_polling(previous.poll_interval_s)
            raise
        if port is not old_port:
            _quietly(old_port.close)
        self.id_reader, self.id_port = reader, port

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

    def _reopen_ssc(self, devices: DevicesSection, previous: DevicesSection) -> None:
        uri = devices.ssc_reader
        old_reader, old_port = self.ssc_reader, self.ssc_port
        if old_reader is not None:
            old_reader.stop()
        if old_port is not None:
            old_port.close()
        try:
            self.ssc_reader, self.ssc_port = _open_ssc(devices, self.on_event)
        except Exception as exc:
            self.ssc_reader, self.ssc_port = _open_ssc(previous, self.on_event)
            if isinstance(exc, DeviceError):
                raise
            raise DeviceNotFound(f"social security card reader {uri} cannot be started ({exc}); "
                                 "the previous reader is in use again") from exc

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every configured device's status, for the operator's heartbeat (no personal data): the ID
        card reader, the printer, the social security card reader and each camera by its settings name."""
        out = {"id_reader": self.id_reader.status().to_dict(), "printer": self.printer.status().to_dict()}
        ssc = self.ssc_reader
        if ssc is not None:
            out["ssc_reader"] = ssc.status().to_dict()
        elif self.ssc_problem:
            problem = DeviceNotFound(self.ssc_problem)
            out["ssc_reader"] = DeviceStatus("ssc_reader", DeviceState.NO_DEVICE, errors=1, last_error=LastError(
                self.ssc_problem, problem.hint, self.opened_at)).to_dict()
        out.update(camera_statuses(self.cameras))
        return out

    def available(self) -> dict[str, bool]:
        """What the flow may offer now: ID card reader there, printer ready, each camera giving frames (no I/O)."""
        reader = self.id_reader.status().state
        return {"id_reader": reader not in (DeviceState.NO_DEVICE, DeviceState.HARDWARE_ERROR),
                "printer": self.printer.can_print(), **camera_availability(self.cameras)}

    @property
    def printer_simulator(self) -> VirtualPrinter | None:
        return self.printer.simulator

    def close(self) -> None:
        """Close every device and stop every simulator (idempotent)."""
        close_cameras(self.cameras)
        _quietly(self.printer.close)  # also stops its monitor and its own virtual printer
        if self.ssc_reader is not None:
            _quietly(self.ssc_reader.stop)
        if self.ssc_port is not None:
            _quietly(self.ssc_port.close)
        _quietly(self.id_reader.close)
        _quietly(self.id_port.close)


def _open_id_reader(dev: DevicesSection, on_event: Callable[[DeviceEvent], None] | None, *,
                    reuse: SerialPort | None = None, verify: bool = False) -> tuple[IdCardReader, SerialPort]:
    """The ID card reader polling under its supervisor, on the port its endpoint opens (``reuse``:
    the port before a reopen, kept with its simulator when the endpoint opens the same kind). ``verify``
    opens the port first and raises DeviceNotFound when it cannot be opened (a technician's change);
    at start-up the supervisor keeps retrying instead."""
    port = open_serial_port(dev.id_reader, reuse=reuse)
    reader = IdCardReader(port.url, read_timeout_s=dev.read_timeout_s, on_event=on_event)
    try:
        if verify:
            reader.open()
        reader.start_polling(dev.poll_interval_s)
    except BaseException:
        _quietly(reader.close)
        if port is not reuse:
            _quietly(port.close)
        raise
    return reader, port


#: How often the printer's status is read: an absent printer is picked up within this (plus a connect).
PRINTER_MONITOR_S = 1.0


def _open_printer(uri: str, on_event: Callable[[DeviceEvent], None] | None, *,
                  absent_ok: bool = False) -> ReceiptPrinter:
    """The receipt printer, open and monitored (for ``sim://`` its port starts a virtual printer).

    ``absent_ok`` (start-up): a printer that cannot be reached or does not speak ESC/POS stays down
    with the reason in its status, and the monitor keeps asking until it answers; otherwise (a
    technician's change) the DeviceError is raised."""
    printer = ReceiptPrinter(uri, on_event=on_event)
    try:
        try:
            printer.open()
        except DeviceError as exc:
            if not absent_ok:
                raise
            log.warning("printer %s is not available at start-up (%s): starting without it; it is picked up "
                        "when it answers", parse_endpoint(uri).scheme, exc)
        # can_print() answers from the last known health: keep it fresh between residents.
        printer.start_monitoring(PRINTER_MONITOR_S)
    except BaseException:
        _quietly(printer.close)
        raise
    return printer


def _open_ssc(dev: DevicesSection, on_event: Callable[[DeviceEvent], None] | None
              ) -> tuple[SscReader | None, PcscPort | None]:
    """The social security card reader ``devices.ssc_reader``, if configured, with the settings' time
    limits on one command and one whole read. Its supervisor keeps retrying a missing pcscd or reader,
    so only a simulator that cannot start at all leaves the kiosk without one."""
    uri = dev.ssc_reader
    if uri == "none":
        return None, None
    try:
        port = open_pcsc_port(uri)
    except SimulatorUnavailable as exc:
        log.warning("%s", exc)
        return None, None
    reader = SscReader(port.reader_name, on_event=on_event, apdu_timeout_s=dev.ssc_apdu_timeout_s,
                       read_timeout_s=dev.ssc_read_timeout_s)
    try:
        reader.start()
    except BaseException:
        _quietly(port.close)
        raise
    return reader, port


def _quietly(close: Callable[[], Any]) -> None:
    try:
        close()
    except Exception:  # closing must go on for the other devices
        log.exception("error while closing a device")


# --- cameras --------------------------------------------------------------------------------

def capture_page(camera: Any, material: int, attempts: int = 10) -> Any:
    """One page from the document camera as a flow event (PageCaptured, or ServiceFailed to retake)."""
    import cv2  # lazy: OpenCV costs 0.3 s at start-up; only a page capture needs it here
    import numpy as np  # lazy: as OpenCV above

    from devices.camera.document import PageNotFound, scan_page  # lazy: imports OpenCV (above)

    if not camera_up(camera):  # absent, or unplugged since the item was offered
        return flow.ServiceFailed("notice_no_document_camera")
    for _ in range(attempts):
        frame = camera.read()
        if frame is None:
            if not camera_up(camera):
                return flow.ServiceFailed("notice_no_document_camera")
            continue
        try:
            page = scan_page(frame)
        except PageNotFound:
            continue
        image = cv2.imdecode(np.frombuffer(page.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
        scale = 240 / max(image.shape[:2])
        thumb = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
        ok, png = cv2.imencode(".png", thumb)
        return flow.PageCaptured(material, page.jpeg, page.width, page.height, png.tobytes() if ok else b"")
    return flow.ServiceFailed("notice_page_not_found")


def capture_face(camera: Any, max_frames: int = 200) -> Any:
    """The best face frame with the baseline blink check, as a flow event (FaceCaptured)."""
    # lazy: devices.camera.face imports OpenCV (0.3 s at start-up); only a face capture needs it
    from devices.camera.face import BlinkChallenge, FaceCapture, FaceFramer

    if not camera_up(camera):  # absent, or unplugged since the item was offered
        return flow.FaceCaptured(b"", False, "no camera")
    framer = FaceFramer()
    capture = FaceCapture(framer, liveness=BlinkChallenge(framer))
    step = 1.0 / getattr(camera, "fps", 25.0)
    for i in range(max_frames):
        frame = camera.read()
        if frame is None:
            if not camera_up(camera):  # unplugged mid-capture: a read waits a second, do not wait 200
                return flow.FaceCaptured(b"", False, "no camera")
            continue
        capture.offer(frame, now=i * step)
        if capture.liveness is not None and capture.liveness.result is not None and capture.has_candidate:
            break
    shot = capture.take()
    if shot is None:
        return flow.FaceCaptured(b"", False, "no well-framed face")
    live = bool(shot.liveness and shot.liveness.passed)
    return flow.FaceCaptured(shot.jpeg if live else b"", live, shot.liveness.reason if shot.liveness else "")
