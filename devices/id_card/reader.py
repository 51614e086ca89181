"""The resident ID card reader driver: a SAM_V module on a serial port (pyserial).

One request, one answer: every exchange holds a lock, flushes stale input, writes a frame and
assembles the answer until ``read_timeout_s``. Library errors are translated at this boundary:
a missing port is :class:`DeviceNotFound`, a vanished one :class:`DeviceDisconnected`, silence
:class:`DeviceTimeout`, bad bytes :class:`DeviceProtocolError` (after which the input is
resynchronised so the next exchange starts clean).

Polling is optional and owned: :meth:`IdCardReader.start_polling` starts one thread that
:meth:`IdCardReader.stop_polling` joins. It reports ``card_read`` once per placed card,
``card_removed`` when the card goes, ``card_unsupported`` for cards it cannot decode, and
state changes through the shared :class:`StatusTracker`. It reconnects with capped backoff
and never dies on an exception.

Personal data never reaches the log: at most the card type is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

import serial

from devices.base import (
    DeviceDisconnected, DeviceError, DeviceNotFound, DeviceProtocolError, DeviceState, DeviceStatus,
    DeviceTimeout, EventCallback, StatusTracker,
)
from devices.id_card import protocol as p
from devices.id_card.identity import IdentityCard, UnsupportedCardType, decode_text_block

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
_BACKOFF_MIN_S = 0.2
_BACKOFF_MAX_S = 2.0
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
        self._poll_thread: threading.Thread | None = None
        self._poll_stop = threading.Event()
        self._card_present = False

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
        if self._poll_thread is not None and threading.current_thread() is not self._poll_thread:
            self.stop_polling()
        with self._lock:
            self._drop_handle()
            self._tracker.set_state(DeviceState.OFFLINE)

    def _drop_handle(self) -> None:
        ser, self._serial = self._serial, None
        self._assembler.clear()
        if ser is not None:
            try:
                ser.close()
            except Exception:  # closing a vanished port may fail; the handle is gone either way
                pass

    def __enter__(self) -> IdCardReader:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def status(self) -> DeviceStatus:
        """A snapshot of the reader's health (no I/O)."""
        return self._tracker.snapshot()

    # -- one exchange ------------------------------------------------------------------------

    def _exchange(self, command: p.Command) -> p.Response:
        with self._lock:
            ser = self._serial
            if ser is None:
                raise DeviceDisconnected(f"ID card reader on {self.url} is not open")
            try:
                # A late answer to an earlier, timed-out request must not pass for this one's.
                ser.reset_input_buffer()
                self._assembler.clear()
                ser.write(command.frame())
                response = self._read_response(ser, command)
            except _PORT_GONE as exc:
                self._drop_handle()
                err = DeviceDisconnected(f"ID card reader on {self.url} went away: {exc}")
                self._tracker.record_error(err, DeviceState.OFFLINE)
                raise err from exc
            except DeviceTimeout as exc:
                self._tracker.record_error(exc, DeviceState.OFFLINE)
                raise
            except DeviceProtocolError as exc:
                self._tracker.record_error(exc)
                self._resync(ser)
                raise DeviceProtocolError(f"{command.name}: {exc}") from exc
            self._tracker.operation_ok()
            self._tracker.set_state(DeviceState.ONLINE)
            return response

    def _read_response(self, ser: serial.SerialBase, command: p.Command) -> p.Response:
        deadline = time.monotonic() + self.read_timeout_s
        while True:
            chunk = ser.read(max(1, ser.in_waiting))
            for frame in self._assembler.feed(chunk) if chunk else ():
                response = p.parse_response(frame)
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
                f"arrived within {self.read_timeout_s} s")
        raise DeviceTimeout(
            f"ID card reader on {self.url} did not answer within {self.read_timeout_s} s: "
            "check its power and cable, then reset it")

    def _resync(self, ser: serial.SerialBase) -> None:
        """Drain the rest of a broken answer so the next exchange starts on a frame boundary."""
        self._assembler.clear()
        try:
            end = time.monotonic() + _RESYNC_MAX_S
            quiet_since = time.monotonic()
            while time.monotonic() < end and time.monotonic() - quiet_since < _RESYNC_QUIET_S:
                if ser.in_waiting:
                    ser.read(ser.in_waiting)
                    quiet_since = time.monotonic()
                else:
                    time.sleep(0.005)
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

    def find_card(self) -> bool:
        """寻卡: True when a card is in the field (SW3 9F), False for no card (SW3 80)."""
        response = self._exchange(p.Command.FIND_CARD)
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

    def read_card(self) -> IdentityCard | None:
        """Find, select and read the card on the reader; None when there is none.

        Raises :class:`UnsupportedCardType` for a card this kiosk cannot decode and
        :class:`SamRefused` when the SAM refuses the read (e.g. SW3 41: card moved).
        """
        with self._lock:
            if not self.find_card() or not self.select_card():
                return None
            return self._read_selected()

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

    def _read_selected(self) -> IdentityCard:
        response = self._exchange(p.Command.READ_TEXT_PHOTO)
        if not response.ok:
            raise p.SamRefused("READ_TEXT_PHOTO", response.sw3)
        try:
            blocks = p.split_read_data(response.data)
            return decode_text_block(blocks.text, blocks.photo)
        except DeviceProtocolError as exc:
            self._tracker.record_error(exc)
            raise

    # -- polling -------------------------------------------------------------------------------

    @property
    def polling(self) -> bool:
        return self._poll_thread is not None and self._poll_thread.is_alive()

    def start_polling(self, interval_s: float = 0.3) -> None:
        """Start the one polling thread (opening the port itself, with backoff if absent)."""
        if self._poll_thread is not None:
            raise RuntimeError("ID card reader is already polling")
        self._poll_stop.clear()
        self._card_present = False
        self._poll_thread = threading.Thread(
            target=self._poll_loop, args=(interval_s,), name=f"{self._tracker.name}-poll", daemon=True)
        self._poll_thread.start()

    def stop_polling(self) -> None:
        """Stop the polling thread and wait for it; the port stays open."""
        thread = self._poll_thread
        if thread is None:
            return
        self._poll_stop.set()
        # One poll is at most three exchanges, each bounded by read_timeout_s.
        thread.join(timeout=3 * self.read_timeout_s + 2)
        if thread.is_alive():
            log.error("%s: polling thread did not stop in time", self._tracker.name)
        self._poll_thread = None

    def _poll_loop(self, interval_s: float) -> None:
        backoff = _BACKOFF_MIN_S
        last_problem = ""
        while not self._poll_stop.is_set():
            delay = interval_s
            try:
                if self._serial is None:
                    self.open()
                    log.info("%s: connected on %s", self._tracker.name, self.url)
                self._poll_once()
                backoff = _BACKOFF_MIN_S
                if last_problem:
                    log.info("%s: recovered", self._tracker.name)
                    last_problem = ""
            except (DeviceNotFound, DeviceDisconnected) as exc:
                with self._lock:
                    self._drop_handle()
                self._card_gone()
                delay, backoff = backoff, min(backoff * 2, _BACKOFF_MAX_S)
                last_problem = self._log_transition(last_problem, exc)
            except DeviceError as exc:
                last_problem = self._log_transition(last_problem, exc)
            except Exception as exc:  # the poller is the reader's supervisor: it must not die
                log.exception("%s: unexpected error while polling", self._tracker.name)
                last_problem = repr(exc)
            self._poll_stop.wait(delay)

    def _log_transition(self, last: str, exc: BaseException) -> str:
        # Log when the problem changes, not on every failed poll.
        text = f"{type(exc).__name__}: {exc}"
        if text != last:
            log.warning("%s: %s", self._tracker.name, text)
        return text

    def _poll_once(self) -> None:
        with self._lock:
            if self._card_present:
                if self.find_card() or self._still_selected():
                    return
                self._card_gone()
                return
            if not self.find_card() or not self.select_card():
                return
            try:
                card = self._read_selected()
            except UnsupportedCardType as exc:
                self._card_present = True
                log.info("%s: unsupported card type %r placed", self._tracker.name, exc.flag)
                self._tracker.emit("card_unsupported", exc.flag)
                return
            self._card_present = True
        log.info("%s: card read (type %s)", self._tracker.name, card.card_type)
        self._tracker.emit("card_read", card)

    def _still_selected(self) -> bool:
        # Some SAMs answer 寻卡 with 80 while a card that was already read stays in the field;
        # a read of the selected card succeeds then, so a card only counts as gone when both fail.
        try:
            return self._exchange(p.Command.READ_TEXT_PHOTO).ok
        except DeviceProtocolError:
            return True  # unsure: check again on the next poll rather than end the session

    def _card_gone(self) -> None:
        if self._card_present:
            self._card_present = False
            log.info("%s: card removed", self._tracker.name)
            self._tracker.emit("card_removed")
