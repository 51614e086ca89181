"""The flow's vocabulary: screens, the events it reads, the effects it asks for, and the session.

Kept apart from the state machine so device threads, the effect runner and the screens can import
the small types without the transitions.
"""

from __future__ import annotations

import enum
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kiosk.catalog.model import ServiceItem
from kiosk.flow.identity import Identity


class Screen(str, enum.Enum):
    """Every screen the resident can see; the value is the screen module's key in the renderer."""

    ATTRACT = "attract"
    HOME = "home"
    CATEGORIES = "categories"
    LIST = "list"
    SEARCH = "search"
    DETAIL = "detail"
    CARD_PROMPT = "card_prompt"
    CONSENT = "consent"
    CONFIRM = "confirm"
    FORM = "form"
    MATERIALS = "materials"
    REVIEW = "review"
    SLOTS = "slots"
    RESULT = "result"
    HELP = "help"
    WORKING = "working"
    PRINTING = "printing"
    DONE = "done"
    THANKS = "thanks"
    TIMEOUT = "timeout"
    ERROR = "error"
    SCAN = "scan"  # a QR code held up to the camera: a receipt's progress link or the app's sign-in code
    RECEIPT_ENTRY = "receipt_entry"  # the receipt number typed on a keypad instead of scanned
    PROGRESS_RESULT = "progress_result"  # 办件进度: status and steps of an earlier submission
    PAYMENT = "payment"  # a fee: the amount and what it is for, then the payment QR code and its countdown
    BUNDLE = "bundle"  # 一件事: what the bundle does and the items it includes, then start (kiosk/flow/bundle.py)
    BUNDLE_REVIEW = "bundle_review"  # 一件事: what will be submitted to which department
    BUNDLE_RESULT = "bundle_result"  # 一件事: each item's receipt number or why it was not submitted


# Screens where the resident waits for the terminal (no buttons but help's count), and where a visit ended.
BUSY = frozenset({Screen.WORKING, Screen.PRINTING})
ENDED = frozenset({Screen.THANKS, Screen.TIMEOUT, Screen.ERROR, Screen.DONE, Screen.BUNDLE_RESULT})


# --- events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tapped:
    """A touch on a named target, e.g. ``start``, ``item:rs-sbjfzm``, ``confirm``, ``rate:1``."""

    target: str


@dataclass(frozen=True)
class TextEntered:
    """The on-screen keyboard's text for the focused input (search box or form field) is now ``text``."""

    text: str


@dataclass(frozen=True)
class CardRead:
    """An identity document was read; ``source`` is ``id_card``, ``social_security_card`` or ``app_qr``."""

    identity: Identity
    source: str = "id_card"


@dataclass(frozen=True)
class CardRemoved:
    """A card left its reader (the social security card sits in a contact slot for the whole visit)."""

    source: str = "social_security_card"


@dataclass(frozen=True)
class CardRejected:
    """A card was laid on a reader but cannot identify anyone here; ``reason_key`` says why."""

    reason_key: str


@dataclass(frozen=True)
class KeyPressed:
    """A key of the audio keypad (or a keyboard) that moved the focus, repeated or changed the voice:
    the resident is there, so it counts as input, and any key answers the idle warning."""


@dataclass(frozen=True)
class AudioMode:
    """Audio mode started (headphones, the keypad's help key) or ended: timeouts grow longer."""

    on: bool


@dataclass(frozen=True)
class Tick:
    """Time passes; the flow checks its deadlines against the clock."""


@dataclass(frozen=True)
class DeviceStates:
    """What works right now: ``printer``, ``camera``, ``document_camera``, ``platform`` → bool."""

    available: dict[str, bool]


@dataclass(frozen=True)
class ServiceSwitched:
    """Operators took the terminal out of service (with a message for residents) or put it back."""

    in_service: bool
    message: str = ""


@dataclass(frozen=True)
class DocumentFetched:
    document: dict[str, Any]


@dataclass(frozen=True)
class QueryAnswered:
    """A query item's answer: ``{title, rows: [[label, value], …]}`` (masked at the source)."""

    answer: dict[str, Any]


@dataclass(frozen=True)
class SlotsListed:
    slots: list[dict[str, Any]]
    place: str = ""


@dataclass(frozen=True)
class AppointmentBooked:
    booking: dict[str, Any]


@dataclass(frozen=True)
class PageCaptured:
    """A document-camera page: ``jpeg`` (personal), its size and a small grey preview (PNG bytes)."""

    material: int
    jpeg: bytes
    width: int
    height: int
    preview_png: bytes = b""


@dataclass(frozen=True)
class FaceCaptured:
    """The best face frame (``jpeg``; empty if none) and whether the baseline liveness check passed."""

    jpeg: bytes
    live: bool
    reason: str = ""


@dataclass(frozen=True)
class IdentityChecked:
    verified: bool
    reason: str = ""


@dataclass(frozen=True)
class SubmissionAccepted:
    receipt_no: str


@dataclass(frozen=True)
class HelpQueued:
    """A 帮办代办 request or a 办不成事 report was queued; ``receipt_no`` is its reference."""

    receipt_no: str
    what: str = "help"


@dataclass(frozen=True)
class ServiceFailed:
    """The gateway, platform or a device could not do what was asked; ``reason_key`` is for the resident."""

    reason_key: str
    detail: str = ""


@dataclass(frozen=True)
class PrintFinished:
    """A slip's print job ended. ``reason`` (when not printed) is one of :data:`kiosk.flow.views.PRINT_REASONS`: what the
    resident is told, in their language (the technician's words stay in the device status and log)."""

    job_id: str
    printed: bool
    reason: str = ""


@dataclass(frozen=True)
class QrScanned:
    """Scan ``scan_id`` read a receipt's progress link (sign-in codes come back as :class:`CardRead`)."""

    scan_id: str
    receipt_no: str


@dataclass(frozen=True)
class ScanFailed:
    """Scan ``scan_id`` ended without a usable code; ``reason_key`` says why (a message key)."""

    scan_id: str
    reason_key: str


@dataclass(frozen=True)
class ProgressAnswered:
    """办件进度 of a receipt: ``{receipt_no, source, status, status_text, steps: [{status, text, at}]}``;
    ``reason_key`` is set instead when it could not be looked up (not found, platform unreachable)."""

    receipt_no: str
    answer: dict[str, Any] = field(default_factory=dict)
    reason_key: str = ""


@dataclass(frozen=True)
class PaymentAnswered:
    """The gateway's word on a payment order (``{order_no, state, amount, pay_url, expires_in_s, bill,
    receipt_no …}``), as the payment platform said it; ``reason_key`` instead when it could not be asked
    or refused (the order was not made)."""

    order: dict[str, Any] = field(default_factory=dict)
    reason_key: str = ""
    request_id: str = ""
    """The :class:`CreatePayment` this answers ("" for a poll or a cancel)."""


@dataclass(frozen=True)
class DeliveriesChecked:
    """一件事: what the gateway's outbox says of each receipt (``queued``, ``sending``, ``delivered``,
    ``rejected``, ``expired``; ``unknown`` when it could not be asked)."""

    states: dict[str, str]


Event = (Tapped | TextEntered | KeyPressed | AudioMode | CardRead | CardRemoved | CardRejected | Tick | DeviceStates | ServiceSwitched | DocumentFetched
         | QueryAnswered | SlotsListed | AppointmentBooked | PageCaptured | FaceCaptured | IdentityChecked
         | SubmissionAccepted | HelpQueued | ServiceFailed | PrintFinished | QrScanned | ScanFailed
         | ProgressAnswered | PaymentAnswered
         | DeliveriesChecked)


# --- effects --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Show:
    screen: Screen


@dataclass(frozen=True)
class FetchDocument:
    item_code: str
    applicant: dict[str, str]


@dataclass(frozen=True)
class RunQuery:
    item_code: str
    applicant: dict[str, str]


@dataclass(frozen=True)
class ListSlots:
    item_code: str


@dataclass(frozen=True)
class BookSlot:
    item_code: str
    slot_id: str
    applicant: dict[str, str]
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class CapturePage:
    """Take one page from the document camera for material number ``material``."""

    material: int


@dataclass(frozen=True)
class CaptureFace:
    """Look for the resident's face (with the baseline blink check) on the face camera."""


@dataclass(frozen=True)
class VerifyIdentity:
    applicant: dict[str, str]
    face_jpeg: bytes
    item_code: str

    def __repr__(self) -> str:  # never dump a face or an ID number into a log or traceback
        return f"VerifyIdentity(item_code={self.item_code!r}, face_jpeg=<{len(self.face_jpeg)} bytes>)"


class Material(NamedTuple):
    """A scanned page handed in with a submission (what the gateway stores, encrypted, with it)."""

    name: str
    """File name: ``<material index>-<page>.jpg``."""
    content_type: str
    data: bytes

    def __repr__(self) -> str:  # a page shows whoever's papers it is: never its bytes in a log
        return f"Material({self.name!r}, {self.content_type!r}, <{len(self.data)} bytes>)"


@dataclass(frozen=True)
class Submit:
    """Store a submission at the gateway; ``request_id`` makes a resend after a lost answer harmless."""

    kind: str
    item_code: str
    applicant: dict[str, str]
    form: dict[str, Any]
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    materials: tuple[Material, ...] = ()
    bundle_id: str = ""
    """一件事: the bundle's UUID every item of one bundle journey carries ("" for a single item)."""
    bundle_code: str = ""
    """一件事: the bundle's catalog code (``birth`` …), "" for a single item."""

    def __repr__(self) -> str:
        return f"Submit(kind={self.kind!r}, item_code={self.item_code!r}, materials={len(self.materials)})"


@dataclass(frozen=True)
class PrintReceipt:
    """Print a slip; ``content`` holds only masked, printable values; ``layout`` names its shape."""

    job_id: str
    content: dict[str, Any]
    layout: str = "certificate"


@dataclass(frozen=True)
class SendRating:
    receipt_no: str
    level: int  # GB/T 39046: 1 = 非常满意 … 5 = 非常不满意
    text: str = ""


@dataclass(frozen=True)
class RequestHelp:
    """帮办代办 (``what="help"``) or 办不成事反映 (``what="report"``, ``category`` says about what)."""

    what: str
    category: str
    item_code: str | None = None


@dataclass(frozen=True)
class CancelPrints:
    """The session ended: drop any print job still waiting, so nobody else gets this resident's paper."""


@dataclass(frozen=True)
class SessionWiped:
    """The session ended and its personal data is gone; screens must drop anything cached.

    ``item_kind`` and ``outcome`` (completed, failed, abandoned, timeout) feed the operators' anonymous
    session counts; ``outcome`` is "" when no session existed (nothing to count)."""

    reason: str
    item_kind: str = "none"
    outcome: str = ""


class QrWork:
    """Base of the effects ``kiosk/terminal/scanning.py`` carries out (scanning a QR code, looking up progress)."""


@dataclass(frozen=True)
class ScanQr(QrWork):
    """Look for a QR code on the QR camera for ``purpose`` (``progress`` or ``signin``) for at most
    ``timeout_s``. The flow sets ``cancel`` when the resident leaves the scan screen; the scanner
    checks it between frames, so a cancelled scan stops within a frame and posts nothing."""

    purpose: str
    timeout_s: float
    scan_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Only ever set by the flow and read by the scanner; an Event keeps that hand-over thread-safe.
    cancel: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


@dataclass(frozen=True)
class LookUpProgress(QrWork):
    """办件进度 for ``receipt_no``; when the resident typed only the digits (``<YYYYMMDD><6 digits>``),
    ``receipt_no`` is "" and the scanner completes it with this terminal's id."""

    receipt_no: str = ""
    digits: str = ""


class PaymentWork:
    """Base of the payment effects (``kiosk/terminal/effects.py`` carries them out)."""


@dataclass(frozen=True)
class CreatePayment(PaymentWork):
    """A fee item's application with its payment order: the gateway holds the application until paid.
    ``amount``: the catalog's fee (``"120.00"``), "" when the platform sets it."""

    item_code: str
    applicant: dict[str, str]
    form: dict[str, Any]
    amount: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    materials: tuple[Material, ...] = ()

    def __repr__(self) -> str:
        return f"CreatePayment(item_code={self.item_code!r}, amount={self.amount!r})"


@dataclass(frozen=True)
class PollPayment(PaymentWork):
    """Ask the gateway once what the payment platform says about ``order_no``."""

    order_no: str


@dataclass(frozen=True)
class CancelPayment(PaymentWork):
    """``stopped``: cancel the order; ``left``: the resident walked away mid-payment (recorded, so a late
    payment is matched or refunded)."""

    order_no: str
    reason: str


@dataclass(frozen=True)
class CheckDeliveries:
    """一件事: ask the gateway's outbox how far each of these receipts got (answered by
    :class:`DeliveriesChecked`)."""

    receipts: tuple[str, ...]


Effect = (Show | FetchDocument | RunQuery | ListSlots | BookSlot | CapturePage | CaptureFace | VerifyIdentity
          | Submit | PrintReceipt | SendRating | RequestHelp | CancelPrints | SessionWiped | ScanQr | LookUpProgress
          | CreatePayment | PollPayment | CancelPayment
          | CheckDeliveries)


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
    elder: bool = False
    speech: bool = True
    identity: Identity | None = None
    identity_source: str = ""
    face_verified: bool = False
    item: ServiceItem | None = None
    document: dict[str, Any] | None = None
    answer: dict[str, Any] | None = None
    form: dict[str, str] = field(default_factory=dict)
    focus: str = ""
    pages: dict[int, list[PageCaptured]] = field(default_factory=dict)
    face_jpeg: bytes = b""
    slots: list[dict[str, Any]] = field(default_factory=list)
    booking: dict[str, Any] | None = None
    receipt_no: str = ""
    print_job: str = ""
    printed: bool | None = None
    print_reason: str = ""
    error_key: str = ""
    touches: int = 0
    extensions: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def applicant(self) -> dict[str, str]:
        """Who is applying, as the gateway wants it; {} before anyone is identified."""
        if self.identity is None:
            return {}
        return {"name": self.identity.name, "id_number": self.identity.id_number,
                "id_type": id_type(self.identity.card_type, self.identity.id_number)}

    def forget_personal(self) -> None:
        """Drop the identity and everything typed, scanned or fetched about the resident."""
        if self.identity is not None:
            self.identity.wipe()
        self.identity = None
        self.document = None
        self.answer = None
        self.form.clear()
        self.pages.clear()
        self.face_jpeg = b""
        self.booking = None

    def wipe(self) -> None:
        """Forget everything personal; the session object itself is dropped by the flow."""
        self.forget_personal()
        self.slots.clear()
        self.extra.clear()
