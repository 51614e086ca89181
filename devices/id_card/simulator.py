"""A simulated SAM_V ID card reader on a pty, for tests, demos and benchmarks without hardware.

The simulator holds the master side of a pseudo-terminal and speaks exact frames
(DEVICES.md §1); the driver opens :attr:`IdReaderSimulator.port` (the slave side, or the
``stable_path`` symlink standing for ``/dev/serial/by-id/…``) with pyserial like any real port.

Faults, each scriptable from a test or a demo:

==================  =========================================================================
no card             :meth:`remove` (find answers SW3 80)
any SW3 status      :meth:`fail_next` (select failure 81, read failure 41, SAM errors 10…66)
bad checksum        :meth:`corrupt_next`
truncated frame     :meth:`truncate_next` (half an answer, then nothing)
garbage             :meth:`reply_next_with` (raw bytes instead of the answer), :meth:`inject`
silence             ``silent = True`` (requests are swallowed); :meth:`delay_next` (a slow SAM)
unplug              :meth:`unplug` closes the pty and removes ``stable_path``; :meth:`replug`
                    opens a new pty and points ``stable_path`` at it, as udev does on replug
wrong line speed    ``line_baud``: answer only when the driver's port is set to that baud rate
==================  =========================================================================

``pace_baud`` makes the wire as slow as a real one (10 bits per byte, both directions): ptys
ignore the baud rate, so the simulator sleeps to absolute deadlines while writing.

``sim://id-reader`` opens a simulator of its own (:func:`open_simulated_port`, the registry's
handler in :mod:`devices.endpoints`), with no card on it.
"""

from __future__ import annotations

import logging
import os
import pty
import select
import termios
import threading
import time
import tty
from pathlib import Path
from types import TracebackType
from typing import Self

from devices.base import DeviceProtocolError
from devices.endpoints import SerialPort
from devices.id_card import protocol as p
from devices.id_card.identity import IdentityCard
from devices.id_card.textblock import encode_text_block
from kiosk.endpoints import Endpoint

log = logging.getLogger(__name__)

_SAM_ID = bytes.fromhex("0501000020101010000123456789abcd")  # 16 bytes, made up
_CHUNK = 64  # paced writes: bytes per write, so the driver sees a frame trickle in
_ADDRESS_BYTES = 70


class IdReaderSimulator:
    """A reader with a SAM, a card slot and a fault switchboard (see the module docstring).

    ``start()`` opens the pty and the answering thread; ``stop()`` ends both (the driver then
    sees the port vanish). The thread survives :meth:`unplug` / :meth:`replug`.
    """

    def __init__(self, *, pace_baud: int | None = None, stable_path: str | os.PathLike[str] | None = None,
                 line_baud: int | None = None) -> None:
        self.pace_baud = pace_baud
        self.line_baud = line_baud
        self.stable_path = Path(stable_path) if stable_path is not None else None
        self.silent = False
        self.requests: list[bytes] = []  # the last request frames received, in order (bounded)
        self._lock = threading.Lock()  # card slot and fault switches
        self._io = threading.Lock()  # the pty fds: held around every select/read/write/close
        self._card_present = False
        self._card_text = b""
        self._photo = b""
        self._fingerprint = b""
        self._appended = ""
        self._selected = False
        self._corrupt = 0
        self._corrupt_command: tuple[int, int] | None = None
        self._truncate = 0
        self._truncate_command: tuple[int, int] | None = None
        self._failures: list[tuple[tuple[int, int] | None, int]] = []
        self._raw_replies: list[bytes] = []
        self._delay = 0.0
        self._master: int | None = None
        self._slave: int | None = None
        self._port = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """What to give the driver: ``stable_path`` when set, else the pty's slave path."""
        if not self._port:
            raise RuntimeError("simulator not started")
        return str(self.stable_path) if self.stable_path is not None else self._port

    @property
    def tty_path(self) -> str:
        """The current pty slave path (changes on every replug)."""
        return self._port

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def start(self) -> Self:
        """Open the pty pair and start answering."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="id-reader-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the pty; the slave path (and ``stable_path``) disappear."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.unplug()

    def unplug(self) -> None:
        """Pull the cable: close the pty (the driver's port goes dead) and remove ``stable_path``."""
        with self._io:
            for fd in (self._master, self._slave):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._master = self._slave = None
            if self.stable_path is not None:
                self.stable_path.unlink(missing_ok=True)
        with self._lock:
            self._selected = False

    def replug(self) -> None:
        """Plug the reader back in: a new pty, ``stable_path`` pointing at it."""
        if self._master is not None:
            raise RuntimeError("simulator is plugged in")
        self._plug()

    def _plug(self) -> None:
        master, slave = pty.openpty()
        # Raw on both ends: no echo, no CR/LF translation, no line buffering of binary frames.
        tty.setraw(master)
        tty.setraw(slave)
        # Non-blocking so a driver that stops reading cannot wedge the thread on a full pty buffer.
        os.set_blocking(master, False)
        # Keeping our own slave fd open means the master never reads EIO between driver opens.
        port = os.ttyname(slave)
        if self.stable_path is not None:
            # Point the link atomically, as udev does, so the driver never sees a half-made link.
            tmp = self.stable_path.with_name(self.stable_path.name + ".new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(port)
            os.replace(tmp, self.stable_path)
        with self._io:
            self._master, self._slave, self._port = master, slave, port

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- the card slot and faults -------------------------------------------------------------

    def insert(self, card: IdentityCard, *, fingerprint: bytes = b"", appended_address: str = "") -> None:
        """Place ``card`` on the reader (any card type), optionally with a fingerprint block and
        an appended address (追加住址)."""
        self.insert_text_block(encode_text_block(card), card.photo, fingerprint=fingerprint,
                               appended_address=appended_address)

    def insert_text_block(self, text: bytes, photo: bytes = bytes(p.PHOTO_LEN), *, fingerprint: bytes = b"",
                          appended_address: str = "") -> None:
        """Place a card given as its raw 256-byte text block (for malformed or unknown cards)."""
        with self._lock:
            self._card_text, self._photo, self._selected = bytes(text), bytes(photo), False
            self._fingerprint, self._appended = bytes(fingerprint), appended_address
            self._card_present = True

    def remove(self) -> None:
        """Lift the card off the reader."""
        with self._lock:
            self._card_present, self._card_text, self._photo, self._selected = False, b"", b"", False
            self._fingerprint, self._appended = b"", ""

    def corrupt_next(self, n: int = 1, *, command: p.Command | None = None) -> None:
        """Spoil the checksum of the next ``n`` answers (the length stays right), or of the
        next ``n`` answers to ``command`` only."""
        with self._lock:
            self._corrupt += n
            self._corrupt_command = command.value if command is not None else None

    def truncate_next(self, n: int = 1, *, command: p.Command | None = None) -> None:
        """Send only the first half of the next ``n`` answers (to ``command``), then nothing."""
        with self._lock:
            self._truncate += n
            self._truncate_command = command.value if command is not None else None

    def fail_next(self, command: p.Command | None, sw3: int, n: int = 1) -> None:
        """Answer the next ``n`` requests of ``command`` (None: any request) with status ``sw3``
        and no data, e.g. ``fail_next(Command.SELECT_CARD, 0x81)``."""
        with self._lock:
            key = command.value if command is not None else None
            self._failures.extend([(key, sw3)] * n)

    def reply_next_with(self, raw: bytes) -> None:
        """Answer the next request with ``raw`` bytes instead of a frame (garbage on the line)."""
        with self._lock:
            self._raw_replies.append(bytes(raw))

    def delay_next(self, seconds: float) -> None:
        """Answer the next request only after ``seconds`` (a slow SAM); later requests queue."""
        with self._lock:
            self._delay = seconds

    def inject(self, raw: bytes) -> None:
        """Write raw bytes (line noise) to the driver now."""
        self._write(raw)

    # -- the answering thread -------------------------------------------------------------------

    def _run(self) -> None:
        assembler = p.FrameAssembler()
        while not self._stop.is_set():
            with self._io:
                master = self._master
                chunk = b""
                if master is not None:
                    try:
                        ready, _, _ = select.select([master], [], [], 0.05)
                        chunk = os.read(master, 4096) if ready else b""
                    except OSError:
                        chunk = b""  # no slave open at this instant
                    speed_ok = self._line_speed_ok(master)
            if master is None:
                assembler.clear()
                self._stop.wait(0.02)
                continue
            if not chunk:
                continue
            arrived = time.monotonic()
            for frame in assembler.feed(chunk):
                self.requests.append(frame)
                if len(self.requests) > 2000:  # a long demo run must not grow without bound
                    del self.requests[:1000]
                if self.silent or not speed_ok:
                    continue  # a reader set to another baud rate only sees noise
                if self.pace_baud:  # the request itself took this long on the wire
                    self._sleep_until(arrived + len(frame) * 10 / self.pace_baud)
                with self._lock:
                    delay, self._delay = self._delay, 0.0
                if delay and self._stop.wait(delay):
                    return
                try:
                    answer = self._answer(frame)
                except Exception:  # the simulator must keep serving whatever it was sent
                    log.exception("simulator failed to answer a request")
                    continue
                self._write(answer)

    def _line_speed_ok(self, master: int) -> bool:
        if self.line_baud is None:
            return True
        try:
            # On Linux the master reports the slave's termios, i.e. the speed the driver set.
            speed: int = getattr(termios, f"B{self.line_baud}")
            return bool(termios.tcgetattr(master)[4] == speed)
        except (termios.error, AttributeError):
            return False

    def _answer(self, frame: bytes) -> bytes:
        try:
            req = p.parse_request(frame)
        except DeviceProtocolError as exc:
            sw3 = p.SW3_CHECKSUM_ERROR if "checksum" in str(exc) else p.SW3_LENGTH_ERROR
            return self._finish(p.build_response(0, 0, sw3), None)
        key = (req.cmd, req.para)
        with self._lock:
            if self._raw_replies:
                return self._raw_replies.pop(0)
            answer = self._scripted_failure(key) or self._dispatch(req)
        return self._finish(answer, key)

    def _scripted_failure(self, key: tuple[int, int]) -> bytes | None:
        for i, (wanted, sw3) in enumerate(self._failures):
            if wanted in (None, key):
                del self._failures[i]
                if key == p.Command.SELECT_CARD.value:
                    self._selected = False
                return p.build_response(0, 0, sw3)
        return None

    def _finish(self, answer: bytes, key: tuple[int, int] | None) -> bytes:
        with self._lock:
            if self._corrupt and self._corrupt_command in (None, key):
                self._corrupt -= 1
                answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
            if self._truncate and self._truncate_command in (None, key):
                self._truncate -= 1
                answer = answer[:max(1, len(answer) // 2)]
        return answer

    def _dispatch(self, req: p.Request) -> bytes:
        key = (req.cmd, req.para)
        C = p.Command
        if key in (C.RESET_SAM.value, C.SAM_STATUS.value, p.SET_MAX_RF_FRAME):
            return p.build_response(0, 0, p.SW3_OK)
        if key == C.SAM_ID.value:
            return p.build_response(0, 0, p.SW3_OK, _SAM_ID)
        if key == C.FIND_CARD.value:
            self._selected = False
            if not self._card_present:
                return p.build_response(0, 0, p.SW3_NO_CARD)
            return p.build_response(0, 0, p.SW3_CARD_FOUND, bytes(4))
        if key == C.SELECT_CARD.value:
            if not self._card_present:
                return p.build_response(0, 0, p.SW3_SELECT_FAILED)
            self._selected = True
            return p.build_response(0, 0, p.SW3_OK, bytes(8))
        if key in (C.READ_TEXT_PHOTO.value, C.READ_WITH_FINGERPRINT.value):
            if not self._card_present or not self._selected:
                return p.build_response(0, 0, p.SW3_READ_FAILED)
            fingerprint = self._fingerprint if key == C.READ_WITH_FINGERPRINT.value else None
            photo = self._photo.ljust(p.PHOTO_LEN, b"\0")[:p.PHOTO_LEN]
            data = p.build_read_data(self._card_text, photo, fingerprint)
            return p.build_response(0, 0, p.SW3_OK, data)
        if key == C.READ_APPENDED_ADDRESS.value:
            if not self._card_present or not self._selected:
                return p.build_response(0, 0, p.SW3_READ_FAILED)
            if not self._appended:
                return p.build_response(0, 0, p.SW3_ABSENT)
            text = self._appended.encode("utf-16-le")[:_ADDRESS_BYTES]
            padding = " ".encode("utf-16-le") * ((_ADDRESS_BYTES - len(text)) // 2)
            return p.build_response(0, 0, p.SW3_OK, text + padding)
        return p.build_response(0, 0, p.SW3_BAD_COMMAND)

    # -- the wire ----------------------------------------------------------------------------------

    def _sleep_until(self, deadline: float) -> None:
        # Absolute deadlines: a late wake-up is not added to the next chunk's delay.
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self._stop.wait(remaining)

    def _write(self, data: bytes) -> None:
        baud = self.pace_baud
        step = _CHUNK if baud else max(1, len(data))
        start = time.monotonic()
        for i in range(0, len(data), step):
            chunk = data[i:i + step]
            if baud:  # a chunk is handed over when its last byte would have crossed the wire
                self._sleep_until(start + (i + len(chunk)) * 10 / baud)
            view = memoryview(chunk)
            while view:
                with self._io:
                    master = self._master
                    if master is None:
                        return  # unplugged mid-answer: the rest never arrives
                    try:
                        n = os.write(master, view)
                    except BlockingIOError:
                        n = 0
                    except OSError:
                        return
                if n == 0:
                    if self._stop.is_set():
                        return
                    time.sleep(0.001)
                    continue
                view = view[n:]


def open_simulated_port(endpoint: Endpoint) -> SerialPort:
    """The registry's ``sim://`` ID card reader handler: a started simulator's pty (stopped by the
    port's ``close``)."""
    simulator = IdReaderSimulator().start()
    return SerialPort(simulator.port, simulator)
