"""What a receipt printer says about itself: the DLE EOT 1–4 real-time status, decoded.

``DLE EOT n`` (``10 04 n``, DEVICES.md §3) is answered with one byte per query. This module
turns those bytes, or their absence, into a :class:`PrinterHealth`: silence is *offline with
paper unknown*, never "paper adequate" (python-escpos's mistake), and a byte that lacks the
fixed bits is *garbled*, a status of its own rather than an exception.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from devices.base import ActionHint, DeviceError, DeviceNotFound, DeviceProtocolError, DeviceState

STATUS_FIXED_BITS = 0x12  # bits 1 and 4 of every DLE EOT reply are always 1


class PaperLevel(str, enum.Enum):
    """Paper on the roll as the near-end and end sensors see it; UNKNOWN when the printer is silent."""

    OK = "ok"
    LOW = "low"
    OUT = "out"
    UNKNOWN = "unknown"


PAPER_EVENTS = {PaperLevel.OK: "paper_full", PaperLevel.LOW: "paper_low", PaperLevel.OUT: "paper_out"}


@dataclass(frozen=True)
class PrinterHealth:
    """What DLE EOT 1–4 said. ``responding`` False means silence or no connection: offline,
    paper unknown. ``garbled`` means the printer answered with bytes that are not a status.
    ``problem`` carries the transport's own words when the printer could not be reached."""

    responding: bool
    online: bool
    paper: PaperLevel
    cover_open: bool = False
    stopped_by_paper_end: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    replies: dict[int, int] = field(default_factory=dict)
    garbled: bool = False
    problem: str = ""
    no_device: bool = False

    @classmethod
    def unreachable(cls, error: DeviceError) -> PrinterHealth:
        """The health of a printer whose link failed (refused, unplugged, dropped, timed out)."""
        return cls(responding=False, online=False, paper=PaperLevel.UNKNOWN, problem=str(error),
                   no_device=isinstance(error, DeviceNotFound))

    @classmethod
    def unreadable(cls, error: DeviceProtocolError, replies: dict[int, int]) -> PrinterHealth:
        """The health of a printer that answered with bytes that are not DLE EOT replies."""
        return cls(responding=True, online=False, paper=PaperLevel.UNKNOWN, garbled=True,
                   problem=str(error), replies=dict(replies))

    @property
    def ready(self) -> bool:
        """True when a receipt can be printed now (paper low still prints)."""
        return (self.responding and self.online and not self.garbled
                and self.paper in (PaperLevel.OK, PaperLevel.LOW)
                and not (self.cover_open or self.stopped_by_paper_end or self.error or self.cutter_error
                         or self.unrecoverable_error or self.auto_recoverable_error))

    @property
    def paper_blocked(self) -> bool:
        """True when staff replacing the roll or closing the cover is all it takes to print again."""
        return self.responding and not self.garbled and (
            self.paper is PaperLevel.OUT or self.stopped_by_paper_end or self.cover_open)

    def _problem(self) -> tuple[str, ActionHint, DeviceState]:
        if not self.responding:
            if self.problem:
                return (f"打印机无法连接 / printer not reachable: {self.problem}",
                        ActionHint.CONFIGURATION if self.no_device else ActionHint.MAINTENANCE,
                        DeviceState.NO_DEVICE if self.no_device else DeviceState.OFFLINE)
            return ("打印机无响应 / printer not answering: check its power, cable and network",
                    ActionHint.MAINTENANCE, DeviceState.OFFLINE)
        if self.garbled:
            return (f"打印机状态无法识别 / printer status unreadable: {self.problem}",
                    ActionHint.RESET, DeviceState.HARDWARE_ERROR)
        if self.cover_open:
            return "打印机盖未关 / cover open: close the printer cover", ActionHint.CLEAR, DeviceState.USER_ERROR
        if self.paper is PaperLevel.OUT or self.stopped_by_paper_end:
            return "打印机缺纸 / paper out: replace the paper roll", ActionHint.CLEAR, DeviceState.USER_ERROR
        if self.cutter_error:
            return (("切刀故障 / cutter error: clear the paper jam at the cutter, then switch the printer "
                     "off and on"), ActionHint.MAINTENANCE, DeviceState.HARDWARE_ERROR)
        if self.unrecoverable_error:
            return (("打印机故障 / unrecoverable printer error: switch it off and on; call an engineer "
                     "if it returns"), ActionHint.MAINTENANCE, DeviceState.HARDWARE_ERROR)
        if self.auto_recoverable_error:
            return ("打印头过热 / auto-recoverable error (e.g. print head too hot): wait a minute",
                    ActionHint.RESET, DeviceState.OFFLINE)
        if self.error or not self.online:
            return ("打印机离线 / printer offline: check its panel lights and the feed button",
                    ActionHint.MAINTENANCE, DeviceState.OFFLINE)
        if self.paper is PaperLevel.LOW:
            return "纸将用尽 / paper near end: replace the roll soon", ActionHint.CLEAR, DeviceState.ONLINE
        return "", ActionHint.NONE, DeviceState.ONLINE

    @property
    def reason(self) -> str:
        """Plain words for a technician: what is wrong and what to do; empty when all is well."""
        return self._problem()[0]

    @property
    def hint(self) -> ActionHint:
        """XFS action hint for :attr:`reason`."""
        return self._problem()[1]

    @property
    def state(self) -> DeviceState:
        """The device state this health maps to."""
        return self._problem()[2]

    def summary(self) -> str:
        """One line for a technician's screen: state, paper, and the reason if any."""
        paper = {PaperLevel.OK: "paper ok", PaperLevel.LOW: "paper low", PaperLevel.OUT: "paper out",
                 PaperLevel.UNKNOWN: "paper unknown"}[self.paper]
        head = "ready" if self.ready else "NOT ready"
        return f"{head} ({self.state.value}, {paper})" + (f": {self.reason}" if self.reason else "")


def decode_status(replies: dict[int, int | None]) -> PrinterHealth:
    """Decode DLE EOT replies {n: byte or None}. Raises DeviceProtocolError on a malformed byte.

    A missing reply for any n (silence, or an answer cut short) gives ``responding=False``:
    a partial answer cannot vouch for the paper.
    """
    for n, byte in replies.items():
        if byte is not None and byte & STATUS_FIXED_BITS != STATUS_FIXED_BITS:
            raise DeviceProtocolError(
                f"printer answered DLE EOT {n} with 0x{byte:02X}, which lacks the fixed bits 0x12: "
                "is this endpoint really an ESC/POS printer, and does the baud rate match?")
    if any(replies.get(n) is None for n in (1, 2, 3, 4)):
        got = {n: b for n, b in replies.items() if b is not None}
        return PrinterHealth(responding=False, online=False, paper=PaperLevel.UNKNOWN, replies=got)
    s1, s2, s3, s4 = (int(replies[n]) for n in (1, 2, 3, 4))  # type: ignore[arg-type]
    stopped = bool(s2 & 0x20)
    if s4 & 0x60 or stopped:
        paper = PaperLevel.OUT
    elif s4 & 0x0C:
        paper = PaperLevel.LOW
    else:
        paper = PaperLevel.OK
    return PrinterHealth(
        responding=True, online=not s1 & 0x08, paper=paper, cover_open=bool(s2 & 0x04),
        stopped_by_paper_end=stopped, error=bool(s2 & 0x40), cutter_error=bool(s3 & 0x08),
        unrecoverable_error=bool(s3 & 0x20), auto_recoverable_error=bool(s3 & 0x40),
        replies={1: s1, 2: s2, 3: s3, 4: s4})


class StatusLink(Protocol):
    """The part of a printer link that status reading needs (see ``connections.Link``)."""

    def write(self, data: bytes) -> None: ...
    def read_byte(self, timeout: float) -> int | None: ...
    def drain(self) -> None: ...


def ask_status(link: StatusLink, timeout_s: float) -> dict[int, int | None]:
    """Send DLE EOT 1–4 and collect one byte each; stops at the first silence (waiting for
    three more timeouts would tell nothing new). Raises the link's DeviceError on a fault."""
    replies: dict[int, int | None] = {n: None for n in (1, 2, 3, 4)}
    for n in (1, 2, 3, 4):
        link.drain()  # before each query: an extra byte must not shift the answers that follow
        link.write(bytes((0x10, 0x04, n)))
        replies[n] = link.read_byte(timeout_s)
        if replies[n] is None:
            break
    return replies


def read_status(link: StatusLink, timeout_s: float) -> PrinterHealth:
    """Ask and decode the status. A garbled answer is asked once more, since one stray byte (a
    late reply, line noise) should not turn the status; garbled twice is a garbled health.
    Raises only the link's DeviceError (unreachable, dropped)."""
    try:
        return decode_status(ask_status(link, timeout_s))
    except DeviceProtocolError:
        pass
    replies = ask_status(link, timeout_s)
    try:
        return decode_status(replies)
    except DeviceProtocolError as exc:
        return PrinterHealth.unreadable(exc, {n: b for n, b in replies.items() if b is not None})
