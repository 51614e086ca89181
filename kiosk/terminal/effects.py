"""Carries out the flow's effects that talk to the gateway, the cameras and the printer.

One owned worker thread runs them in order, so the UI thread never blocks on the network, a camera
or the printer; each answer comes back to the flow as an event through ``post``. Camera work
(faces, document pages) is in ``kiosk/terminal/hardware.py``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devices.base import DeviceError
from devices.printer.printer import ReceiptPrinter
from devices.printer.receipt import render_escpos
from kiosk import flow
from kiosk.terminal.hardware import capture_face, capture_page
from kiosk.terminal.receipts import slip_layout
from kiosk.settings import Settings
from local_api.client import GatewayClient, GatewayError, GatewayRefused, GatewayUnavailable

if TYPE_CHECKING:
    from kiosk.terminal.device_control import DeviceControl

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True)
class _Heartbeat:
    screen: str
    devices: dict[str, dict[str, object]]
    screen_png: Callable[[], bytes] | None = None


class EffectRunner:
    """Runs gateway and printer effects on its own thread and posts the outcomes as flow events."""

    RESEND_AFTER_S = 1.0

    OWN = (flow.FetchDocument, flow.Submit, flow.PrintReceipt, flow.SendRating, flow.RunQuery, flow.ListSlots,
           flow.BookSlot, flow.CapturePage, flow.CaptureFace, flow.VerifyIdentity, flow.RequestHelp,
           flow.QrWork)

    def __init__(self, settings: Settings, gateway: GatewayClient, printer: ReceiptPrinter,
                 post: Callable[[flow.Event], None], *, now: Callable[[], datetime] = datetime.now,
                 cameras: dict[str, Any] | None = None, device_control: DeviceControl | None = None) -> None:
        self.settings = settings
        self._cameras = cameras or {}  # "camera" / "document_camera" → a frame source (kiosk.terminal.hardware)
        self.gateway = gateway
        self._printer = printer
        # With device control, devices may be reopened from new settings: always use the current ones.
        self.device_control = device_control
        self._results: list[dict[str, Any]] = []  # device test outcomes for the next heartbeat
        self.post = post
        self.now = now
        self._queue: queue.Queue[object] = queue.Queue()
        # Heartbeats (and the device work they bring) have their own thread and gateway connection: a
        # resident's 30 s QR scan or face capture must not make the terminal look dead to operators.
        self._beats: queue.Queue[object] = queue.Queue()
        self._beat_gateway = GatewayClient(gateway.base_url, gateway.timeout_s) \
            if isinstance(gateway, GatewayClient) else gateway
        self._beat_thread: threading.Thread | None = None
        self._tally: dict[tuple[str, str], int] = {}
        self._tally_lock = threading.Lock()
        self._run_id = uuid.uuid4().hex[:16]  # this app run, for the gateway's per-run session totals
        self._thread: threading.Thread | None = None
        self.last_receipt: bytes = b""

    @property
    def printer(self) -> ReceiptPrinter:
        """The printer in use now (after a settings change, the reopened one)."""
        return self.device_control.hardware.printer if self.device_control is not None else self._printer

    @property
    def cameras(self) -> dict[str, Any]:
        """The cameras in use now: ``camera`` / ``document_camera`` → a frame source."""
        return self.device_control.hardware.cameras if self.device_control is not None else self._cameras

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, args=(self._queue,), name="effect-runner", daemon=True)
        self._thread.start()
        self._beat_thread = threading.Thread(target=self._run, args=(self._beats,), name="heartbeat", daemon=True)
        self._beat_thread.start()

    def stop(self) -> None:
        for work, thread in ((self._queue, self._thread), (self._beats, self._beat_thread)):
            if thread is not None:
                work.put(_STOP)
                thread.join(timeout=10)
        self._thread = self._beat_thread = None
        if self._beat_gateway is not self.gateway:
            self._beat_gateway.close()

    def run(self, effect: flow.Effect) -> None:
        """Queue an effect; effects the runner does not own (Show, SessionWiped) are ignored.
        CancelPrints runs at once: a job still kept for reprint must not outlive the session."""
        if isinstance(effect, flow.CancelPrints):
            self.printer.cancel_all()
        elif isinstance(effect, flow.SessionWiped):
            if effect.outcome:
                with self._tally_lock:
                    key = (effect.item_kind, effect.outcome)
                    self._tally[key] = self._tally.get(key, 0) + 1
        elif isinstance(effect, self.OWN):
            self._queue.put(effect)

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _run(self, work: queue.Queue[object]) -> None:
        while True:
            effect = work.get()
            try:
                if effect is _STOP:
                    return
                self._carry_out(effect)
            except Exception:  # the runner must outlive any one failure
                log.exception("effect failed: %s", type(effect).__name__)
            finally:
                work.task_done()

    def _carry_out(self, effect: object) -> None:
        if isinstance(effect, flow.FetchDocument):
            self._guarded(lambda: flow.DocumentFetched(
                self.gateway.fetch_document(effect.item_code, effect.applicant)))
        elif isinstance(effect, flow.Submit):
            self._guarded(lambda: flow.SubmissionAccepted(self._submit(effect)))
        elif isinstance(effect, flow.PrintReceipt):
            self.post(self._print(effect))
        elif isinstance(effect, flow.RunQuery):
            self._guarded(lambda: flow.QueryAnswered(self.gateway.query(effect.item_code, effect.applicant)))
        elif isinstance(effect, flow.ListSlots):
            self._guarded(lambda: self._slots(effect.item_code))
        elif isinstance(effect, flow.BookSlot):
            self._guarded(lambda: flow.AppointmentBooked(self.gateway.book_appointment(
                effect.item_code, effect.slot_id, effect.applicant, request_id=effect.request_id)))
        elif isinstance(effect, flow.VerifyIdentity):
            self._guarded(lambda: self._verify(effect))
        elif isinstance(effect, flow.RequestHelp):
            self._guarded(lambda: self._help(effect))
        elif isinstance(effect, flow.CapturePage):
            self.post(capture_page(self.cameras.get("document_camera"), effect.material))
        elif isinstance(effect, flow.CaptureFace):
            self.post(capture_face(self.cameras.get("camera")))
        elif isinstance(effect, flow.QrWork):  # QR scans and progress lookups: kiosk/terminal/scanning.py
            from kiosk.terminal.scanning import carry_out

            carry_out(self, effect)
        elif isinstance(effect, _Heartbeat):
            self._heartbeat(effect)
        elif isinstance(effect, flow.SendRating):
            try:
                self.gateway.rate(effect.receipt_no, effect.level, effect.text)
            except (GatewayError, GatewayUnavailable) as exc:
                log.warning("rating not stored: %s", exc)

    def _slots(self, item_code: str) -> flow.SlotsListed:
        answer = self.gateway.appointment_slots(item_code)
        return flow.SlotsListed(list(answer.get("slots", [])), str(answer.get("place", "")))

    def _verify(self, effect: flow.VerifyIdentity) -> flow.IdentityChecked:
        answer = self.gateway.verify_identity(effect.applicant, effect.face_jpeg, effect.item_code)
        return flow.IdentityChecked(bool(answer.get("verified")), str(answer.get("reason", "")))

    def _help(self, effect: flow.RequestHelp) -> flow.HelpQueued:
        if effect.what == "help":
            answer = self.gateway.help_request("grid_worker", effect.category, item_code=effect.item_code)
        else:
            answer = self.gateway.report(effect.category, "办不成事反映（自助终端）", item_code=effect.item_code)
        return flow.HelpQueued(str(answer.get("receipt_no", "")), effect.what)

    def _heartbeat(self, effect: _Heartbeat) -> None:
        """Report the screen and devices; the answer says whether the platform can be reached."""
        try:
            results, self._results = self._results[:32], self._results[32:]  # the gateway takes 32 at most
            answer = self._beat_gateway.heartbeat(effect.screen, effect.devices, results=results,
                                            sessions=self.session_counts())
        except (GatewayError, GatewayUnavailable) as exc:
            self._results[:0] = results  # not delivered: they go with the next heartbeat
            log.warning("heartbeat not delivered: %s", exc)
            return
        self._device_operations(answer)
        platform = answer.get("platform") or {}
        if platform:
            up = bool(platform.get("reachable", True)) and platform.get("breaker") != "open"
            self.post(flow.DeviceStates({"platform": up}))
        service = answer.get("service")
        if isinstance(service, dict):
            self.post(flow.ServiceSwitched(bool(service.get("in_service", True)), str(service.get("message", ""))))
        if effect.screen_png:
            try:
                self._beat_gateway.post_screen(effect.screen_png())
            except (GatewayError, GatewayUnavailable) as exc:
                log.warning("screen picture not delivered: %s", exc)

    def _device_operations(self, answer: dict[str, Any]) -> None:
        """Run the device tests a technician queued at the gateway (outcomes go with the next heartbeat)
        and apply device settings changed there; then let the screens' availability follow."""
        dc = self.device_control
        if dc is None:
            return
        settings_view = answer.get("device_settings")
        if isinstance(settings_view, dict):
            outcome = dc.apply_view(settings_view)
            if outcome is not None:
                self.post(flow.DeviceStates(dc.hardware.available()))
                self._audit("settings_changed", "ok" if outcome.applied else "kept_last_good", outcome.message)
        for command in answer.get("commands") or ():
            if not isinstance(command, dict) or "command_id" not in command:
                continue
            test = dc.test(str(command.get("device", "")), str(command.get("action", "")))
            self._results.append({"command_id": str(command["command_id"]), "ok": test.ok,
                                  "detail": test.detail[:500]})
            if command.get("action") == "reset":
                self.post(flow.DeviceStates(dc.hardware.available()))

    def _audit(self, action: str, outcome: str, detail: str) -> None:
        """Record a device operation in the gateway's audit, when the client offers it."""
        audit = getattr(self._beat_gateway, "audit", None)
        if audit is None:
            return
        try:
            audit(action, outcome, "devices", detail[:300])
        except Exception as exc:  # the audit is a record, not a reason to stop applying settings
            log.warning("audit record not delivered: %s", exc)

    def _submit(self, effect: flow.Submit) -> str:
        """Store the submission with every page the resident confirmed; after a lost answer, resend
        once with the same request id (the gateway then answers with the receipt number it already gave
        instead of storing a second copy). A 409 ``request_conflict`` means this request id was stored
        with another body: a bug here, never a resend; logged (no personal data) and shown as a failure."""
        for attempt in (1, 2):
            try:
                answer = self.gateway.submit(effect.kind, effect.item_code, effect.applicant, effect.form,
                                             materials=list(effect.materials), request_id=effect.request_id)
                return str(answer["receipt_no"])
            except GatewayUnavailable:
                if attempt == 2:
                    raise
                time.sleep(self.RESEND_AFTER_S)
            except GatewayRefused as exc:
                if exc.status == 409 and exc.error == "request_conflict":
                    log.error("BUG: request id %s was reused for a different %s of %s; the gateway kept the "
                              "first and refused this one", effect.request_id, effect.kind, effect.item_code)
                raise
        raise AssertionError("unreachable")

    def session_counts(self) -> dict[str, Any]:
        """Sessions ended since this app started, by item kind and outcome (no personal data); the
        gateway adds them up per ``run`` so an app restart neither loses nor doubles a count."""
        with self._tally_lock:
            counts = [{"item_kind": kind, "outcome": outcome, "count": n}
                      for (kind, outcome), n in sorted(self._tally.items())]
        return {"run": self._run_id, "counts": counts}

    def heartbeat(self, screen: str, devices: dict[str, dict[str, object]],
                  screen_png: Callable[[], bytes] | None = None) -> None:
        """Queue a heartbeat (screen and device states) for the gateway's operator status;
        ``screen_png`` encodes the current frame on the heartbeat thread, off the UI loop."""
        if self._beats.qsize() < 2:  # a slow gateway must not pile heartbeats up
            self._beats.put(_Heartbeat(screen, devices, screen_png))

    def _guarded(self, call: Callable[[], flow.Event]) -> None:
        try:
            event = call()
        except GatewayUnavailable:
            event = flow.ServiceFailed("error_gateway_unavailable")
        except GatewayError as exc:
            status = getattr(exc, "status", 503)
            event = flow.ServiceFailed(_reason_key(status, getattr(exc, "error", "")), str(exc))
            if status == 503:  # platform_unavailable: mark the online items unavailable until it is back
                self.post(flow.DeviceStates({"platform": False}))
        self.post(event)

    def _print(self, effect: flow.PrintReceipt) -> flow.PrintFinished:
        try:
            return self._print_slip(effect)
        except Exception:  # whatever broke, the resident must not wait on 'printing' for ever
            log.exception("slip could not be printed")
            return flow.PrintFinished(effect.job_id, False, "打印失败")

    def _print_slip(self, effect: flow.PrintReceipt) -> flow.PrintFinished:
        layout = slip_layout(effect.layout, effect.content, kiosk_id=self.settings.kiosk.id,
                             place=self.settings.kiosk.place, now=self.now())
        dc = self.device_control
        paper = (dc.settings if dc is not None else self.settings).devices.paper_width_mm
        data = render_escpos(layout, paper)
        try:
            outcome = dc.print_job(effect.job_id, data) if dc is not None else self.printer.print_job(effect.job_id, data)
        except DeviceError as exc:
            log.warning("print job failed: %s", exc)
            return flow.PrintFinished(effect.job_id, False, "打印机无响应")
        if outcome.printed:
            self.last_receipt = data
        return flow.PrintFinished(effect.job_id, outcome.printed, outcome.reason)


def _reason_key(status: int, error: str = "") -> str:
    if error == "request_conflict":  # nothing was stored: not the platform's refusal, and never "done"
        return "error_not_stored"
    if status == 507:  # the terminal's own disk is full: this kiosk cannot take it, the platform is fine
        return "error_gateway_unavailable"
    if status == 503:
        return "error_platform_unavailable"
    if status == 404:
        return "error_not_found"
    if status in (400, 409, 422):
        return "error_rejected"
    return "error_platform_unavailable"
