"""The resident ID card reader driver: a SAM_V module on a serial port (pyserial).

One request, one answer: every exchange holds a lock, flushes stale input, writes a frame and
assembles the answer until ``read_timeout_s``. Library errors are translated at this boundary:
a missing port is :class:`DeviceNotFound`, a vanished one :class:`DeviceDisconnected`, silence
:class:`DeviceTimeout`, bad bytes :class:`DeviceProtocolError` (after which the input is
resynchronised so the next exchange starts clean).

Polling is optional and owned: :meth:`IdCardReader.start_polling` runs a
:class:`devices.id_card.polling.CardWatcher` under a :class:`devices.supervisor.DeviceSupervisor`
(one thread, joined by :meth:`IdCardReader.stop_polling`). It reports ``card_inserted``,
``card_read`` (a trusted :class:`IdentityCard`), ``card_invalid`` (the number failed validation:
an :class:`InvalidCard`, no personal data), ``card_unsupported``, ``card_removed`` and state
changes through the shared :class:`StatusTracker`; it reconnects with capped backoff after an
unplug, escalates repeated timeouts to ``hardware_error`` and never dies on an exception.

Personal data never reaches the log: at most the card type is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import serial

from devices.base import (
    DeviceDisconnected,
    DeviceNotFound,
    DeviceProtocolError,
    DeviceState,
    DeviceStatus,
    DeviceTimeout,
    EventCallback,
    StatusTracker,
)
from devices.id_card import protocol as p
from devices.id_card.checks import card_problems
from devices.id_card.identity import IdentityCard
from devices.id_card.polling import CardWatcher
from devices.id_card.textblock import decode_text_block
from devices.supervisor import Backoff, DeviceSupervisor, SupervisorHealth

try:
    import termios
except ImportError:  # not POSIX
    termios = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# What a vanished port raises: pyserial wraps most OS errors, but reset_input_buffer lets
# termios.error (not an OSError) through when a pty's master side has gone.
_PORT_GONE: tuple[type[BaseException], ...] = (serial.SerialException, OSError) + (
    (termios.error,) if termios is not None else ())

_READ_SLICE_S = 0.05  # pyserial read timeout: how often a waiting exchange checks its deadline
# Reconnect delays after an unplug: capped at 1 s so a replugged reader is back well within 3 s.
POLL_BACKOFF = Backoff(initial_s=0.2, max_s=1.0)
TIMEOUTS_TO_ERROR = 3  # consecutive silent polls before the reader counts as broken
_RESYNC_QUIET_S = 0.03  # the line counts as drained after this long without a byte
_RESYNC_MAX_S = 0.5


class IdCardReader:
    """Driver for a 二代证 SAM_V reader on ``url`` (a device path or any pyserial URL)."""

    def __init__(self, url: str, *, baudrate: int = 115200, read_timeout_s: float = 3.0,
                 on_event: EventCallback | None = None, name: str = "id_reader") -> None:
        self.url = url
        self.baudrate = baudrate
        self.read_timeout_s = read_timeout_s
        self._tracker = StatusTracker(name, on_event)
        self._lock = threading.RLock()
        self._serial: serial.SerialBase | None = None
        self._assembler = p.FrameAssembler()
        self._supervisor: DeviceSupervisor | None = None

    @property
    def tracker(self) -> StatusTracker:
        """The reader's status and event channel (shared with its card watcher and supervisor)."""
        return self._tracker

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the port. Raises :class:`DeviceNotFound` naming the port when it cannot be opened."""
        with self._lock:
            if self._serial is not None:
                return
            try:
                self._serial = serial.serial_for_url(
                    self.url, baudrate=self.baudrate, timeout=_READ_SLICE_S,
                    write_timeout=self.read_timeout_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                err = DeviceNotFound(self._open_failure(exc))
                self._tracker.record_error(err, DeviceState.NO_DEVICE)
                raise err from exc
            self._assembler.clear()
            self._tracker.set_state(DeviceState.ONLINE, port=self.url)

    def _open_failure(self, exc: BaseException) -> str:
        errno_ = getattr(exc, "errno", None)
        text = str(exc)
        if errno_ == 2 or "No such file" in text:
            return (f"ID card reader port {self.url} does not exist: check that the reader is plugged in "
                    "and that the configured port is right")
        if errno_ == 13 or "Permission denied" in text:
            return (f"ID card reader port {self.url} exists but may not be opened (permission denied): "
                    "add the kiosk user to the port's group (often 'dialout')")
        return f"ID card reader port {self.url} cannot be opened: {text}"

    def close(self) -> None:
        """Stop polling (if running) and close the port."""
        self.stop_polling()
        with self._lock:
            self._drop_handle()
            self._tracker.set_state(DeviceState.OFFLINE)

    def drop(self) -> None:
        """Let go of the port after a failure, without changing the state; :meth:`open` reopens it."""
        with self._lock:
            self._drop_handle()

    def _drop_handle(self) -> None:
        ser, self._serial = self._serial, None
        self._assembler.clear()
        if ser is not None:
            try:
                ser.close()
            except Exception:  # noqa: BLE001, S110  closing a vanished port may fail; the handle is gone either way
                pass

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def status(self) -> DeviceStatus:
        """A snapshot of the reader's health (no I/O)."""
        return self._tracker.snapshot()

    # -- one exchange ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the reader for several exchanges in a row (find, select, read): no other thread's
        exchange comes between them. Re-entrant; every exchange takes the same lock."""
        with self._lock:
            yield

    def _exchange(self, command: p.Command, timeout_s: float | None = None, *,
                  take_late: bool = False) -> p.Response:
        with self._lock:
            ser = self._serial
            if ser is None:
                raise DeviceDisconnected(f"ID card reader on {self.url} is not open")
            try:
                if not take_late:
                    # A late answer to an earlier, timed-out request must not pass for this one's.
                    ser.reset_input_buffer()
                    self._assembler.clear()
                ser.write(command.frame())
                response = self._read_response(ser, command, timeout_s or self.read_timeout_s)
            except _PORT_GONE as exc:
                self._drop_handle()
                err = DeviceDisconnected(f"ID card reader on {self.url} went away: {exc}")
                self._tracker.record_error(err, DeviceState.OFFLINE)
                raise err from exc
            except DeviceTimeout as exc:
                # Once a supervisor has escalated to hardware_error, a further timeout must not
                # make the reader look merely offline.
                escalated = self._tracker.snapshot().state is DeviceState.HARDWARE_ERROR
                self._tracker.record_error(exc, None if escalated else DeviceState.OFFLINE)
                raise
            except DeviceProtocolError as exc:
                self._tracker.record_error(exc)
                self._resync(ser)
                raise DeviceProtocolError(f"{command.name}: {exc}") from exc
            self._tracker.operation_ok()
            self._tracker.set_state(DeviceState.ONLINE)
            return response

    def _read_response(self, ser: serial.SerialBase, command: p.Command, timeout_s: float) -> p.Response:
        deadline = time.monotonic() + timeout_s
        while True:
            chunk = ser.read(max(1, ser.in_waiting))
            for frame in self._assembler.feed(chunk) if chunk else ():
                try:
                    response = p.parse_response(frame)
                except DeviceProtocolError:
                    # What came right after a bad frame tells a short LEN from a bad checksum.
                    following = self._assembler.take() + self._quiet_read(ser)
                    p.parse_response(frame, following)
                    raise
                if p.answers(command, response):
                    return response
                # A late answer to an earlier request that timed out: skip it, keep waiting.
                log.warning("%s: skipped a stale answer (SW3 0x%02X, %d data bytes) while waiting for %s",
                            self._tracker.name, response.sw3, len(response.data), command.name)
            if time.monotonic() >= deadline:
                break
        if self._assembler.in_frame:
            total = self._assembler.expected_total()
            raise DeviceProtocolError(
                f"incomplete frame: {self._assembler.pending} bytes of {total or 'an unknown number'} "
                f"arrived within {timeout_s:g} s")
        raise DeviceTimeout(
            f"ID card reader on {self.url} did not answer within {timeout_s:g} s: "
            "check its power and cable, then reset it")

    @staticmethod
    def _quiet_read(ser: serial.SerialBase) -> bytes:
        """What arrives until the line has been quiet for a moment (bounded); empty on a vanished port."""
        got = bytearray()
        try:
            end = time.monotonic() + _RESYNC_MAX_S
            quiet_since = time.monotonic()
            while time.monotonic() < end and time.monotonic() - quiet_since < _RESYNC_QUIET_S:
                if ser.in_waiting:
                    got += ser.read(ser.in_waiting)
                    quiet_since = time.monotonic()
                else:
                    time.sleep(0.005)
        except _PORT_GONE:
            pass  # a vanished port is reported by the next exchange
        return bytes(got)

    def _resync(self, ser: serial.SerialBase) -> None:
        """Drain the rest of a broken answer so the next exchange starts on a frame boundary."""
        self._assembler.clear()
        self._quiet_read(ser)
        try:
            ser.reset_input_buffer()
        except _PORT_GONE:
            pass  # a vanished port is reported by the next exchange

    def _expect_ok(self, command: p.Command) -> p.Response:
        response = self._exchange(command)
        if not response.ok:
            raise p.SamRefused(command.name, response.sw3)
        return response

    # -- operations --------------------------------------------------------------------------

    def reset(self) -> None:
        """Reset the SAM module."""
        self._expect_ok(p.Command.RESET_SAM)

    def sam_status(self) -> p.Response:
        """Ask the SAM for its status; ``.ok`` says whether it is healthy, ``.meaning`` why not."""
        response = self._exchange(p.Command.SAM_STATUS)
        if not response.ok:
            self._tracker.set_state(DeviceState.HARDWARE_ERROR, sam=response.meaning)
        return response

    def sam_id(self) -> str:
        """The SAM module's 16-byte id as hex (identifies the reader, not a person)."""
        return self._expect_ok(p.Command.SAM_ID).data.hex()

    def find_card(self, *, timeout_s: float | None = None, take_late: bool = False) -> bool:
        """寻卡: True when a card is in the field (SW3 9F), False for no card (SW3 80).

        ``timeout_s``: wait this long instead of ``read_timeout_s``. ``take_late``: a late answer to
        an earlier 寻卡 still waiting on the line counts (it is one, and presence is all it says). The
        watcher asks a silent reader this way, briefly: one that answers again is heard within a
        second, and one that has become slow is heard through its late answer."""
        response = self._exchange(p.Command.FIND_CARD, timeout_s, take_late=take_late)
        if response.sw3 == p.SW3_CARD_FOUND:
            return True
        if response.sw3 == p.SW3_NO_CARD:
            return False
        raise p.SamRefused("FIND_CARD", response.sw3)

    def select_card(self) -> bool:
        """选卡: True when the found card was selected (SW3 90), False when it failed (SW3 81)."""
        response = self._exchange(p.Command.SELECT_CARD)
        if response.ok:
            return True
        if response.sw3 == p.SW3_SELECT_FAILED:
            return False
        raise p.SamRefused("SELECT_CARD", response.sw3)

    def still_selected(self) -> bool:
        """Whether a read of the card selected earlier succeeds (SW3 90). Some SAMs answer 寻卡 with
        80 while a card that was already read stays in the field; this tells the two apart."""
        return self._exchange(p.Command.READ_TEXT_PHOTO).ok

    def read_card(self, *, fingerprint: bool = False) -> IdentityCard | None:
        """Find, select and read the card on the reader; None when there is none.

        The number is checked (:func:`devices.id_card.checks.card_problems`): a card whose number
        fails comes back with ``problems`` set and ``trusted`` False. ``fingerprint=True`` uses
        the read-with-fingerprint command and keeps the (opaque) fingerprint block.

        Raises :class:`UnsupportedCardType` for a card type this kiosk does not know and
        :class:`SamRefused` when the SAM refuses the read (e.g. SW3 41: card moved).
        """
        with self._lock:
            if not self.find_card() or not self.select_card():
                return None
            return self.read_selected(fingerprint=fingerprint)

    def read_selected(self, *, fingerprint: bool = False) -> IdentityCard:
        """Read the card selected by :meth:`select_card` and check its number."""
        command = p.Command.READ_WITH_FINGERPRINT if fingerprint else p.Command.READ_TEXT_PHOTO
        response = self._exchange(command)
        if not response.ok:
            raise p.SamRefused(command.name, response.sw3)
        try:
            blocks = p.split_read_data(response.data, with_fingerprint=fingerprint)
            card = decode_text_block(blocks.text, blocks.photo)
        except DeviceProtocolError as exc:
            self._tracker.record_error(exc)
            raise DeviceProtocolError(f"{command.name}: {exc}") from exc
        card.fingerprint = blocks.fingerprint
        card.problems = card_problems(card)
        return card

    def read_appended_address(self) -> str | None:
        """追加住址 of the selected card (after :meth:`read_card`); None when the card has none (SW3 91).

        The data layout of a present appended address is [unconfirmed]: it is taken as UTF-16LE text.
        """
        response = self._exchange(p.Command.READ_APPENDED_ADDRESS)
        if response.sw3 == p.SW3_ABSENT:
            return None
        if not response.ok:
            raise p.SamRefused("READ_APPENDED_ADDRESS", response.sw3)
        try:
            return response.data.decode("utf-16-le").strip(" \x00") or None
        except UnicodeDecodeError as exc:
            raise DeviceProtocolError(f"appended address is not UTF-16LE at data offset {exc.start}") from exc

    # -- polling -------------------------------------------------------------------------------

    @property
    def polling(self) -> bool:
        return self._supervisor is not None and self._supervisor.running

    def start_polling(self, interval_s: float = 0.3, *, backoff: Backoff = POLL_BACKOFF,
                      timeouts_to_error: int = TIMEOUTS_TO_ERROR) -> None:
        """Start the one polling thread (it opens the port itself, with backoff while absent)."""
        if self._supervisor is not None:
            raise RuntimeError("ID card reader is already polling")
        self._supervisor = DeviceSupervisor(
            CardWatcher(self), self._tracker, interval_s=interval_s, backoff=backoff,
            timeouts_to_error=timeouts_to_error)
        self._supervisor.start()

    def stop_polling(self) -> None:
        """Stop the polling thread and wait for it; the port stays open."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            # One poll is at most three exchanges, each bounded by read_timeout_s.
            supervisor.stop(timeout_s=3 * self.read_timeout_s + 2)

    def supervision(self) -> SupervisorHealth | None:
        """The polling supervisor's health, or None when not polling."""
        return self._supervisor.health() if self._supervisor is not None else None
