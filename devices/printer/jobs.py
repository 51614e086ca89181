"""Print jobs: what an attempt ended as, which jobs are remembered, and which are kept to finish.

What "printed" can mean. A printer on 9100 or a serial line never says "the receipt is in the
resident's hand". The adapter knows three things: whether it handed over every byte, what
DLE EOT said before, and what it said right after (and, with ``settle_s``, for a moment
longer while the printer works through its buffer). So an attempt ends as one of:

- ``printed``: every byte handed over and the printer reported no fault afterwards;
- ``refused``: nothing was sent, because the printer was not ready or not reachable;
- ``interrupted``: sent, then the printer reported paper out or cover open, so the receipt
  on the paper is incomplete; the job is kept and finished once the paper is replaced;
- ``unknown``: the connection broke (or the printer fell silent) while or after sending,
  so the receipt may or may not have come out. It is never sent again automatically:
  only a person can tell, and a second copy of a certificate is a worse failure than
  none (the resident has the QR on screen either way).

Kept jobs and privacy. A kept job is a rendered receipt: masked name and ID number, the
tracking number and its progress link. It is held in memory only (never written to disk),
for at most ``keep_s`` seconds and at most ``limit`` jobs, and its bytes are overwritten
when it is dropped. The expiry is the backstop for a roll replaced after the resident has
gone: without it the next person at the kiosk would be handed a stranger's certificate.
The flow should also cancel a kept job when the session ends, whichever comes first.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from devices.base import ActionHint

from .health import PrinterHealth


class PrintState(str, enum.Enum):
    """How one print attempt ended (see the module docstring for what each promises)."""

    PRINTED = "printed"
    REFUSED = "refused"
    INTERRUPTED = "interrupted"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrintOutcome:
    """The result of a print attempt; ``reason`` is for a technician, never personal data.

    ``printed`` is ``state is PrintState.PRINTED`` (kept for callers that predate ``state``).
    ``kept`` says the adapter holds the job to finish it when the paper is replaced: the
    caller may wait for a ``job_outcome`` event, or :meth:`ReceiptPrinter.cancel` it and
    show the resident the QR instead.
    """

    job_id: str
    printed: bool
    reason: str
    hint: ActionHint = ActionHint.NONE
    health: PrinterHealth | None = None
    state: PrintState | None = None
    kept: bool = False

    def __post_init__(self) -> None:
        if self.state is None:
            object.__setattr__(self, "state", PrintState.PRINTED if self.printed else PrintState.REFUSED)
        elif self.printed != (self.state is PrintState.PRINTED):
            raise ValueError(f"printed={self.printed} contradicts state={self.state.value}")


@dataclass
class KeptJob:
    """A job held to be finished later. ``partial``: part of it is already on paper."""

    job_id: str
    data: bytearray
    partial: bool
    expires_at: float

    def wipe(self) -> None:
        # Overwrite the receipt in place: dropping the reference alone leaves the bytes in memory.
        self.data[:] = bytes(len(self.data))
        self.data.clear()


class KeptJobs:
    """At most ``limit`` jobs, each for at most ``keep_s`` seconds of ``clock``; oldest go first."""

    def __init__(self, limit: int, keep_s: float, clock: Callable[[], float]) -> None:
        if limit < 0 or keep_s < 0:
            raise ValueError("limit and keep_s must not be negative")
        self.limit = limit
        self.keep_s = keep_s
        self._clock = clock
        self._jobs: OrderedDict[str, KeptJob] = OrderedDict()

    def keep(self, job_id: str, data: bytes, partial: bool) -> tuple[bool, list[str]]:
        """Hold ``data`` under ``job_id``. Returns (kept, ids dropped to make room).

        A job already kept keeps its expiry: retrying does not extend how long a
        receipt may wait for paper. ``partial`` sticks once true.
        """
        if self.limit == 0 or self.keep_s == 0:
            return False, []
        old = self._jobs.pop(job_id, None)
        expires = old.expires_at if old is not None else self._clock() + self.keep_s
        partial = partial or (old is not None and old.partial)
        if old is not None:
            old.wipe()
        self._jobs[job_id] = KeptJob(job_id, bytearray(data), partial, expires)
        dropped = []
        while len(self._jobs) > self.limit:
            _, oldest = self._jobs.popitem(last=False)
            oldest.wipe()
            dropped.append(oldest.job_id)
        return True, dropped

    def get(self, job_id: str) -> KeptJob | None:
        """The kept job, if it is still kept and not expired (call :meth:`expire` first)."""
        return self._jobs.get(job_id)

    def drop(self, job_id: str) -> bool:
        """Forget and wipe one job; False when it was not kept."""
        job = self._jobs.pop(job_id, None)
        if job is None:
            return False
        job.wipe()
        return True

    def expire(self) -> list[str]:
        """Drop and wipe every job past its expiry; return their ids."""
        now = self._clock()
        gone = [j for j, job in self._jobs.items() if job.expires_at <= now]
        for job_id in gone:
            self.drop(job_id)
        return gone

    def ids(self) -> list[str]:
        """Kept job ids, oldest first."""
        return list(self._jobs)

    def expires_in(self, job_id: str) -> float | None:
        """Seconds until ``job_id`` expires, or None when it is not kept."""
        job = self._jobs.get(job_id)
        return None if job is None else max(0.0, job.expires_at - self._clock())

    def __len__(self) -> int:
        return len(self._jobs)


class JobLedger:
    """Final outcomes (printed or unknown) by job id, so a repeated id is never sent twice.

    Bounded: the oldest ``limit`` entries are forgotten. Job ids and outcomes carry no
    personal data, so remembering them is harmless.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._done: OrderedDict[str, PrintOutcome] = OrderedDict()

    def get(self, job_id: str) -> PrintOutcome | None:
        return self._done.get(job_id)

    def record(self, outcome: PrintOutcome) -> None:
        self._done.pop(outcome.job_id, None)
        self._done[outcome.job_id] = outcome
        while len(self._done) > self.limit:
            self._done.popitem(last=False)

    def forget(self, job_id: str) -> None:
        self._done.pop(job_id, None)
