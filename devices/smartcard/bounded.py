"""Time limits on every exchange with a social security card: one per command (APDU) and one for the
whole read.

pyscard's ``SCardTransmit`` blocks until the reader's driver returns, and a card (or a virtual
reader) that stops answering can keep it blocked until the card is taken out. Nothing can interrupt
it safely from outside: ``SCardCancel`` only ends ``SCardGetStatusChange``, and ``SCardDisconnect``
or ``SCardReleaseContext`` on the blocked handle wait for the same per-context lock while holding
libpcsclite's process-wide one, which stalls every PC/SC call in the process (tried: the monitor's
own status wait hangs behind it).

So each read runs in a worker thread on a PC/SC context of its own, and the caller waits for it with
both limits. On a limit the caller gets :class:`CardMute` at once and the worker is left to finish
by itself: its transmit returns when the card is taken out (or pcscd goes), and it then disconnects,
releases its context and wipes anything it read. The blocked worker touches nothing the caller
uses, so the caller (the card watcher, or ``kiosk devices read-ssc``) carries on.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import time
from dataclasses import dataclass, field

from devices.smartcard import pcsc
from devices.smartcard.exchange import read_social_security_card
from devices.smartcard.pcsc import CardMute
from devices.smartcard.ssc import FIELD_BY_TAG, SSSE_AID, SocialSecurityCard

log = logging.getLogger(__name__)

# Defaults of devices.ssc_apdu_timeout_s and devices.ssc_read_timeout_s (config/defaults.toml). A
# card answers a command in tens of milliseconds and the whole read takes ~15 commands.
DEFAULT_APDU_TIMEOUT_S = 2.0
DEFAULT_READ_TIMEOUT_S = 5.0
_SLICE_S = 0.02  # how often the waiting caller looks at the command in flight


def describe_apdu(apdu: bytes) -> str:
    """The step a command APDU is, in the words the read's errors use (``READ RECORD 08 (…)``)."""
    if len(apdu) < 4:
        return "a command"
    ins, p1 = apdu[1], apdu[2]
    if ins == 0xA4 and p1 == 0x04:
        return "SELECT SSSE" if SSSE_AID in apdu else "SELECT (application)"
    if ins == 0xA4:
        return f"SELECT {apdu[5:7].hex().upper()}" if len(apdu) >= 7 else "SELECT"
    if ins == 0xB2:
        spec = FIELD_BY_TAG.get(p1)
        return f"READ RECORD {p1:02X}" + (f" ({spec.label})" if spec else "")
    if ins == 0xC0:
        return "GET RESPONSE"
    return f"command {ins:02X}"


_hung = 0  # workers still blocked after their caller gave up (for the reader's status)
_hung_lock = threading.Lock()


@dataclass
class _Job:
    """What the worker and the waiting caller share; guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    apdu: bytes | None = None  # the command in flight
    apdu_started: float = 0.0
    card: SocialSecurityCard | None = None
    error: BaseException | None = None
    abandoned: bool = False

    def started(self, apdu: bytes) -> None:
        with self.lock:
            self.apdu, self.apdu_started = apdu, time.monotonic()

    def answered(self) -> None:
        with self.lock:
            self.apdu = None

    def finish(self, card: SocialSecurityCard | None, error: BaseException | None) -> None:
        global _hung
        with self.lock:
            if self.abandoned:
                with _hung_lock:
                    _hung -= 1
                if card is not None:
                    card.wipe()  # nobody waits for it any more: drop the personal data
                log.info("a card exchange that had run over its time limit ended (%s)",
                         type(error).__name__ if error else "read complete, discarded")
            else:
                self.card, self.error = card, error
            self.done.set()


def hung_exchanges() -> int:
    """How many timed-out exchanges are still blocked in the PC/SC library (they end when their
    card is taken out)."""
    with _hung_lock:
        return _hung


def _work(job: _Job, reader: str, today: _dt.date | None) -> None:
    card: SocialSecurityCard | None = None
    error: BaseException | None = None
    try:
        context = pcsc.establish()
    except BaseException as exc:  # noqa: BLE001  handed to the caller, who raises it
        job.finish(None, exc)
        return
    try:
        with pcsc.connect(context, reader) as link:
            def transmit(apdu: bytes) -> bytes:
                job.started(apdu)
                try:
                    return link.transmit(apdu)
                finally:
                    job.answered()

            card = read_social_security_card(transmit, today=today)
    except BaseException as exc:  # noqa: BLE001  handed to the caller, who raises it
        error = exc
    finally:
        pcsc.release(context)
        job.finish(card, error)


def read_card_bounded(reader: str, *, apdu_timeout_s: float = DEFAULT_APDU_TIMEOUT_S,
                      read_timeout_s: float = DEFAULT_READ_TIMEOUT_S, today: _dt.date | None = None,
                      cancel: threading.Event | None = None) -> SocialSecurityCard:
    """Connect to the card in ``reader`` and read it, each command answered within ``apdu_timeout_s``
    and the whole read within ``read_timeout_s``.

    Raises :class:`CardMute` when a limit is reached (or ``cancel`` is set), else what
    :func:`~devices.smartcard.exchange.read_social_security_card` and the PC/SC layer raise.
    """
    global _hung
    job = _Job()
    start = time.monotonic()
    worker = threading.Thread(target=_work, args=(job, reader, today), name="ssc-exchange", daemon=True)
    worker.start()
    while not job.done.wait(_SLICE_S):
        now = time.monotonic()
        with job.lock:
            apdu, since = job.apdu, job.apdu_started
        problem = ""
        if apdu is not None and now - since >= apdu_timeout_s:
            problem = (f"{describe_apdu(apdu)}: the card did not answer within {apdu_timeout_s:g} s "
                       "(a card that stopped answering)")
        elif now - start >= read_timeout_s:
            at = f" (waiting for {describe_apdu(apdu)})" if apdu is not None else ""
            problem = f"reading the card took longer than {read_timeout_s:g} s{at}"
        elif cancel is not None and cancel.is_set():
            problem = "the read was stopped"
        if not problem:
            continue
        with job.lock:
            if not job.done.is_set():
                job.abandoned = True
                with _hung_lock:
                    _hung += 1
        if job.abandoned:
            log.warning("%s: %s; the exchange is left to end when the card is taken out", reader, problem)
            raise CardMute(f"{problem}: take the card out and insert it again; if every card does this, "
                           "the reader needs a technician")
    if job.error is not None:
        raise job.error
    assert job.card is not None
    return job.card
