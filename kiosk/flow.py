"""The resident's journey as a state machine: ``handle(event) -> effects``.

No pygame, no Flask, no threads: the screens turn touches into :class:`Tapped`
events, device threads turn card reads into :class:`CardRead`, the effect runner
turns gateway and printer answers into events, and a :class:`Tick` lets the flow
notice timeouts against the injected monotonic clock. The flow answers each event
with a list of effects for the outside world to carry out.

Personal data lives only in the :class:`Session`; :meth:`KioskFlow.view` hands
the screens display-safe (masked) strings, and every way a session ends goes
through :meth:`KioskFlow._end_session`, which wipes it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.catalog import Catalog, ServiceItem
from kiosk.privacy import mask_id_number, mask_name
from kiosk.qrcodes import progress_url


class Screen(str, enum.Enum):
    ATTRACT = "attract"
    HOME = "home"
    CARD_PROMPT = "card_prompt"
    CONFIRM = "confirm"
    WORKING = "working"
    PRINTING = "printing"
    DONE = "done"
    THANKS = "thanks"
    TIMEOUT = "timeout"
    ERROR = "error"


class Identity(Protocol):
    """What the flow needs of an identity document read by a device."""

    name: str
    id_number: str

    def wipe(self) -> None: ...


# --- events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tapped:
    """A touch on a named target, e.g. ``start``, ``item:rs-sbjfzm``, ``confirm``, ``rate:1``."""

    target: str


@dataclass(frozen=True)
class CardRead:
    identity: Any  # an Identity; Any keeps the dataclass free of device imports


@dataclass(frozen=True)
class CardRejected:
    """A card was laid on a reader but cannot identify anyone here; ``reason_key`` says why."""

    reason_key: str


@dataclass(frozen=True)
class Tick:
    """Time passes; the flow checks its deadlines against the clock."""


@dataclass(frozen=True)
class DocumentFetched:
    document: dict[str, Any]


@dataclass(frozen=True)
class SubmissionAccepted:
    receipt_no: str


@dataclass(frozen=True)
class ServiceFailed:
    """The gateway or platform could not do what was asked; ``reason`` is for the resident."""

    reason_key: str
    detail: str = ""


@dataclass(frozen=True)
class PrintFinished:
    job_id: str
    printed: bool
    reason: str = ""


Event = Tapped | CardRead | CardRejected | Tick | DocumentFetched | SubmissionAccepted | ServiceFailed | PrintFinished


# --- effects --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Show:
    screen: Screen


@dataclass(frozen=True)
class FetchDocument:
    item_code: str
    applicant: dict[str, str]


@dataclass(frozen=True)
class Submit:
    """Store a submission at the gateway; ``request_id`` makes a resend after a lost answer harmless."""

    kind: str
    item_code: str
    applicant: dict[str, str]
    form: dict[str, Any]
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class PrintReceipt:
    """Print the document and receipt; ``content`` holds only masked, printable values."""

    job_id: str
    content: dict[str, Any]


@dataclass(frozen=True)
class SendRating:
    receipt_no: str
    level: int  # GB/T 39046: 1 = 非常满意 … 5 = 非常不满意


@dataclass(frozen=True)
class SessionWiped:
    """The session ended and its personal data is gone; screens must drop anything cached."""

    reason: str


Effect = Show | FetchDocument | Submit | PrintReceipt | SendRating | SessionWiped


# --- the flow -------------------------------------------------------------------------------

def id_type(card_type: str, number: str) -> str:
    """The gateway's document type for a card read by the ID reader."""
    if card_type == "J":
        return "taiwan_permit" if number.startswith("83") else "hk_macao_permit"
    if card_type in ("I", "Y"):
        return "foreign_permanent"
    return "resident_id"


RATING_LEVELS = (1, 2, 3, 4, 5)  # GB/T 39046-2020 direction: 1 非常满意 … 5 非常不满意


@dataclass
class Session:
    """One resident's visit. Holds the only copy of their personal data in the app."""

    language: str
    identity: Any = None
    item: ServiceItem | None = None
    document: dict[str, Any] | None = None
    receipt_no: str = ""
    print_job: str = ""
    printed: bool | None = None
    print_reason: str = ""
    error_key: str = ""
    touches: int = 0
    extensions: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def wipe(self) -> None:
        if self.identity is not None:
            self.identity.wipe()
        self.identity = None
        self.document = None
        self.extra.clear()


class KioskFlow:
    """The state machine. ``clock`` is a monotonic clock in seconds (injected for tests)."""

    BUSY = {Screen.WORKING, Screen.PRINTING}
    BRIEF_S = 8.0  # how long thanks / timeout / error notices stay before the attract loop
    NOTICE_S = 6.0  # how long a banner (card rejected) stays

    def __init__(self, catalog: Catalog, clock: Callable[[], float], *, language: str = "zh_CN",
                 idle_timeout_s: float = 90.0, warning_s: float = 20.0) -> None:
        self.catalog = catalog
        self.clock = clock
        self.default_language = language
        self.idle_timeout_s = idle_timeout_s
        self.warning_s = warning_s
        self.screen = Screen.ATTRACT
        self.session: Session | None = None
        self.warning = False
        self._last_input = clock()
        self._entered = clock()
        self._notice = ""
        self._notice_until = 0.0

    # -- public API --

    def handle(self, event: Event) -> list[Effect]:
        """Advance the journey by one event and say what the outside world should do."""
        if isinstance(event, Tick):
            return self._tick()
        if isinstance(event, Tapped):
            self._last_input = self.clock()
            if self.session is not None:
                self.session.touches += 1
            if self.warning:
                return self._answer_warning(event.target)
            return self._tapped(event.target)
        if isinstance(event, CardRead):
            self._last_input = self.clock()
            return self._card_read(event.identity)
        if isinstance(event, CardRejected):
            self._last_input = self.clock()
            return self._notify(event.reason_key)
        if isinstance(event, DocumentFetched):
            return self._document_fetched(event.document)
        if isinstance(event, SubmissionAccepted):
            return self._submission_accepted(event.receipt_no)
        if isinstance(event, ServiceFailed):
            return self._failed(event.reason_key)
        if isinstance(event, PrintFinished):
            return self._print_finished(event)
        return []

    @property
    def language(self) -> str:
        return self.session.language if self.session else self.default_language

    def view(self) -> dict[str, Any]:
        """Display-safe state for the screens: masked values only, never raw personal data."""
        out: dict[str, Any] = {
            "screen": self.screen.value,
            "language": self.language,
            "warning": self.warning,
            "warning_left_s": max(0, round(self._deadline() - self.clock())) if self.warning else 0,
            "items": [(i.code, i.name.get(self.language), i.department) for i in self.catalog.featured()],
            "notice_key": self._notice,
        }
        s = self.session
        if s is None:
            return out
        if s.identity is not None:
            out["applicant_name"] = mask_name(s.identity.name)
            out["applicant_id"] = mask_id_number(s.identity.id_number)
        if s.item is not None:
            out["item_name"] = s.item.name.get(s.language)
            out["item_code"] = s.item.code
        out["receipt_no"] = s.receipt_no
        out["result_url"] = progress_url(s.receipt_no) if s.receipt_no else ""
        out["printed"] = s.printed
        out["print_reason"] = s.print_reason
        out["error_key"] = s.error_key
        return out

    # -- transitions --

    def _go(self, screen: Screen) -> list[Effect]:
        self.screen = screen
        self._entered = self.clock()
        self.warning = False
        return [Show(screen)]

    def _start_session(self) -> None:
        if self.session is None:
            self.session = Session(language=self.default_language)

    def _end_session(self, reason: str, then: Screen = Screen.ATTRACT) -> list[Effect]:
        if self.session is not None:
            self.session.wipe()
        self.session = None
        return [SessionWiped(reason), *self._go(then)]

    def _tapped(self, target: str) -> list[Effect]:
        screen = self.screen
        if target.startswith("lang:"):
            self._start_session()
            assert self.session is not None
            self.session.language = target[5:]
            return [Show(screen)]
        if target == "home" and screen not in self.BUSY:
            if screen in (Screen.THANKS, Screen.TIMEOUT, Screen.ERROR, Screen.DONE):
                return self._end_session("finished")
            self._start_session()
            return self._go(Screen.HOME)
        if target == "exit" and screen not in self.BUSY:
            return self._end_session("resident left")
        if screen == Screen.ATTRACT:
            self._start_session()
            return self._go(Screen.HOME)
        if screen == Screen.HOME and target.startswith("item:"):
            item = self.catalog.get(target[5:])
            if item is None:
                return []
            assert self.session is not None
            self.session.item = item
            return self._go(Screen.CONFIRM if self.session.identity else Screen.CARD_PROMPT)
        if screen == Screen.CONFIRM and target == "confirm":
            return self._confirm()
        if screen in (Screen.CONFIRM, Screen.CARD_PROMPT) and target == "back":
            return self._go(Screen.HOME)
        if screen == Screen.DONE and target.startswith("rate:"):
            return self._rated(target[5:])
        if screen in (Screen.THANKS, Screen.TIMEOUT):
            return self._end_session("finished")
        return []

    def _card_read(self, identity: Any) -> list[Effect]:
        if self.screen in self.BUSY or self.screen in (Screen.DONE, Screen.THANKS):
            identity.wipe()  # a card laid on the reader mid-transaction is not this session's
            return []
        self._start_session()
        assert self.session is not None
        if self.session.identity is not None and self.session.identity is not identity:
            self.session.identity.wipe()
        self.session.identity = identity
        if self.screen in (Screen.ATTRACT, Screen.TIMEOUT, Screen.ERROR):
            return self._go(Screen.HOME)
        if self.screen == Screen.CARD_PROMPT:
            return self._go(Screen.CONFIRM)
        return [Show(self.screen)]

    def _confirm(self) -> list[Effect]:
        s = self.session
        assert s is not None and s.item is not None and s.identity is not None
        return [*self._go(Screen.WORKING), FetchDocument(s.item.code, self._applicant())]

    def _applicant(self) -> dict[str, str]:
        s = self.session
        assert s is not None and s.identity is not None
        return {"name": s.identity.name, "id_number": s.identity.id_number,
                "id_type": id_type(getattr(s.identity, "card_type", "resident"), s.identity.id_number)}

    def _document_fetched(self, document: dict[str, Any]) -> list[Effect]:
        s = self.session
        if self.screen != Screen.WORKING or s is None or s.item is None:
            return []
        s.document = document
        return [Submit("print_request", s.item.code, self._applicant(),
                       {"doc_no": str(document.get("doc_no", ""))})]

    def _submission_accepted(self, receipt_no: str) -> list[Effect]:
        s = self.session
        if self.screen != Screen.WORKING or s is None or s.item is None or s.document is None:
            return []
        s.receipt_no = receipt_no
        s.print_job = f"{receipt_no}-{uuid.uuid4().hex[:8]}"
        content = {
            "item_name": s.item.name.get("zh_CN"),
            "document": s.document,
            "receipt_no": receipt_no,
            "applicant_name": mask_name(s.identity.name) if s.identity else "",
            "applicant_id": mask_id_number(s.identity.id_number) if s.identity else "",
        }
        return [*self._go(Screen.PRINTING), PrintReceipt(s.print_job, content)]

    def _print_finished(self, event: PrintFinished) -> list[Effect]:
        s = self.session
        if self.screen != Screen.PRINTING or s is None or event.job_id != s.print_job:
            return []
        s.printed = event.printed
        s.print_reason = event.reason
        # The printed paper carries everything the resident needs; identity is no longer needed.
        if s.identity is not None:
            s.identity.wipe()
            s.identity = None
        s.document = None
        return self._go(Screen.DONE)

    def _rated(self, value: str) -> list[Effect]:
        s = self.session
        if s is None or not value.isdigit() or int(value) not in RATING_LEVELS:
            return []
        effects: list[Effect] = []
        if s.receipt_no:
            effects.append(SendRating(s.receipt_no, int(value)))
        return [*effects, *self._end_session("completed", then=Screen.THANKS)]

    def _failed(self, reason_key: str) -> list[Effect]:
        if self.screen not in self.BUSY or self.session is None:
            return []
        self.session.error_key = reason_key
        return self._go(Screen.ERROR)

    def _notify(self, key: str) -> list[Effect]:
        """A short banner on the current screen (e.g. a card that cannot be used); it fades on its own."""
        self._notice = key
        self._notice_until = self.clock() + self.NOTICE_S
        return [Show(self.screen)]

    # -- time --

    def _deadline(self) -> float:
        if self.screen in (Screen.THANKS, Screen.TIMEOUT):
            return self._entered + self.BRIEF_S
        return self._last_input + self.idle_timeout_s + self.warning_s

    def _tick(self) -> list[Effect]:
        now = self.clock()
        if self._notice and now >= self._notice_until:
            self._notice = ""
            return [Show(self.screen), *self._tick()]
        if self.screen in self.BUSY or self.screen == Screen.ATTRACT:
            if self.screen == Screen.ATTRACT and self.session is not None and \
                    now - self._last_input > self.idle_timeout_s:
                return self._end_session("idle on attract")
            return []
        if self.screen in (Screen.THANKS, Screen.TIMEOUT):
            if now >= self._entered + self.BRIEF_S:
                return self._go(Screen.ATTRACT)
            return []
        idle = now - self._last_input
        if idle >= self.idle_timeout_s + self.warning_s:
            return self._end_session("timeout", then=Screen.TIMEOUT)
        if idle >= self.idle_timeout_s and not self.warning:
            self.warning = True
            return [Show(self.screen)]
        return []

    def _answer_warning(self, target: str) -> list[Effect]:
        if target == "extend":
            self.warning = False
            if self.session is not None:
                self.session.extensions += 1
            return [Show(self.screen)]
        if target == "exit":
            return self._end_session("resident left")
        return []  # while the warning shows, only its own buttons count
