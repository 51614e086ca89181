"""The receipt printer adapter: ESC/POS over TCP (port 9100), serial, USB or a file.

Health comes from the real-time status command DLE EOT n (``10 04 n``, DEVICES.md §3), read
with our own timeout: python-escpos waits 60 s on a silent printer and calls an empty answer
"paper adequate", and a kiosk must never believe a printer it cannot hear.

After :meth:`ReceiptPrinter.open`, nothing here raises a device error at the kiosk: a printer
that is unreachable, silent, babbling or out of paper is a :class:`PrinterHealth` and each job
ends as a :class:`PrintOutcome` (printed / refused / interrupted / unknown, see ``jobs.py``).
An owned monitor thread (:meth:`start_monitoring`) polls the status between jobs, reports
paper threshold and recovery events, expires kept jobs and finishes them once paper is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from devices.base import (
    ActionHint,
    DeviceError,
    DeviceNotFound,
    DeviceProtocolError,
    DeviceState,
    DeviceStatus,
    EventCallback,
    StatusTracker,
)
from devices.endpoints import open_printer_port

from .connections import PRINTER_SETTLE_S, Link, Links, printer_endpoint
from .health import PAPER_EVENTS, PaperLevel, PrinterHealth, decode_status, read_status
from .jobs import JobLedger, KeptJobs, PrintOutcome, PrintState
from .monitor import StatusMonitor
from .receipt import encode_text

__all__ = [
    "REPRINT_MARK",
    "PaperLevel",
    "PrintOutcome",
    "PrintState",
    "PrinterHealth",
    "ReceiptPrinter",
    "decode_status",
]

if TYPE_CHECKING:
    from .simulator import VirtualPrinter

log = logging.getLogger(__name__)

#: Printed above a receipt sent a second time, so a duplicate can be told from the original.
REPRINT_MARK = b"\x1b@\x1ba\x01" + encode_text("（补打 / REPRINT）") + b"\n"

_UNKNOWN = ("无法确认是否已打印 / whether the receipt came out is unknown, "
            "so it is not sent again by itself: "
            "ask the resident, then call reprint() if it did not")


class PrinterAttention(DeviceError):
    """A printer condition staff must fix (paper, cover, cutter); recorded as the last error."""

    def __init__(self, message: str, hint: ActionHint) -> None:
        super().__init__(message, retryable=True)
        self.hint = hint


class ReceiptPrinter:
    """An ESC/POS receipt printer at ``uri`` on the shared device layer.

    ``uri``: ``tcp://host:9100``, ``usb://VID:PID``, ``/dev/ttyUSB0`` or a pyserial URL,
    ``file:///path``, or ``sim://printer`` (an owned
    :class:`~devices.printer.simulator.VirtualPrinter`, started in :meth:`open`).
    ``timeout_s`` bounds each step. Events to ``on_event``: ``state_changed``, ``paper_full`` /
    ``paper_low`` / ``paper_out`` (on change only), ``recovered`` (answering again after
    silence or a lost link; payload the health), ``job_outcome`` (a kept job was finished
    or given up; payload its :class:`PrintOutcome`) and ``job_expired`` (payload the job id).
    ``keep_jobs`` / ``keep_s`` bound the jobs kept for paper (privacy: see ``jobs.py``);
    ``settle_s`` keeps watching the status that long after sending (None: as long as the link
    says, 1 s for real printers, 0 for the simulator and files).

    What the endpoint opens is decided by the registry (:mod:`devices.endpoints`): the adapter
    only starts and stops its port and asks it for links.
    """

    def __init__(self, uri: str, *, timeout_s: float = 3.0, on_event: EventCallback | None = None,
                 name: str = "printer", baudrate: int = 9600, remember_jobs: int = 1000,
                 keep_jobs: int = 2, keep_s: float = 120.0, settle_s: float | None = None,
                 auto_resume: bool = True, reprint_mark: bytes = REPRINT_MARK,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = printer_endpoint(uri)
        self.timeout_s = timeout_s
        self.baudrate = baudrate
        self.settle_s = settle_s
        self.auto_resume = auto_resume
        self.reprint_mark = reprint_mark
        self._tracker = StatusTracker(name, on_event)
        self._lock = threading.RLock()
        self._port = open_printer_port(self.endpoint, timeout=timeout_s, baudrate=baudrate)
        self._links = Links(self._port)
        self._health: PrinterHealth | None = None
        self._paper: PaperLevel | None = None
        self._last_problem = ""
        self._ledger = JobLedger(remember_jobs)
        self._kept = KeptJobs(keep_jobs, keep_s, clock)
        self._opened = False
        self._monitor = StatusMonitor(self.poll, self._lock, f"printer-monitor:{name}",
                                      join_s=max(10.0, 8 * timeout_s + (PRINTER_SETTLE_S if settle_s is None else settle_s)))

    # -- lifecycle

    @property
    def simulator(self) -> VirtualPrinter | None:
        """The virtual printer standing in for ``sim://`` while open (tests and demos script it), else None."""
        return self._port.simulator

    def open(self) -> None:
        """Check the printer is there and read its health (files: that they can be written).

        Raises DeviceNotFound when the endpoint cannot be opened and DeviceProtocolError when
        what answers is not an ESC/POS printer: both are settings problems worth stopping for.
        A printer that is there but silent opens fine and reads as offline.
        """
        with self._lock:
            self._port.start()
            self._opened = True
            try:
                link = self._link()
            except DeviceError as exc:
                self._apply(PrinterHealth.unreachable(exc))
                raise
            try:
                health = self._check(link)
            finally:
                self._release(link)
            if health.garbled:
                raise DeviceProtocolError(health.problem)

    def close(self) -> None:
        """Stop monitoring, release the port, wipe kept jobs, stop an owned simulator. Idempotent."""
        self.stop_monitoring()
        with self._lock:
            self._links.close()
            for job_id in self._kept.ids():
                self._kept.drop(job_id)
            self._port.stop()
            self._opened = False
            self._tracker.set_state(DeviceState.OFFLINE)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> DeviceStatus:
        """The last known status (no I/O); ``detail`` has paper, cover_open, ready, reason."""
        return self._tracker.snapshot()

    @property
    def last_health(self) -> PrinterHealth | None:
        """The health from the last status query (no I/O); None before the first."""
        return self._health

    def can_print(self) -> bool:
        """Whether the last known health says a receipt would print now (no I/O). With the
        monitor running this is at most one interval old: ask it before a resident starts
        an item that ends in a receipt."""
        return self._health is not None and self._health.ready

    # -- monitoring

    def start_monitoring(self, interval_s: float = 2.0) -> None:
        """Call :meth:`poll` every ``interval_s`` on an owned thread, between jobs (idempotent)."""
        self._monitor.start(interval_s)

    def stop_monitoring(self) -> None:
        """Stop the monitor thread and wait for it (idempotent)."""
        self._monitor.stop()

    @property
    def monitoring(self) -> bool:
        """Whether the monitor thread is running."""
        return self._monitor.running

    def poll(self) -> PrinterHealth:
        """One monitor step: query the status, expire kept jobs, and finish kept jobs when the
        printer is ready again (if ``auto_resume``). The monitor thread calls this; so can a caller."""
        with self._lock:
            health = self.query_status()
            self._expire()
            if self.auto_resume and health.ready and len(self._kept):
                self.resume_pending()
            return health

    # -- status

    def query_status(self) -> PrinterHealth:
        """Ask DLE EOT 1–4 now. Never raises a device error: a silent or unreachable printer is
        offline with paper UNKNOWN, a garbled answer is a hardware error with paper UNKNOWN."""
        with self._lock:
            try:
                link = self._link()
            except DeviceError as exc:
                health = PrinterHealth.unreachable(exc)
                self._apply(health)
                return health
            try:
                return self._check(link)
            finally:
                self._release(link)

    # -- jobs

    def print_job(self, job_id: str, data: bytes) -> PrintOutcome:
        """Print ``data`` once under ``job_id``; never raises a device error.

        A job id that printed, or whose outcome is unknown, returns its earlier outcome
        without sending anything. A kept job (paper ran out) is finished now if the printer
        is ready. Otherwise the status is checked first and the job refused when the printer
        cannot print; a refusal for paper or cover keeps the job (``kept``) so it prints when
        staff fix the printer, unless the caller :meth:`cancel` s it.
        """
        with self._lock:
            self._expire()
            earlier = self._ledger.get(job_id)
            if earlier is not None:
                return earlier
            kept = self._kept.get(job_id)
            if kept is not None:
                outcome = self._attempt(job_id, bytes(kept.data), marked=kept.partial, partial=kept.partial)
                self._tracker.emit("job_outcome", outcome)
                return outcome
            return self._attempt(job_id, data, marked=False)

    def reprint(self, job_id: str, data: bytes) -> PrintOutcome:
        """Print ``data`` again, marked 补打 / REPRINT, after a person confirmed the earlier attempt
        (typically ``unknown``) did not come out. The status is checked first, as for any job."""
        with self._lock:
            self._expire()
            self._ledger.forget(job_id)
            self._kept.drop(job_id)
            return self._attempt(job_id, data, marked=True)

    def resume_pending(self) -> list[PrintOutcome]:
        """Finish kept jobs, oldest first, while the printer is ready. Each outcome is also sent
        as a ``job_outcome`` event. Jobs that are still blocked stay kept; a job that was
        partly on paper is sent whole again, marked 补打 / REPRINT."""
        outcomes: list[PrintOutcome] = []
        with self._lock:
            self._expire()
            for job_id in self._kept.ids():
                kept = self._kept.get(job_id)
                if kept is None:
                    continue
                outcome = self._attempt(job_id, bytes(kept.data), marked=kept.partial, partial=kept.partial)
                outcomes.append(outcome)
                self._tracker.emit("job_outcome", outcome)
                if outcome.kept:
                    break  # blocked again: the rest would fail the same way
        return outcomes

    def cancel(self, job_id: str) -> bool:
        """Give up a kept job (e.g. the resident took the QR instead, or the session ended).
        Its bytes are wiped. True when a job was kept under that id."""
        with self._lock:
            return self._kept.drop(job_id)

    def cancel_all(self) -> list[str]:
        """Give up every kept job (call when a session ends); returns their ids."""
        with self._lock:
            ids = self._kept.ids()
            for job_id in ids:
                self._kept.drop(job_id)
            return ids

    def pending(self) -> list[str]:
        """Ids of the jobs kept for paper, oldest first."""
        with self._lock:
            self._expire()
            return self._kept.ids()

    # -- internals

    def _attempt(self, job_id: str, data: bytes, *, marked: bool, partial: bool = False) -> PrintOutcome:
        """Check, send, check again; record the outcome. Called with the lock held.

        ``marked`` prints the reprint mark first; ``partial`` says part of this job is on paper
        already, so it stays kept (and counts as interrupted) while it cannot be finished."""
        payload = (self.reprint_mark + data) if marked and self.reprint_mark else data
        link: Link | None
        try:
            link = self._link()
        except DeviceError as exc:
            health = PrinterHealth.unreachable(exc)
            self._apply(health)
            return self._refused(job_id, data, health, partial=partial)
        try:
            before = self._check(link)
            if not before.ready:
                return self._refused(job_id, data, before, partial=partial)
            try:
                link.write(payload)
            except DeviceError as exc:
                self._drop_link(link)
                link = None
                health = PrinterHealth.unreachable(exc)
                self._apply(health)
                return self._final(PrintOutcome(
                    job_id, False, f"连接中断 / the link broke while sending ({exc}): {_UNKNOWN}",
                    health.hint, health, PrintState.UNKNOWN))
            after = self._settle(link)
        finally:
            if link is not None:
                self._release(link)
        if after.ready:
            return self._final(PrintOutcome(job_id, True, after.reason or "printed", after.hint, after,
                                            PrintState.PRINTED))
        if after.paper_blocked:
            kept, _ = self._keep(job_id, data, partial=True)
            return PrintOutcome(job_id, False,
                                f"打印中断 / interrupted, the receipt is incomplete: {after.reason}"
                                + ("; kept to print whole once the printer is ready, unless cancelled" if kept else ""),
                                after.hint, after, PrintState.INTERRUPTED, kept)
        if not after.responding:
            words = ("打印机失去响应 / the printer stopped answering once the receipt was sent "
                     f"({after.reason})")
        else:
            words = ("打印机报告故障 / the printer reported a fault once the receipt was sent "
                     f"({after.reason})")
        return self._final(PrintOutcome(job_id, False, f"{words}: {_UNKNOWN}", after.hint, after,
                                        PrintState.UNKNOWN))

    def _refused(self, job_id: str, data: bytes, health: PrinterHealth, *, partial: bool) -> PrintOutcome:
        kept = False
        if health.paper_blocked or partial:
            kept, _ = self._keep(job_id, data, partial=partial)
        state = PrintState.INTERRUPTED if partial and kept else PrintState.REFUSED
        words = "; kept to print once the printer is ready, unless cancelled" if kept else ""
        return PrintOutcome(job_id, False, f"未打印 / not printed: {health.reason}{words}", health.hint,
                            health, state, kept)

    def _final(self, outcome: PrintOutcome) -> PrintOutcome:
        self._kept.drop(outcome.job_id)
        self._ledger.record(outcome)
        if outcome.printed:
            self._tracker.operation_ok()
        else:
            log.warning("print job %s ended %s", outcome.job_id, outcome.state.value if outcome.state else "")
        return outcome

    def _keep(self, job_id: str, data: bytes, *, partial: bool) -> tuple[bool, list[str]]:
        kept, dropped = self._kept.keep(job_id, data, partial)
        for gone in dropped:
            self._tracker.emit("job_expired", gone)
        return kept, dropped

    def _expire(self) -> None:
        for job_id in self._kept.expire():
            self._tracker.emit("job_expired", job_id)

    def _settle(self, link: Link) -> PrinterHealth:
        """Status after sending, watched for ``settle_s`` while the printer works through its buffer."""
        health = self._check(link)
        deadline = time.monotonic() + (link.settle_s if self.settle_s is None else self.settle_s)
        while health.ready and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            health = self._check(link)
        return health

    def _check(self, link: Link) -> PrinterHealth:
        """Read the status over ``link`` and apply it; never raises (a failed link is dropped).
        A link with nothing to ask (a file) is ready while it is open."""
        try:
            if link.reports_status:
                health = read_status(link, self.timeout_s)
            else:
                health = PrinterHealth(responding=True, online=True, paper=PaperLevel.OK)
        except DeviceError as exc:
            self._drop_link(link)
            health = PrinterHealth.unreachable(exc)
        self._apply(health)
        return health

    def _apply(self, health: PrinterHealth) -> None:
        """Update the status; paper events only when the level changes; ``recovered`` when a
        printer that could not be heard answers properly again."""
        previous = self._health
        self._health = health
        reason = health.reason
        self._tracker.set_state(health.state, paper=health.paper.value, cover_open=health.cover_open,
                                ready=health.ready, reason=reason)
        if reason and reason != self._last_problem:
            self._tracker.record_error(PrinterAttention(reason, health.hint))
        self._last_problem = reason
        if health.paper is not PaperLevel.UNKNOWN and health.paper != self._paper:
            self._paper = health.paper
            self._tracker.emit(PAPER_EVENTS[health.paper], health.paper)
        heard = health.responding and not health.garbled
        was_heard = previous is None or (previous.responding and not previous.garbled)
        if heard and previous is not None and not (previous.responding and not previous.garbled):
            log.info("printer %s answers again", self.endpoint.scheme)
            self._tracker.emit("recovered", health)
        elif was_heard and not heard:  # once per outage, for the technician reading the journal
            log.warning("printer %s does not answer: %s", self.endpoint.scheme, reason or "no status reply")

    def _link(self) -> Link:
        if not self._opened:
            raise DeviceNotFound(f"printer {self.endpoint.uri} is not open: call open() first")
        return self._links.get()

    def _release(self, link: Link) -> None:
        self._links.release(link)

    def _drop_link(self, link: Link) -> None:
        self._links.drop(link)
