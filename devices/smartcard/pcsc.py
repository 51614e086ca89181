"""PC/SC through pyscard's low-level ``smartcard.scard`` API, with its errors translated at this boundary.

The low-level API returns PC/SC result codes instead of raising, which is what supervision needs:
a stopped pcscd (``SCARD_E_NO_SERVICE``, ``SCARD_F_COMM_ERROR``, …) is told apart from a vanished
reader and from a pulled card, and nothing here starts a thread (pyscard's ``CardMonitor`` thread
dies with pcscd: pyscard issue #27).

pyscard is imported inside the functions, so importing this module needs no PC/SC library.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devices.base import ActionHint, DeviceDisconnected, DeviceError, DeviceNotFound, DeviceTimeout

# PC/SC result codes (pcsclite.h), as unsigned 32-bit values.
S_SUCCESS = 0
E_CANCELLED = 0x80100002
E_INVALID_HANDLE = 0x80100003
E_UNKNOWN_READER = 0x80100009
E_TIMEOUT = 0x8010000A
E_SHARING_VIOLATION = 0x8010000B
E_NO_SMARTCARD = 0x8010000C
E_PROTO_MISMATCH = 0x8010000F
F_COMM_ERROR = 0x80100013
E_NOT_TRANSACTED = 0x80100016
E_READER_UNAVAILABLE = 0x80100017
E_NO_SERVICE = 0x8010001D
E_SERVICE_STOPPED = 0x8010001E
E_NO_READERS_AVAILABLE = 0x8010002E
W_UNRESPONSIVE_CARD = 0x80100066
W_UNPOWERED_CARD = 0x80100067
W_RESET_CARD = 0x80100068
W_REMOVED_CARD = 0x80100069

SERVICE_GONE = frozenset({E_INVALID_HANDLE, F_COMM_ERROR, E_NO_SERVICE, E_SERVICE_STOPPED})
READER_GONE = frozenset({E_UNKNOWN_READER, E_READER_UNAVAILABLE, E_NO_READERS_AVAILABLE})
CARD_GONE = frozenset({E_NO_SMARTCARD, W_REMOVED_CARD, W_RESET_CARD, E_NOT_TRANSACTED})

CARD_REMOVED = ("the card was taken out while it was being read: insert it again and leave it in "
                "until the kiosk says so")
START_PCSCD_HINT = ("start it with 'systemctl start pcscd' (or 'systemctl start pcscd.socket'); "
                    "install it with 'apt-get install pcscd' if it is missing")


class PcscServiceUnavailable(DeviceNotFound):
    """pcscd is not running, or stopped while in use. Retryable: it may come back."""


class ReaderGone(DeviceNotFound):
    """The named reader is not (or no longer) known to pcscd: unplugged, or not configured."""


class CardGone(DeviceDisconnected):
    """The card left the reader during an exchange. The resident puts it back: nothing for staff
    (the reader is fine), so no maintenance hint."""

    hint = ActionHint.NONE


class CardMute(DeviceTimeout):
    """The card does not answer: no answer to reset, or a command unanswered within its time limit
    (:mod:`devices.smartcard.bounded`). The resident takes it out and inserts it again; nothing for
    staff unless every card does it."""

    retryable = True
    hint = ActionHint.NONE


def code(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def describe(hresult: int) -> str:
    """The PC/SC library's own wording of a result code, with the code."""
    from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

    try:
        text = scard.SCardGetErrorMessage(hresult)
    except Exception:  # noqa: BLE001  an unknown code must not hide the original problem
        text = "unknown PC/SC error"
    return f"{text} (0x{code(hresult):08X})"


def raise_for(hresult: int, what: str) -> None:
    """Raise the project's error for a failed PC/SC call (no-op on success)."""
    c = code(hresult)
    if c == S_SUCCESS:
        return
    if c in SERVICE_GONE:
        raise PcscServiceUnavailable(f"{what}: the PC/SC service went away ({describe(hresult)}); "
                                     f"{START_PCSCD_HINT}")
    if c in READER_GONE:
        raise ReaderGone(f"{what}: the card reader is gone ({describe(hresult)}): check its cable, "
                         "then list readers with 'kiosk devices list'")
    if c in CARD_GONE:
        raise CardGone(f"{what}: {CARD_REMOVED}")
    if c in (W_UNRESPONSIVE_CARD, W_UNPOWERED_CARD, E_PROTO_MISMATCH):
        raise CardMute(f"{what}: the card does not answer ({describe(hresult)}): insert it chip "
                       "first and face up, or use another card")
    raise DeviceError(f"{what}: {describe(hresult)}", retryable=True)


def establish() -> Any:
    """A new PC/SC context. Raises :class:`PcscServiceUnavailable` when pcscd is not running."""
    try:
        from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it
    except ImportError as exc:  # pyscard not built: say what to install, do not crash
        raise DeviceNotFound(f"pyscard cannot be loaded ({exc}): install libpcsclite1 and reinstall "
                             "pyscard (deploy/setup.sh does both)", retryable=False) from exc
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if code(hresult) != S_SUCCESS:
        raise PcscServiceUnavailable(f"cannot reach the PC/SC service pcscd ({describe(hresult)}): "
                                     f"{START_PCSCD_HINT}")
    return context


def release(context: Any) -> None:
    """Release a context; a context of a pcscd that is gone releases with an error, ignored."""
    from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

    try:
        scard.SCardReleaseContext(context)
    except Exception:  # noqa: BLE001, S110  the context is unusable either way
        pass


def list_reader_names(context: Any) -> list[str]:
    """Names of the readers pcscd knows; [] when there are none."""
    from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

    hresult, names = scard.SCardListReaders(context, [])
    if code(hresult) in (E_NO_READERS_AVAILABLE, E_UNKNOWN_READER):
        return []
    raise_for(hresult, "listing card readers")
    return list(names)


def pick_reader(names: list[str], wanted: str | None) -> str | None:
    """The reader to use: the first whose name contains ``wanted`` (case-insensitive), else the first."""
    if wanted:
        return next((n for n in names if wanted.lower() in n.lower()), None)
    return names[0] if names else None


class CardLink:
    """A connection to the card in one reader: :meth:`transmit` sends an APDU, returns the answer."""

    def __init__(self, handle: Any, protocol: int, reader: str) -> None:
        self._handle, self._protocol, self.reader = handle, protocol, reader

    def transmit(self, apdu: bytes) -> bytes:
        from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

        hresult, answer = scard.SCardTransmit(self._handle, self._protocol, list(apdu))
        raise_for(hresult, f"sending a command to the card in {self.reader}")
        return bytes(answer)


@contextmanager
def connect(context: Any, reader: str) -> Iterator[CardLink]:
    """Connect to the card in ``reader`` (shared, T=0 or T=1) inside a transaction, so another
    PC/SC client cannot interleave commands with ours; disconnects leaving the card powered."""
    from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it

    hresult, handle, protocol = scard.SCardConnect(
        context, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    raise_for(hresult, f"connecting to the card in {reader}")
    try:
        raise_for(scard.SCardBeginTransaction(handle), f"starting a transaction with the card in {reader}")
        try:
            yield CardLink(handle, protocol, reader)
        finally:
            scard.SCardEndTransaction(handle, scard.SCARD_LEAVE_CARD)
    finally:
        scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
