"""A virtual social security card: a small client of vsmartcard's vpcd that answers the card's APDUs.

vpcd (the pcscd driver of a virtual reader) listens on TCP; a card "is inserted" while a client
is connected to it. The wire: every message is a 2-byte big-endian length and a payload. A
1-byte payload is a control message (0 power off, 1 power on, 2 reset, 4 send the ATR, which
vpcd also asks for on every presence poll); anything longer is a command APDU to answer.
An empty answer makes vpcd drop the card, so a "malformed" answer is always at least one byte.

Written here rather than using vsmartcard's ``vicc``: Debian's launcher is broken as packaged,
and the protocol is a length-prefixed loop of a few dozen lines.

The card can be pulled (:meth:`VirtualSscCard.pull`), pulled in the middle of a read
(:meth:`VirtualSscCard.pull_on`), or made to answer a command with scripted bytes
(:meth:`VirtualSscCard.answer_with`), or made to stop answering (:meth:`VirtualSscCard.mute_on`).
Its fields can be loaded with raw bytes (``fields=``) to play other issuers' encodings. When its
reader goes away (pcscd stopped) it keeps trying to reconnect, as a card left in a reader is there
again when the reader comes back.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from devices.base import DeviceNotFound
from devices.smartcard import tlv
from devices.smartcard.ssc import SSSE_AID, SocialSecurityCard, encode_fields, sample_cards

log = logging.getLogger(__name__)

# ATRs of the shape real cards send (T=1, historical bytes); vpcd only passes them on.
SSC_ATR = bytes.fromhex("3B6C00000A0D0F53534331303233333001")
BANK_ATR = bytes.fromhex("3B6800000073C84013009000")
PPSE_AID = b"2PAY.SYS.DDF01"

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
_RECONNECT_S = 0.05
_RECV_SLICE_S = 0.25  # how often a waiting receive checks whether the card was pulled


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


class _Pulled(Exception):
    """The card leaves the reader (scripted pull in the middle of a command)."""


_MUTE = b""  # an override answer that means: stay in the reader and never answer


class VirtualSscCard:
    """One card that can be put into and taken out of a vpcd reader slot on ``host:port``.

    ``kind`` is ``"ssc"`` (answers the social security application from ``card``) or ``"bank"``
    (a payment card: no SSSE application). The thread that talks to vpcd is owned: started by
    :meth:`insert`, stopped by :meth:`pull`.
    """

    def __init__(self, port: int, card: SocialSecurityCard | None = None, *, kind: str = "ssc",
                 host: str = "127.0.0.1", atr: bytes | None = None,
                 fields: Mapping[int, bytes] | None = None) -> None:
        if kind not in ("ssc", "bank"):
            raise ValueError(f"unknown card kind {kind!r}: 'ssc' or 'bank'")
        self.host, self.port, self.kind = host, port, kind
        self.atr = atr or (SSC_ATR if kind == "ssc" else BANK_ATR)
        card = card if card is not None else sample_cards()[0]
        # The card's memory: raw record values, stored the way a card stores them.
        values = encode_fields(card)
        # Another issuer's bytes for some fields (ASCII digits, other padding, …), stored as given.
        values.update(fields or {})
        values[0x0C] = bytes.fromhex(card.social_security_number[:6])  # birthplace, not read by the kiosk
        self._records = {tag: tlv.encode(tag, value) for tag, value in values.items()}
        self._lock = threading.Lock()
        self._overrides: list[tuple[bytes, bytes | None]] = []
        self._mute = False
        self._commands: list[bytes] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._sock: socket.socket | None = None
        self._app_selected = False
        self._ef = 0

    # -- scripting -----------------------------------------------------------------------------

    def answer_with(self, command_prefix: bytes, answer: bytes) -> None:
        """Answer every command starting with ``command_prefix`` with ``answer`` (≥ 1 byte)."""
        if not answer:
            raise ValueError("an empty answer would make vpcd drop the card; use pull_on() for that")
        with self._lock:
            self._overrides.append((bytes(command_prefix), bytes(answer)))

    def pull_on(self, command_prefix: bytes) -> None:
        """Leave the reader when a command starting with ``command_prefix`` arrives, unanswered."""
        with self._lock:
            self._overrides.append((bytes(command_prefix), None))

    def mute_on(self, command_prefix: bytes) -> None:
        """Stop answering when a command starting with ``command_prefix`` arrives: the card stays
        in the reader (vpcd still sees it) but that command, and every command after it, gets no
        answer, as a card whose chip hangs. :meth:`pull` still takes it out."""
        with self._lock:
            self._overrides.append((bytes(command_prefix), _MUTE))

    def clear_script(self) -> None:
        with self._lock:
            self._overrides.clear()

    def set_record(self, tag: int, record: bytes) -> None:
        """Store ``record`` (the whole TLV, possibly malformed) as the record of ``tag``."""
        with self._lock:
            self._records[tag] = bytes(record)

    def commands(self) -> list[bytes]:
        """The command APDUs received so far (commands carry no personal data)."""
        with self._lock:
            return list(self._commands)

    # -- insert / pull ---------------------------------------------------------------------------

    @property
    def inserted(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def insert(self, timeout_s: float = 10.0) -> None:
        """Put the card into the reader: connect to vpcd (waiting up to ``timeout_s`` for it)."""
        if self.inserted:
            return
        self._stop.clear()
        self._mute = False
        self._thread = threading.Thread(target=self._run, name=f"virtual-ssc-{self.port}", daemon=True)
        self._thread.start()
        if not self._connected.wait(timeout_s):
            self.pull()
            raise DeviceNotFound(f"the virtual card found no vpcd reader on {self.host}:{self.port} "
                                 f"within {timeout_s} s: is the (private) pcscd running?")

    def pull(self, timeout_s: float = 5.0) -> None:
        """Take the card out: close the connection and stop the thread."""
        self._stop.set()
        self._drop_socket()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    close = pull

    def __enter__(self) -> Self:
        self.insert()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.pull()

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        self._connected.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # -- the vpcd conversation -----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                self._stop.wait(_RECONNECT_S)  # reader not there (yet, or again)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(_RECV_SLICE_S)
            self._sock = sock
            self._power_reset()
            self._connected.set()
            try:
                self._serve(sock)
            except _Pulled:
                self._stop.set()
            except OSError:
                pass  # vpcd went away (pcscd stopped): reconnect while still inserted
            finally:
                self._drop_socket()

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            # Without TCP_QUICKACK every answer waits ~40 ms for the delayed ACK; Linux clears
            # the flag after use, so set it before each read.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            try:
                chunk = sock.recv(n - len(buf))
            except TimeoutError:
                if self._stop.is_set():
                    raise _Pulled from None
                continue
            if not chunk:
                raise ConnectionResetError("vpcd closed the connection")
            buf += chunk
        return buf

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            (length,) = struct.unpack(">H", self._recv_exact(sock, 2))
            message = self._recv_exact(sock, length) if length else b""
            if len(message) == 1:
                answer = self._control(message[0])
            else:
                answer = self._command(message)
            if answer is not None and not self._mute:
                sock.sendall(struct.pack(">H", len(answer)) + answer)

    def _control(self, code: int) -> bytes | None:
        if code == CTRL_ATR:
            return self.atr
        if code in (CTRL_OFF, CTRL_ON, CTRL_RESET):
            self._power_reset()
        return None

    def _power_reset(self) -> None:
        self._app_selected, self._ef = False, 0

    def _command(self, apdu: bytes) -> bytes | None:
        with self._lock:
            self._commands.append(apdu)
            if self._mute:
                return None
            for prefix, answer in self._overrides:
                if apdu.startswith(prefix):
                    if answer is None:
                        raise _Pulled
                    if answer == _MUTE:
                        self._mute = True
                        return None
                    return answer
            return self._answer(apdu)

    def _answer(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return _sw(0x6700)
        ins, p1 = apdu[1], apdu[2]
        body = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4 and p1 == 0x04:  # SELECT by name
            if self.kind == "ssc" and body == SSSE_AID:
                self._app_selected, self._ef = True, 0
                return _sw(0x9000)
            if self.kind == "bank" and body == PPSE_AID:
                return tlv.encode(0x6F, tlv.encode(0x84, PPSE_AID)) + _sw(0x9000)
            return _sw(0x6A82)
        if ins == 0xA4 and p1 in (0x00, 0x02):  # SELECT EF by file id
            if self._app_selected and body in (b"\xEF\x05", b"\xEF\x06"):
                self._ef = int.from_bytes(body, "big")
                return _sw(0x9000)
            return _sw(0x6A82)
        if ins == 0xB2:  # READ RECORD p1 of the current EF
            if not self._ef:
                return _sw(0x6986)  # command not allowed: no current EF
            in_ef = range(1, 8) if self._ef == 0xEF05 else range(8, 14)
            record = self._records.get(p1) if p1 in in_ef else None
            return record + _sw(0x9000) if record is not None else _sw(0x6A83)
        return _sw(0x6D00)

