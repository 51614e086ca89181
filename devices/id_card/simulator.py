"""A simulated SAM_V ID card reader on a pty, for tests and demos without hardware.

The simulator holds the master side of a pseudo-terminal and speaks exact frames
(DEVICES.md §1); the driver opens :attr:`IdReaderSimulator.port` (the slave side) with
pyserial like any real port. Faults are scriptable: corrupt answers, silence, raw noise,
and wire-accurate pacing (ptys ignore the baud rate, so pacing is done by sleeping).
"""

from __future__ import annotations

import logging
import os
import pty
import select
import threading
import time
import tty
from types import TracebackType

from devices.base import DeviceProtocolError
from devices.id_card import protocol as p
from devices.id_card.identity import IdentityCard, encode_text_block

log = logging.getLogger(__name__)

_SAM_ID = bytes.fromhex("0501000020101010000123456789abcd")  # 16 bytes, made up


class IdReaderSimulator:
    """A reader with a SAM, a card slot and a fault switchboard.

    ``start()`` opens the pty and the answering thread; ``stop()`` ends both (the driver then
    sees the port vanish). ``pace_baud`` makes answers take as long as on a real wire
    (10 bits per byte). ``silent = True`` makes it swallow requests without answering.
    """

    def __init__(self, *, pace_baud: int | None = None) -> None:
        self.pace_baud = pace_baud
        self.silent = False
        self.requests: list[bytes] = []  # the last request frames received, in order (bounded)
        self._lock = threading.Lock()
        self._card_present = False
        self._card_text = b""
        self._photo = b""
        self._selected = False
        self._corrupt = 0
        self._delay = 0.0
        self._corrupt_command: tuple[int, int] | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._port = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The slave device path to give the driver (valid after :meth:`start`)."""
        if not self._port:
            raise RuntimeError("simulator not started")
        return self._port

    def start(self) -> IdReaderSimulator:
        """Open the pty pair and start answering."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        master, slave = pty.openpty()
        # Raw on both ends: no echo, no CR/LF translation, no line buffering of binary frames.
        tty.setraw(master)
        tty.setraw(slave)
        # Non-blocking so a driver that stops reading cannot wedge the thread on a full pty buffer.
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        # Keeping our own slave fd open means the master never reads EIO between driver opens.
        self._port = os.ttyname(slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="id-reader-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the pty; the slave path disappears."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def __enter__(self) -> IdReaderSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- the card slot and faults -------------------------------------------------------------

    def insert(self, card: IdentityCard) -> None:
        """Place ``card`` on the reader."""
        self.insert_text_block(encode_text_block(card), card.photo)

    def insert_text_block(self, text: bytes, photo: bytes = bytes(p.PHOTO_LEN)) -> None:
        """Place a card given as its raw 256-byte text block (for card types the encoder lacks)."""
        with self._lock:
            self._card_text, self._photo, self._selected = bytes(text), bytes(photo), False
            self._card_present = True

    def remove(self) -> None:
        """Lift the card off the reader."""
        with self._lock:
            self._card_present, self._card_text, self._photo, self._selected = False, b"", b"", False

    def corrupt_next(self, n: int = 1, *, command: p.Command | None = None) -> None:
        """Spoil the checksum of the next ``n`` answers (the length stays right), or of the
        next ``n`` answers to ``command`` only."""
        with self._lock:
            self._corrupt += n
            self._corrupt_command = command.value if command is not None else None

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
            master = self._master
            if master is None:
                return
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(master, 4096)
            except OSError:
                # No slave open at this instant, or the fd is being closed by stop().
                time.sleep(0.01)
                continue
            for frame in assembler.feed(chunk):
                self.requests.append(frame)
                if len(self.requests) > 2000:  # a long demo run must not grow without bound
                    del self.requests[:1000]
                if self.silent:
                    continue
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

    def _answer(self, frame: bytes) -> bytes:
        try:
            req = p.parse_request(frame)
        except DeviceProtocolError as exc:
            sw3 = p.SW3_CHECKSUM_ERROR if "checksum" in str(exc) else p.SW3_LENGTH_ERROR
            return self._finish(p.build_response(0, 0, sw3), None)
        with self._lock:
            answer = self._dispatch(req)
        return self._finish(answer, (req.cmd, req.para))

    def _finish(self, answer: bytes, key: tuple[int, int] | None) -> bytes:
        with self._lock:
            if self._corrupt and self._corrupt_command in (None, key):
                self._corrupt -= 1
                answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
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
            fingerprint = b"" if key == C.READ_WITH_FINGERPRINT.value else None
            photo = self._photo.ljust(p.PHOTO_LEN, b"\0")[:p.PHOTO_LEN]
            data = p.build_read_data(self._card_text, photo, fingerprint)
            return p.build_response(0, 0, p.SW3_OK, data)
        if key == C.READ_APPENDED_ADDRESS.value:
            if not self._card_present or not self._selected:
                return p.build_response(0, 0, p.SW3_READ_FAILED)
            return p.build_response(0, 0, p.SW3_ABSENT)
        return p.build_response(0, 0, p.SW3_BAD_COMMAND)

    def _write(self, data: bytes) -> None:
        master = self._master
        if master is None:
            return
        # Pace in small chunks so the driver sees a frame trickle in like on a real wire.
        step = 64 if self.pace_baud else len(data)
        for i in range(0, len(data), step):
            chunk = data[i:i + step]
            view = memoryview(chunk)
            while view:
                try:
                    n = os.write(master, view)
                except BlockingIOError:
                    if self._stop.is_set():
                        return
                    time.sleep(0.001)
                    continue
                except OSError:
                    return  # pty closed under us by stop()
                view = view[n:]
            if self.pace_baud:
                time.sleep(len(chunk) * 10 / self.pace_baud)
