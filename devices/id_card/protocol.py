"""Frames of the resident ID card SAM_V module over UART (DEVICES.md §1).

Both directions share one frame shape::

    AA AA AA 96 69 | LEN_hi LEN_lo | body ... | CHK

``LEN`` is big-endian and counts every byte after itself, ``CHK`` included; ``CHK`` is the
XOR of every byte from ``LEN_hi`` up to the byte before it. A request body is ``CMD PARA
[DATA]``, a response body ``SW1 SW2 SW3 [DATA]``.

This module is pure: it builds and checks bytes and never touches a port, so the driver,
the simulator and the tests share exactly one definition of the wire format.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from devices.base import ActionHint, DeviceError, DeviceProtocolError

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2  # preamble + LEN
MIN_LEN = 3  # CMD PARA CHK: the shortest body a request can have
# The longest frame DEVICES.md names is 2321 bytes (read with a 1024-byte fingerprint);
# anything much longer is a corrupt LEN and must not make us wait for kilobytes that never come.
MAX_LEN = 0x0A00

TEXT_LEN = 256
PHOTO_LEN = 1024
TEXT_OFFSET = 14  # in the read text+photo answer frame
TEXT_OFFSET_WITH_FINGERPRINT = 16


class Command(enum.Enum):
    """Every request the driver sends, as ``(CMD, PARA)``."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_APPENDED_ADDRESS = (0x30, 0x03)
    READ_WITH_FINGERPRINT = (0x30, 0x10)

    @property
    def cmd(self) -> int:
        return self.value[0]

    @property
    def para(self) -> int:
        return self.value[1]

    def frame(self) -> bytes:
        """The whole request frame for this command."""
        return build_frame(self.cmd, self.para)


# DEVICES.md also lists "set max RF frame bytes" (61 FF + data 50); the driver does not need it yet.
SET_MAX_RF_FRAME = (0x61, 0xFF)

SW3_OK = 0x90
SW3_ABSENT = 0x91
SW3_CARD_FOUND = 0x9F
SW3_NO_CARD = 0x80
SW3_SELECT_FAILED = 0x81
SW3_READ_FAILED = 0x41
SW3_CHECKSUM_ERROR = 0x10
SW3_LENGTH_ERROR = 0x11
SW3_BAD_COMMAND = 0x21

SW3_MEANINGS: dict[int, str] = {
    0x90: "ok",
    0x91: "item absent (no appended address)",
    0x9F: "card found",
    0x10: "checksum error",
    0x11: "length error",
    0x21: "bad command",
    0x23: "not permitted",
    0x24: "unknown error",
    0x31: "card-SAM authentication failed",
    0x32: "card-SAM authentication failed",
    0x33: "verification failed",
    0x37: "fingerprint error",
    0x3F: "length error",
    0x40: "unknown card type",
    0x41: "read failed",
    0x47: "random number failed",
    0x60: "SAM self-test failed",
    0x66: "SAM not authorised",
    0x80: "find failed (no card)",
    0x81: "select failed",
}

# What a person should do when the SAM refuses: card problems are fixed by placing the card
# again, SAM problems need an engineer, framing complaints are cured by a reset.
_SW3_HINTS: dict[int, ActionHint] = {
    0x31: ActionHint.CLEAR, 0x32: ActionHint.CLEAR, 0x33: ActionHint.CLEAR, 0x40: ActionHint.CLEAR,
    0x41: ActionHint.CLEAR, 0x47: ActionHint.CLEAR, 0x60: ActionHint.MAINTENANCE,
    0x66: ActionHint.MAINTENANCE,
}


def sw3_meaning(sw3: int) -> str:
    """Plain words for a status byte, e.g. ``0x80`` → ``"find failed (no card)"``."""
    return SW3_MEANINGS.get(sw3, f"unknown status 0x{sw3:02X}")


class SamRefused(DeviceError):
    """The SAM answered a well-formed frame, but with a status that refuses the request."""

    retryable = True

    def __init__(self, command: str, sw3: int) -> None:
        super().__init__(f"ID card reader refused {command}: SW3 0x{sw3:02X} {sw3_meaning(sw3)}")
        self.sw3 = sw3
        self.hint = _SW3_HINTS.get(sw3, ActionHint.RESET)


@dataclass(frozen=True)
class Response:
    """One decoded answer frame."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.sw1 == 0 and self.sw2 == 0 and self.sw3 == SW3_OK

    @property
    def meaning(self) -> str:
        return sw3_meaning(self.sw3)


# The answers each command can legitimately get when the SAM is content, as {SW3: data length}
# (None: any length). Used to recognise a late answer to an earlier, timed-out request.
_EXPECTED: dict[tuple[int, int], dict[int, int | None]] = {
    Command.RESET_SAM.value: {SW3_OK: 0},
    Command.SAM_STATUS.value: {SW3_OK: 0},
    Command.SAM_ID.value: {SW3_OK: 16},
    Command.FIND_CARD.value: {SW3_CARD_FOUND: 4, SW3_NO_CARD: 0},
    Command.SELECT_CARD.value: {SW3_OK: 8, SW3_SELECT_FAILED: 0},
    Command.READ_TEXT_PHOTO.value: {SW3_OK: None},
    Command.READ_APPENDED_ADDRESS.value: {SW3_OK: None, SW3_ABSENT: 0},
    Command.READ_WITH_FINGERPRINT.value: {SW3_OK: None},
}
_ROUTINE = {SW3_OK, SW3_ABSENT, SW3_CARD_FOUND, SW3_NO_CARD, SW3_SELECT_FAILED}


def answers(command: Command, response: Response) -> bool:
    """Whether ``response`` can be the answer to ``command``.

    The protocol has no sequence numbers; but a routine answer (90, 91, 9F, 80, 81) that
    another command would get, or with another data length, is a stale answer to an earlier
    request. Error statuses could answer anything and are accepted.
    """
    expected = _EXPECTED[command.value]
    if response.sw3 in expected:
        size = expected[response.sw3]
        return size is None or len(response.data) == size
    return response.sw3 not in _ROUTINE


@dataclass(frozen=True)
class Request:
    """One decoded request frame (what the simulator receives)."""

    cmd: int
    para: int
    data: bytes = b""


def xor_checksum(data: bytes) -> int:
    """XOR of all bytes of ``data``."""
    chk = 0
    for b in data:
        chk ^= b
    return chk


def _frame(body: bytes) -> bytes:
    length = len(body) + 1
    if length > 0xFFFF:
        raise ValueError(f"frame body of {len(body)} bytes does not fit a 16-bit LEN")
    head = length.to_bytes(2, "big") + body
    return PREAMBLE + head + bytes([xor_checksum(head)])


def build_frame(cmd: int, para: int, data: bytes = b"") -> bytes:
    """Build a request frame: ``build_frame(0x20, 0x01)`` → ``AA AA AA 96 69 00 03 20 01 22``."""
    if not (0 <= cmd <= 0xFF and 0 <= para <= 0xFF):
        raise ValueError(f"CMD and PARA must be bytes, got 0x{cmd:X} 0x{para:X}")
    return _frame(bytes([cmd, para]) + bytes(data))


def build_response(sw1: int, sw2: int, sw3: int, data: bytes = b"") -> bytes:
    """Build an answer frame (used by the simulator and tests)."""
    return _frame(bytes([sw1, sw2, sw3]) + bytes(data))


def _cut_short(frame: bytes, following: bytes) -> int:
    """How many of ``following`` bytes belong to ``frame`` (0: none) when its LEN is short.

    A frame whose LEN undercounts is cut before its end: the bytes right after it are the rest
    of it, and the frame checks out once they are added back, whether the sender computed the
    checksum with the short LEN or with the right one. The shortest such extension is taken.
    """
    rest = following
    stop = rest.find(PREAMBLE)
    if stop >= 0:
        rest = rest[:stop]  # the next frame is not part of this one
    declared = int.from_bytes(frame[5:7], "big")
    for k in range(1, len(rest) + 1):
        whole = frame + rest[:k]
        for length in (declared, declared + k):
            if length > 0xFFFF:
                continue
            head = length.to_bytes(2, "big") + whole[7:-1]
            if xor_checksum(head) == whole[-1]:
                return k
    return 0


def _check_frame(frame: bytes, min_body: int, what: str, following: bytes = b"") -> bytes:
    """Validate preamble, LEN and CHK; return the body between LEN and CHK.

    ``following``: bytes that arrived right after ``frame``. When they complete it, the LEN was
    short and the error says so (a short frame), rather than blaming the checksum."""
    intact = len(frame) >= HEADER_LEN + min_body + 1 and xor_checksum(frame[5:-1]) == frame[-1]
    if len(frame) >= HEADER_LEN and following and not intact:
        k = _cut_short(frame, following)
        if k:
            declared = int.from_bytes(frame[5:7], "big")
            raise DeviceProtocolError(
                f"short frame: LEN at offset 5 says {declared} bytes follow, but the frame runs on for "
                f"{declared + k} (it checks out with {k} more byte(s)): the length field undercounts, "
                "so the frame was cut short")
    if len(frame) < HEADER_LEN + min_body + 1:
        raise DeviceProtocolError(
            f"{what} frame too short: {len(frame)} bytes, need at least {HEADER_LEN + min_body + 1}")
    for i, expected in enumerate(PREAMBLE):
        if frame[i] != expected:
            raise DeviceProtocolError(
                f"bad preamble at offset {i}: 0x{frame[i]:02X}, expected 0x{expected:02X}")
    declared = int.from_bytes(frame[5:7], "big")
    actual = len(frame) - HEADER_LEN
    if declared != actual:
        raise DeviceProtocolError(
            f"length error at offset 5: LEN says {declared} bytes follow, the frame has {actual}")
    computed = xor_checksum(frame[5:-1])
    if frame[-1] != computed:
        tail = (f"; {len(following)} more byte(s) came right after it, so its LEN may be short"
                if following else "")
        raise DeviceProtocolError(
            f"checksum error at offset {len(frame) - 1}: frame says 0x{frame[-1]:02X}, "
            f"computed 0x{computed:02X}{tail}")
    return bytes(frame[HEADER_LEN:-1])


def parse_response(frame: bytes, following: bytes = b"") -> Response:
    """Decode an answer frame, or raise :class:`DeviceProtocolError` naming the offending offset.

    ``following``: what arrived right after the frame, if known; a frame it completes had a short
    LEN and is reported as a short frame, not a checksum error."""
    body = _check_frame(frame, 3, "response", following)
    return Response(body[0], body[1], body[2], body[3:])


def parse_request(frame: bytes) -> Request:
    """Decode a request frame, or raise :class:`DeviceProtocolError` naming the offending offset."""
    body = _check_frame(frame, 2, "request")
    return Request(body[0], body[1], body[2:])


@dataclass(frozen=True)
class CardBlocks:
    """The blocks of a read answer: 256-byte text, WLT photo, optional fingerprint."""

    text: bytes
    photo: bytes
    fingerprint: bytes = b""


def split_read_data(data: bytes, *, with_fingerprint: bool = False) -> CardBlocks:
    """Split the data of a read answer (after SW1-3) into its blocks.

    Offsets in error messages are frame offsets (the data starts at frame offset 10) so
    they can be matched with a captured byte dump.
    """
    base = HEADER_LEN + 3
    n_lengths = 3 if with_fingerprint else 2
    if len(data) < 2 * n_lengths:
        raise DeviceProtocolError(
            f"length error at offset {base}: read answer carries {len(data)} data bytes, "
            f"too few for {n_lengths} block lengths")
    lengths = [int.from_bytes(data[2 * i:2 * i + 2], "big") for i in range(n_lengths)]
    if lengths[0] != TEXT_LEN:
        raise DeviceProtocolError(
            f"length error at offset {base}: text length is {lengths[0]}, expected {TEXT_LEN}")
    expected = 2 * n_lengths + sum(lengths)
    if expected != len(data):
        raise DeviceProtocolError(
            f"length error at offset {base}: block lengths {lengths} need {expected} data bytes, "
            f"the frame carries {len(data)}")
    pos = 2 * n_lengths
    text = data[pos:pos + lengths[0]]
    pos += lengths[0]
    photo = data[pos:pos + lengths[1]]
    pos += lengths[1]
    fingerprint = data[pos:pos + lengths[2]] if with_fingerprint else b""
    return CardBlocks(bytes(text), bytes(photo), bytes(fingerprint))


def build_read_data(text: bytes, photo: bytes, fingerprint: bytes | None = None) -> bytes:
    """The inverse of :func:`split_read_data` (simulator side)."""
    out = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
    if fingerprint is not None:
        out += len(fingerprint).to_bytes(2, "big")
    return out + text + photo + (fingerprint or b"")


def _partial_preamble_tail(buf: bytearray) -> int:
    """How many trailing bytes of ``buf`` could be the start of a preamble."""
    for k in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
        if buf[-k:] == PREAMBLE[:k]:
            return k
    return 0


class FrameAssembler:
    """Cuts a byte stream into whole frames.

    Feed it whatever the port returned (partial frames, several frames, leading noise); it
    returns the complete frames found so far. Bytes before a preamble are dropped and counted
    in :attr:`discarded`. A LEN outside ``MIN_LEN..max_len`` marks a false preamble (noise that
    happens to look like one): it is skipped so one bad byte cannot stall the stream. Checksums
    are not checked here; :func:`parse_response` does that and names the offset.
    """

    def __init__(self, max_len: int = MAX_LEN) -> None:
        self._buf = bytearray()
        self._max_len = max_len
        self.discarded = 0
        self._trailer = bytearray()  # bytes dropped right after the last frame, kept for take()
        self._after_frame = False

    def _drop(self, n: int) -> None:
        if self._after_frame:
            self._trailer += self._buf[:n]
        self.discarded += n
        del self._buf[:n]

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add ``chunk`` and return every frame completed by it, in order."""
        self._buf += chunk
        frames: list[bytes] = []
        buf = self._buf
        while buf:
            start = buf.find(PREAMBLE)
            if start < 0:
                self._drop(len(buf) - _partial_preamble_tail(buf))
                break
            if start:
                self._drop(start)
            self._after_frame = False
            if len(buf) < HEADER_LEN:
                break
            length = int.from_bytes(buf[5:7], "big")
            if not MIN_LEN <= length <= self._max_len:
                self._drop(1)
                continue
            total = HEADER_LEN + length
            if len(buf) < total:
                break
            frames.append(bytes(buf[:total]))
            del buf[:total]
            self._trailer.clear()
            self._after_frame = True
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back, waiting for the rest of a frame."""
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """True when a preamble has been seen and its frame is still incomplete."""
        return self._buf.startswith(PREAMBLE)

    def expected_total(self) -> int | None:
        """Size of the frame being assembled, once its LEN has arrived."""
        if len(self._buf) < HEADER_LEN or not self.in_frame:
            return None
        return HEADER_LEN + int.from_bytes(self._buf[5:7], "big")

    def take(self) -> bytes:
        """Hand over and forget what followed the last whole frame: the bytes dropped as noise
        right after it (up to the next preamble) and those still held back."""
        rest = bytes(self._trailer) + bytes(self._buf)
        self.clear()
        return rest

    def clear(self) -> None:
        """Forget buffered bytes (resynchronise after an error)."""
        self._buf.clear()
        self._trailer.clear()
        self._after_frame = False
