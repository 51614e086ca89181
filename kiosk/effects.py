"""Carries out the flow's effects that talk to the gateway and the printer.

One owned worker thread runs them in order, so the UI thread never blocks on the network or
the printer; each answer comes back to the flow as an event through ``post``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from devices.base import DeviceError
from devices.printer.printer import ReceiptPrinter
from devices.printer.receipt import render_escpos
from kiosk import flow
from kiosk.receipts import print_item_layout
from kiosk.settings import Settings
from local_api.client import GatewayClient, GatewayError, GatewayUnavailable

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True)
class _Heartbeat:
    screen: str
    devices: dict[str, dict[str, object]]


class EffectRunner:
    """Runs gateway and printer effects on its own thread and posts the outcomes as flow events."""

    RESEND_AFTER_S = 1.0

    def __init__(self, settings: Settings, gateway: GatewayClient, printer: ReceiptPrinter,
                 post: Callable[[flow.Event], None], *, now: Callable[[], datetime] = datetime.now) -> None:
        self.settings = settings
        self.gateway = gateway
        self.printer = printer
        self.post = post
        self.now = now
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.last_receipt: bytes = b""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="effect-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None

    def run(self, effect: flow.Effect) -> None:
        """Queue an effect; effects the runner does not own (Show, SessionWiped) are ignored."""
        if isinstance(effect, (flow.FetchDocument, flow.Submit, flow.PrintReceipt, flow.SendRating)):
            self._queue.put(effect)

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _run(self) -> None:
        while True:
            effect = self._queue.get()
            try:
                if effect is _STOP:
                    return
                self._carry_out(effect)
            except Exception:  # the runner must outlive any one failure
                log.exception("effect failed: %s", type(effect).__name__)
            finally:
                self._queue.task_done()

    def _carry_out(self, effect: object) -> None:
        if isinstance(effect, flow.FetchDocument):
            self._guarded(lambda: flow.DocumentFetched(
                self.gateway.fetch_document(effect.item_code, effect.applicant)))
        elif isinstance(effect, flow.Submit):
            self._guarded(lambda: flow.SubmissionAccepted(self._submit(effect)))
        elif isinstance(effect, flow.PrintReceipt):
            self.post(self._print(effect))
        elif isinstance(effect, _Heartbeat):
            try:
                self.gateway.heartbeat(effect.screen, effect.devices)
            except (GatewayError, GatewayUnavailable) as exc:
                log.warning("heartbeat not delivered: %s", exc)
        elif isinstance(effect, flow.SendRating):
            try:
                self.gateway.rate(effect.receipt_no, effect.level)
            except (GatewayError, GatewayUnavailable) as exc:
                log.warning("rating not stored: %s", exc)

    def _submit(self, effect: flow.Submit) -> str:
        """Store the submission; after a lost answer, resend once with the same request id (the gateway
        then answers with the receipt number it already gave instead of storing a second copy)."""
        for attempt in (1, 2):
            try:
                answer = self.gateway.submit(effect.kind, effect.item_code, effect.applicant, effect.form,
                                             request_id=effect.request_id)
                return str(answer["receipt_no"])
            except GatewayUnavailable:
                if attempt == 2:
                    raise
                time.sleep(self.RESEND_AFTER_S)
        raise AssertionError("unreachable")

    def heartbeat(self, screen: str, devices: dict[str, dict[str, object]]) -> None:
        """Queue a heartbeat (screen and device states) for the gateway's operator status."""
        if self._queue.qsize() < 2:  # a slow gateway must not pile heartbeats up behind a resident's work
            self._queue.put(_Heartbeat(screen, devices))

    def _guarded(self, call: Callable[[], flow.Event]) -> None:
        try:
            event = call()
        except GatewayUnavailable:
            event = flow.ServiceFailed("error_gateway_unavailable")
        except GatewayError as exc:
            event = flow.ServiceFailed(_reason_key(exc.status), str(exc))
        self.post(event)

    def _print(self, effect: flow.PrintReceipt) -> flow.PrintFinished:
        layout = print_item_layout(effect.content, kiosk_id=self.settings.kiosk.id,
                                   place=self.settings.kiosk.place, now=self.now())
        data = render_escpos(layout, self.settings.devices.paper_width_mm)
        try:
            outcome = self.printer.print_job(effect.job_id, data)
        except DeviceError as exc:
            log.warning("print job failed: %s", exc)
            return flow.PrintFinished(effect.job_id, False, "打印机无响应")
        if outcome.printed:
            self.last_receipt = data
        return flow.PrintFinished(effect.job_id, outcome.printed, outcome.reason)


def _reason_key(status: int) -> str:
    if status == 404:
        return "error_not_found"
    if status in (400, 409, 422):
        return "error_rejected"
    return "error_platform_unavailable"
