"""The social security card reader adapter: PC/SC (pyscard), with its own supervision.

:meth:`SscReader.start` starts one owned monitor thread; :meth:`SscReader.stop` joins it. The
thread waits on ``SCardGetStatusChange`` with a short timeout and reports through the shared
:class:`~devices.base.StatusTracker`:

- ``card_inserted`` / ``card_removed`` (payload ``{"reader": name}``);
- ``ssc_read`` with the decoded :class:`~devices.smartcard.ssc.SocialSecurityCard` (the receiver
  owns it from then on and must ``wipe()`` it when the session ends);
- ``card_unsupported`` (a bank card or other card without the SSSE application) and
  ``read_failed`` (a refused command, a malformed answer, the card pulled too early, a card that
  did not answer within ``apdu_timeout_s`` / ``read_timeout_s``), each with
  ``{"reader", "message", "hint", "retryable", "notice"}`` (``notice``: the config/messages.toml
  key for the resident, :func:`resident_notice`) — never a partly read identity;
- ``state_changed``: ONLINE while a reader is watched, USER_ERROR while an unreadable card sits
  in it, NO_DEVICE without a reader, OFFLINE without pcscd. :meth:`SscReader.status` gives the
  state with the reason as ``last_error`` (message and XFS hint) and the reader's name in
  ``detail["reader"]``.

Every read has time limits (:mod:`devices.smartcard.bounded`): a card that stops answering is a
``read_failed`` within the limit, and the monitor goes on watching; the next card is read.

Supervision: pyscard's ``CardMonitor`` thread dies when pcscd restarts (pyscard issue #27), so
this adapter does not use it. When pcscd goes away the thread drops its context, reports OFFLINE
(and ``card_removed`` for a card it had seen: it can no longer vouch for it), and establishes a
new context with capped backoff; a vanished reader is looked for again on every poll. Nothing
personal is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Self

from devices.base import (
    DeviceDisconnected,
    DeviceError,
    DeviceState,
    DeviceStatus,
    DeviceTimeout,
    EventCallback,
    StatusTracker,
)
from devices.smartcard import pcsc
from devices.smartcard.bounded import DEFAULT_APDU_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S, read_card_bounded
from devices.smartcard.ssc import NotSocialSecurityCard, SocialSecurityCard

log = logging.getLogger(__name__)

_BACKOFF_MIN_S = 0.2
_BACKOFF_MAX_S = 2.0  # R3: recovered within 3 s of pcscd's return
_RETRY_AFTER_S = 0.5  # longer than pcscd's 400 ms presence poll


def resident_notice(exc: DeviceError) -> str:
    """The config/messages.toml key that tells the resident what to do about a failed read: put the
    card back (pulled too early), take it out and in again (it did not answer), or use another way
    in (its data cannot be read, or it is no social security card)."""
    if isinstance(exc, NotSocialSecurityCard):
        return "notice_card_unsupported"
    if isinstance(exc, pcsc.CardGone):
        return "notice_ssc_card_removed"
    if isinstance(exc, pcsc.CardMute):
        return "notice_ssc_card_mute"
    return "notice_ssc_card_unreadable"


class SscReader:
    """A 社会保障卡 reader on PC/SC. ``reader`` picks the reader whose name contains it
    (case-insensitive); None takes the first reader pcscd lists."""

    def __init__(self, reader: str | None = None, *, on_event: EventCallback | None = None,
                 name: str = "ssc_reader", poll_interval_s: float = 0.25,
                 apdu_timeout_s: float = DEFAULT_APDU_TIMEOUT_S,
                 read_timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> None:
        self.wanted_reader = reader
        self.poll_interval_s = poll_interval_s
        # devices.ssc_apdu_timeout_s / devices.ssc_read_timeout_s: one command, one whole read.
        self.apdu_timeout_s, self.read_timeout_s = apdu_timeout_s, read_timeout_s
        self._tracker = StatusTracker(name, on_event)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Owned by the monitor thread only:
        self._context: Any = None
        self._reader: str | None = None
        self._reader_state = 0
        self._card_present = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def status(self) -> DeviceStatus:
        """A snapshot of the reader's health (no I/O, no personal data)."""
        return self._tracker.snapshot()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def open(self) -> None:
        """Start monitoring (the DeviceAdapter name for :meth:`start`)."""
        self.start()

    def start(self) -> None:
        """Start the monitor thread. It connects to pcscd itself, with backoff while it is absent."""
        if self._thread is not None:
            raise RuntimeError("the social security card reader is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self._tracker.name}-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the monitor thread, wait for it and release the PC/SC context."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("%s: monitor thread did not stop in time", self._tracker.name)
        self._thread = None
        self._tracker.set_state(DeviceState.OFFLINE)

    close = stop

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one-shot read (technician command) --------------------------------------------------------

    def read_card(self, timeout_s: float = 15.0) -> SocialSecurityCard:
        """Wait up to ``timeout_s`` for a card in the reader and read it, on a context of its own
        (do not call while :meth:`start` is monitoring the same reader).

        Raises :class:`~devices.smartcard.pcsc.PcscServiceUnavailable`, :class:`~devices.base.DeviceNotFound`
        (no reader), :class:`~devices.base.DeviceTimeout` (no card), or the card's own errors.
        """
        from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

        context = pcsc.establish()
        try:
            reader = pcsc.pick_reader(pcsc.list_reader_names(context), self.wanted_reader)
            if reader is None:
                raise pcsc.ReaderGone(self._no_reader_message())
            deadline = time.monotonic() + timeout_s
            state = scard.SCARD_STATE_UNAWARE
            while True:
                wait_ms = max(0, int((deadline - time.monotonic()) * 1000))
                hresult, states = scard.SCardGetStatusChange(context, wait_ms, [(reader, state)])
                if pcsc.code(hresult) != pcsc.E_TIMEOUT:
                    pcsc.raise_for(hresult, f"watching {reader}")
                    state = states[0][1] & ~scard.SCARD_STATE_CHANGED
                    if state & scard.SCARD_STATE_PRESENT:
                        break
                if time.monotonic() >= deadline:
                    raise DeviceTimeout(f"no card was inserted into {reader} within {timeout_s:g} s")
            return self._read_bounded(reader, cancel=None)
        finally:
            pcsc.release(context)

    def _read_bounded(self, reader: str, cancel: threading.Event | None) -> SocialSecurityCard:
        # The monitor passes its stop event, so stop() never waits out a mute card's time limit.
        return read_card_bounded(reader, apdu_timeout_s=self.apdu_timeout_s,
                                 read_timeout_s=self.read_timeout_s, cancel=cancel)

    def _no_reader_message(self) -> str:
        if self.wanted_reader:
            return (f"no card reader named like {self.wanted_reader!r} is connected: check the cable and "
                    "the configured name (kiosk devices list shows the names pcscd knows)")
        return "no smart-card reader is connected: plug one in, or check that pcscd has its driver"

    # -- the monitor -------------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = _BACKOFF_MIN_S
        last_problem = ""
        while not self._stop.is_set():
            try:
                if self._context is None:
                    self._context = pcsc.establish()
                if self._reader is None and not self._find_reader():
                    self._stop.wait(self.poll_interval_s)
                    continue
                if last_problem:
                    # Say so as soon as the service and the reader are back, not after the next card
                    # event: pcscd may go away again before then, and each outage needs its end line.
                    log.info("%s: recovered, watching %s", self._tracker.name, self._reader)
                    last_problem = ""
                self._watch_once()
                backoff = _BACKOFF_MIN_S
            except DeviceError as exc:  # pcscd absent or gone (or pyscard unusable): start over
                self._lose_context()
                self._tracker.record_error(exc, DeviceState.OFFLINE)
                last_problem = self._log_transition(last_problem, exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            except Exception as exc:  # the monitor is the reader's supervisor: it must not die
                log.exception("%s: unexpected error while monitoring", self._tracker.name)
                last_problem = repr(exc)
                self._lose_context()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
        self._lose_context()

    def _log_transition(self, last: str, exc: BaseException) -> str:
        # Log when the problem changes, not on every failed attempt.
        text = f"{type(exc).__name__}: {exc}"
        if text != last:
            log.warning("%s: %s", self._tracker.name, text)
        return text

    def _lose_context(self) -> None:
        self._lose_reader()
        context, self._context = self._context, None
        if context is not None:
            pcsc.release(context)

    def _lose_reader(self) -> None:
        self._card_gone()
        self._reader, self._reader_state = None, 0

    def _find_reader(self) -> bool:
        reader = pcsc.pick_reader(pcsc.list_reader_names(self._context), self.wanted_reader)
        if reader is None:
            self._no_device(self._no_reader_message())
            return False
        self._reader, self._reader_state = reader, 0
        log.info("%s: watching %s", self._tracker.name, reader)
        self._tracker.set_state(DeviceState.ONLINE, reader=reader)
        return True

    def _watch_once(self) -> None:
        from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

        reader = self._reader
        assert reader is not None
        hresult, states = scard.SCardGetStatusChange(
            self._context, int(self.poll_interval_s * 1000), [(reader, self._reader_state)])
        c = pcsc.code(hresult)
        if c in (pcsc.E_TIMEOUT, pcsc.E_CANCELLED):
            return
        if c in pcsc.READER_GONE:
            self._reader_vanished()
            return
        if c != pcsc.S_SUCCESS:
            # Any other failure of a wait means the context is no good (a killed pcscd shows up as
            # F_COMM_ERROR, NO_SERVICE or even W_SECURITY_VIOLATION): start over with a new one.
            raise pcsc.PcscServiceUnavailable(
                f"lost the PC/SC service while watching {reader} ({pcsc.describe(hresult)}): "
                f"reconnecting; if this persists, {pcsc.START_PCSCD_HINT}")
        event = states[0][1]
        self._reader_state = event & ~scard.SCARD_STATE_CHANGED
        if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_IGNORE):
            self._reader_vanished()
            return
        present = bool(event & scard.SCARD_STATE_PRESENT)
        if present and not self._card_present:
            self._card_present = True
            self._tracker.emit("card_inserted", {"reader": reader})
            if event & scard.SCARD_STATE_MUTE:  # no ATR: upside down, or not a chip card
                self._failed(reader, pcsc.CardMute(
                    "the card does not answer: insert it chip first and face up, or use another card"))
            else:
                self._read_inserted(reader)
        elif not present and self._card_present:
            self._card_gone()

    def _reader_vanished(self) -> None:
        name = self._reader
        log.warning("%s: reader %s went away", self._tracker.name, name)
        self._lose_reader()
        self._no_device(f"the card reader {name} went away: check its cable (kiosk devices list shows "
                        "the readers pcscd knows)")

    def _no_device(self, reason: str) -> None:
        """NO_DEVICE with the reason as the last error, recorded once per outage (not every poll)."""
        if self._tracker.snapshot().state != DeviceState.NO_DEVICE:
            self._tracker.record_error(pcsc.ReaderGone(reason))
        self._tracker.set_state(DeviceState.NO_DEVICE, reader=None)

    def _still_present(self, reader: str) -> bool:
        from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

        hresult, states = scard.SCardGetStatusChange(self._context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return pcsc.code(hresult) == pcsc.S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)

    def _read_inserted(self, reader: str) -> None:
        try:
            try:
                card = self._read_bounded(reader, self._stop)
            except DeviceDisconnected:
                # The card went away mid-read, or was reset or swapped faster than pcscd's presence
                # poll (then no removal is ever reported). One more try after that poll tells them
                # apart: a card still there is read; a pulled one fails again, once.
                self._stop.wait(_RETRY_AFTER_S)
                if not self._still_present(reader):
                    raise
                card = self._read_bounded(reader, self._stop)
        except pcsc.PcscServiceUnavailable:
            raise
        except pcsc.ReaderGone:
            self._reader_vanished()
            return
        except NotSocialSecurityCard as exc:
            log.info("%s: a card without the social security application was inserted", self._tracker.name)
            self._tracker.record_error(exc, DeviceState.USER_ERROR)
            self._tracker.emit("card_unsupported", self._failure(reader, exc))
            return
        except DeviceError as exc:
            self._failed(reader, exc)
            return
        self._tracker.operation_ok()
        self._tracker.set_state(DeviceState.ONLINE)
        log.info("%s: social security card read", self._tracker.name)
        self._tracker.emit("ssc_read", card)

    def _failed(self, reader: str, exc: DeviceError) -> None:
        # Messages name tags, steps and status words, never values, so they may be logged.
        log.warning("%s: card could not be read: %s", self._tracker.name, exc)
        self._tracker.record_error(exc, DeviceState.USER_ERROR)
        self._tracker.emit("read_failed", self._failure(reader, exc))

    @staticmethod
    def _failure(reader: str, exc: DeviceError) -> dict[str, Any]:
        return {"reader": reader, "message": str(exc), "hint": exc.hint.value, "retryable": exc.retryable,
                "notice": resident_notice(exc)}

    def _card_gone(self) -> None:
        if not self._card_present:
            return
        self._card_present = False
        log.info("%s: card removed", self._tracker.name)
        if self._tracker.snapshot().state == DeviceState.USER_ERROR:
            self._tracker.set_state(DeviceState.ONLINE)
        self._tracker.emit("card_removed", {"reader": self._reader})
