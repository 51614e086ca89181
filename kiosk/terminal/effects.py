"""Carries out the flow's effects that talk to the gateway, the cameras and the printer.

One owned worker thread runs them in order, so the UI thread never blocks on the network, a camera
or the printer; each answer comes back to the flow as an event through ``post``. Camera work
(faces, document pages) is in ``kiosk/terminal/hardware.py``, QR work in ``kiosk/terminal/scanning.py``;
heartbeats have their own thread (``kiosk/terminal/heartbeat.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devices.base import DeviceError
from devices.printer.health import PaperLevel
from devices.printer.jobs import PrintOutcome, PrintState
from devices.printer.printer import ReceiptPrinter
from devices.printer.receipt import render_escpos
from kiosk import flow
from kiosk.settings import Settings
from kiosk.terminal import scanning
from kiosk.terminal.device_control import DeviceControl
from kiosk.terminal.hardware import capture_face, capture_page
from kiosk.terminal.receipts import slip_layout
from kiosk.terminal.worker import Worker
from local_api.client import GatewayClient, GatewayError, GatewayRefused, GatewayUnavailable

log = logging.getLogger(__name__)


class EffectRunner:
    """Runs gateway and printer effects on its own thread and posts the outcomes as flow events."""

    RESEND_AFTER_S = 1.0

    OWN = (flow.FetchDocument, flow.Submit, flow.PrintReceipt, flow.SendRating, flow.RunQuery, flow.ListSlots,
           flow.BookSlot, flow.CapturePage, flow.CaptureFace, flow.VerifyIdentity, flow.RequestHelp,
           flow.QrWork, flow.PaymentWork, flow.CheckDeliveries)

    def __init__(self, settings: Settings, gateway: GatewayClient, printer: ReceiptPrinter,
                 post: Callable[[flow.Event], None], *, now: Callable[[], datetime] = datetime.now,
                 cameras: dict[str, Any] | None = None, device_control: DeviceControl | None = None) -> None:
        self.settings = settings
        self._cameras = cameras or {}  # "camera" / "document_camera" → a frame source (kiosk.terminal.hardware)
        self.gateway = gateway
        self._printer = printer
        # With device control, devices may be reopened from new settings: always use the current ones.
        self.device_control = device_control
        self.post = post
        self.now = now
        self._worker: Worker[flow.Effect] = Worker("effect-runner", self._carry_out)
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
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def run(self, effect: flow.Effect) -> None:
        """Queue an effect; effects the runner does not own (Show, SessionWiped) are ignored.
        CancelPrints runs at once: a job still kept for reprint must not outlive the session."""
        if isinstance(effect, flow.CancelPrints):
            self.printer.cancel_all()
        elif isinstance(effect, self.OWN):
            self._worker.put(effect)

    def idle(self) -> bool:
        return self._worker.pending() == 0

    def _carry_out(self, effect: flow.Effect) -> None:
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
        elif isinstance(effect, flow.QrWork):  # QR scans and progress lookups
            scanning.carry_out(self, effect)
        elif isinstance(effect, flow.PaymentWork):
            self.post(self._payment(effect))
        elif isinstance(effect, flow.CheckDeliveries):
            self.post(flow.DeliveriesChecked({r: delivery_state(self.gateway, r) for r in effect.receipts}))
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

    def _submit(self, effect: flow.Submit) -> str:
        """Store the submission with every page the resident confirmed; after a lost answer, resend
        once with the same request id (the gateway then answers with the receipt number it already gave
        instead of storing a second copy). A 409 ``request_conflict`` means this request id was stored
        with another body: a bug here, never a resend; logged (no personal data) and shown as a failure."""
        for attempt in (1, 2):
            try:
                answer = self.gateway.submit(effect.kind, effect.item_code, effect.applicant, effect.form,
                                             materials=list(effect.materials), request_id=effect.request_id,
                                             bundle=bundle_of(effect))
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

    def _payment(self, effect: flow.PaymentWork) -> flow.Event:
        """Create, poll or cancel a payment order at the gateway; always answers, so the flow never waits
        on a lost call. Creating is resent once with the same request id after a lost answer (the gateway
        then answers with the same order)."""
        request_id = effect.request_id if isinstance(effect, flow.CreatePayment) else ""
        try:
            if isinstance(effect, flow.CreatePayment):
                for attempt in (1, 2):
                    try:
                        return flow.PaymentAnswered(self.gateway.create_payment(
                            effect.item_code, effect.applicant, effect.form, request_id=effect.request_id,
                            amount=effect.amount or None, materials=list(effect.materials)), request_id=request_id)
                    except GatewayUnavailable:
                        if attempt == 2:
                            raise
                        time.sleep(self.RESEND_AFTER_S)
            if isinstance(effect, flow.PollPayment):
                return flow.PaymentAnswered(self.gateway.payment(effect.order_no))
            if isinstance(effect, flow.CancelPayment):
                return flow.PaymentAnswered(self.gateway.cancel_payment(effect.order_no, effect.reason))
        except GatewayUnavailable:
            return flow.PaymentAnswered(reason_key="pay_unavailable", request_id=request_id)
        except GatewayError as exc:
            status = getattr(exc, "status", 503)
            log.warning("payment call refused: HTTP %s %s", status, getattr(exc, "error", ""))
            key = "pay_unavailable" if status in (503, 507) else "pay_failed"
            return flow.PaymentAnswered(reason_key=key, request_id=request_id)
        raise AssertionError(f"not a payment effect: {type(effect).__name__}")

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
            return flow.PrintFinished(effect.job_id, False, "printer_unavailable")

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
            return flow.PrintFinished(effect.job_id, False, "printer_unavailable")
        if outcome.printed:
            self.last_receipt = data
            return flow.PrintFinished(effect.job_id, True)
        log.warning("slip not printed: %s", outcome.reason)  # the technician's words, no personal data
        return flow.PrintFinished(effect.job_id, False, resident_reason(outcome))


def resident_reason(outcome: PrintOutcome) -> str:
    """What a resident is told about a slip that was not printed (:data:`flow.PRINT_REASONS`): paper out
    or cover open as such, a job that may be half on paper as unknown, anything else as unavailable."""
    health = outcome.health
    if outcome.state in (PrintState.INTERRUPTED, PrintState.UNKNOWN):
        return "print_unknown"
    if health is not None and (health.paper is PaperLevel.OUT or health.stopped_by_paper_end):
        return "printer_paper_out"
    if health is not None and health.cover_open:
        return "printer_cover_open"
    return "printer_unavailable"


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


def bundle_of(effect: flow.Submit) -> dict[str, str] | None:
    """一件事: the bundle a submission belongs to (``{id, code}``), None for a single item."""
    return {"id": effect.bundle_id, "code": effect.bundle_code} if effect.bundle_id else None


def delivery_state(gateway: GatewayClient, receipt_no: str) -> str:
    """一件事: the outbox's state of one submission; ``unknown`` when the gateway cannot say."""
    try:
        return str(gateway.submission(receipt_no).get("state") or "unknown")
    except (GatewayError, GatewayUnavailable):
        return "unknown"
