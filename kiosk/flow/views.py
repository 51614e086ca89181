"""What the screens are given to draw: one frozen dataclass per screen, display-safe values only.

:meth:`KioskFlow.view() <kiosk.flow.machine.KioskFlow.view>` builds them; ``screens/*.py`` read their
attributes. Every view is a :class:`View`: the parts every screen draws (language, elder mode, the
idle warning, the notice banner …) and the session's masked summary (applicant, item, receipt).
A screen with parts of its own has its own subclass (:class:`FormView`, :class:`ScanView` …).
Views compare by value, so the app redraws only when what is shown changed.

Names and ID numbers are masked by the flow before they get here, but the resident must see what
they type, the pages they laid under the document camera and the platform's answers. Every field that
can hold personal data is therefore declared with :func:`personal`, and :func:`mirror_view` masks all
of them for the operators' screen mirror (``screens/mirror.py``): the mirror is drawn from that masked
view, never from the resident's frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

PERSONAL = "personal"
"""The metadata key of a view field that can hold personal data; its value is the field's masking."""
MASK = "●●●●"
"""What the mirror shows for any personal text, whatever its length."""
DOCUMENT_IMAGE = "[证件图像 / document image]"
"""What the mirror shows instead of a document-camera page."""
QUERY_ANSWER = "[查询结果 / query answer]"
"""What the mirror shows instead of a query's answer."""
MASKED_IMAGE = b"mirror:document-image"
"""Stands in for a preview PNG in a mirrored view; the materials screen draws DOCUMENT_IMAGE for it."""


def masked_text(value: str) -> str:
    """Personal text as the mirror shows it: MASK, or "" when there is none."""
    return MASK if value else ""


def blank(value: Any) -> str:
    """A personal value the mirror leaves out altogether (a progress link: no QR code to scan)."""
    return ""


def dropped(value: Any) -> None:
    """A personal value the mirror leaves out altogether (a camera frame)."""


def masked_images(previews: dict[int, bytes]) -> dict[int, bytes]:
    """Document-camera previews as the mirror shows them: a placeholder per captured material."""
    return {i: MASKED_IMAGE for i in previews}


def masked_answer(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A query's answer rows as the mirror shows them: one placeholder row."""
    return [("", QUERY_ANSWER)] if rows else []


def answer_text(value: str) -> str:
    """A status text from a query's answer as the mirror shows it."""
    return QUERY_ANSWER if value else ""


def personal(masking: Callable[[Any], Any] = masked_text) -> dict[str, Callable[[Any], Any]]:
    """The metadata of a view field that can hold personal data:
    ``name: str = field(default="", metadata=personal())``; :func:`mirror_view` replaces its value by
    ``masking(value)``."""
    return {PERSONAL: masking}


#: Why a slip was not printed, as the resident is told (messages ``reason_<key>``); the technician's
#: words stay in the device status and the log.
PRINT_REASONS = ("printer_unavailable", "printer_paper_out", "printer_cover_open", "print_unknown")


@dataclass(frozen=True)
class View:
    """The parts every screen shares; the screens without parts of their own are drawn from this."""

    screen: str
    """The :class:`~kiosk.flow.model.Screen` value (``attract``, ``home`` …)."""
    language: str = "zh_CN"
    elder: bool = False
    """适老化: larger text, fewer items, slower timeouts."""
    speech: bool = True
    warning: bool = False
    """The idle warning is up (only its own buttons count)."""
    warning_left_s: int = 0
    items: list[tuple[str, str, str]] = field(default_factory=list)
    """The home screen's featured items: code, name, department."""
    notice_key: str = ""
    """A short banner's message key ("" for none)."""
    available: dict[str, bool] = field(default_factory=dict)
    """What works right now: printer, camera, document_camera, platform …"""
    out_of_service: str = ""
    """The operators' message while the terminal is out of service ("" in service)."""
    simulated_reader: bool = False
    """A simulated ID reader is attached (the attract screen offers a test card); set by the app."""
    # -- the session's masked summary --
    applicant_name: str = field(default="", metadata=personal())
    applicant_id: str = field(default="", metadata=personal())
    identity_source: str = ""
    """What identified the resident: id_card, social_security_card or app_qr."""
    awaiting: str = ""
    """The card the resident said they would use (card prompt)."""
    item_name: str = ""
    item_code: str = ""
    item_kind: str = ""
    item_department: str = ""
    item_summary: str = ""
    item_materials: list[str] = field(default_factory=list)
    item_days: int = 0
    item_instant: bool = False
    item_fee: str = ""
    item_identity: list[str] = field(default_factory=list)
    item_unavailable: str = ""
    """Why the item cannot be done here right now (a message key), "" if it can."""
    item_guide: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """The item's 办事指南 on its detail screen: (section key, heading, paragraphs), in reading order
    (kiosk/catalog/guide.py); [] on other screens."""
    receipt_no: str = field(default="", metadata=personal())
    """A reference to the resident's case."""
    result_url: str = field(default="", metadata=personal(blank))
    """The receipt's progress link (for its QR code), "" for other references."""
    printed: bool | None = None
    """Whether the slip came out; None before anything was printed."""
    print_reason: str = ""
    error_key: str = ""
    help_no: str = ""
    """The reference of a help request or report sent in this session."""
    rating_followup: bool = False
    next_due: str = ""
    """A certification's next due date (ISO), once it succeeded; "" otherwise."""
    paid_text: str = ""
    """The fee paid in this session (``¥120.00``), once the payment platform confirmed it; "" otherwise."""
    staff_no: str = ""
    """Assisted mode (代办): the signed-in staff member's number, shown in a banner on every screen; ""
    when no staff session is active. A staff number, never a name (kiosk/flow/assisted.py)."""
    item_exempt: bool = False
    """免申即办: the item is granted without an application (its detail offers its status, not 办理)."""
    item_follow_ups: list[str] = field(default_factory=list)
    """Names of the items granted without applying once this one is done (免申即办)."""
    # -- the remote help desk (issue 21; kiosk/flow/help_desk.py), drawn over any screen --
    desk: str = ""
    """"" (none), ``waiting`` (asked for), ``asking`` (staff ask to see the screen), ``live`` (helping)."""
    desk_staff: str = ""
    """The helping staff member's number (never a name)."""
    desk_point: tuple[int, int] | None = None
    """Where the desk pointed (design px), while its highlight pulses."""
    desk_pulse: int = 0
    """The highlight's pulse phase (it changes a few times a second)."""
    desk_point_seq: int = 0
    """Which point the highlight is (the desk's frame says which it drew)."""
    desk_message: str = ""
    """The desk's last message as the staff member typed it ("" for none) …"""
    desk_message_key: str = ""
    """… or one of the desk's prepared messages (a message key: shown and spoken in the resident's language)."""


def shared(base: View) -> dict[str, Any]:
    """The parts every screen has, to build a screen's own view on: ``FormView(**shared(base), …)``."""
    return {f.name: getattr(base, f.name) for f in dataclasses.fields(View)}


@dataclass(frozen=True)
class CategoriesView(View):
    categories_of: str = ""
    """``departments`` or ``themes``."""
    categories: list[tuple[str, str]] = field(default_factory=list)
    """Target (``dept:<code>``, ``theme:<code>``, ``bundle:<code>``) and name."""


@dataclass(frozen=True)
class ListView(View):
    """A list of items (a department's, a theme's, all) or the search screen's hits."""

    list_title: str = ""
    query: str = field(default="", metadata=personal())
    """What the resident typed into the search box."""
    search_chips: list[str] = field(default_factory=list)
    # Last: the field's name hides the builtin for the rest of the class body.
    list: list[tuple[str, str, str, str]] = field(default_factory=list)
    """Code, name, department, why it cannot be done here ("" if it can)."""


@dataclass(frozen=True)
class CardPromptView(View):
    """Lay a card; or why the card just laid cannot be used (it has expired)."""

    expired_document: str = ""
    """The expired document's kind (``resident``, ``J``, ``I``, ``Y``, ``social_security_card``); "" for none."""
    expired_on: str = field(default="", metadata=personal())
    """Its last valid day (ISO date), as printed on it."""


@dataclass(frozen=True)
class ConsentView(View):
    """人证比对's consent: how it confirms, why the last check failed, the other ways."""

    consent_confirms: str = ""
    """The kind (print, query) whose consent button also confirms; "" otherwise."""
    face_failed: str = ""
    face_possible: bool = True
    face_unavailable_key: str = ""
    alternatives: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldView:
    """One form field as shown: card fields locked, values masked unless being typed."""

    key: str
    label: str
    type: str
    locked: bool
    required: bool
    value: str = field(metadata=personal())
    problem: str
    choices: list[tuple[str, str]]


@dataclass(frozen=True)
class FormView(View):
    fields: list[FieldView] = field(default_factory=list)
    focus: str = ""
    """The field being typed ("" for none)."""
    focus_type: str = ""
    focus_text: str = field(default="", metadata=personal())
    """What the focused field holds (the keyboard opens with it)."""


@dataclass(frozen=True)
class MaterialsView(View):
    pages: dict[int, int] = field(default_factory=dict)
    """Pages captured per material (by its index)."""
    previews: dict[int, bytes] = field(default_factory=dict, metadata=personal(masked_images))
    """The last page's small grey preview (PNG) per material."""
    capturing: int = -1
    """The material being captured (-1: none)."""
    materials_optional: list[bool] = field(default_factory=list)
    e_licences: dict[int, str] = field(default_factory=dict)
    """数据互认: each e-licence material's state (kiosk/flow/licences.py): fetching, fetched or scan."""


@dataclass(frozen=True)
class ReviewView(FormView, MaterialsView):
    """Everything entered and captured, once more, before it is sent."""


@dataclass(frozen=True)
class SlotsView(View):
    slots: list[tuple[str, str, int]] = field(default_factory=list)
    """Slot id, when, how many places are left."""
    place: str = ""


@dataclass(frozen=True)
class ResultView(View):
    answer_title: str = field(default="", metadata=personal(blank))
    answer_rows: list[tuple[str, str]] = field(default_factory=list, metadata=personal(masked_answer))


@dataclass(frozen=True)
class ScanView(View):
    scan_purpose: str = "progress"
    """``progress`` (a receipt's link) or ``signin`` (the app's code)."""
    scan_failed: str = ""
    scanning: bool = False
    scan_left_s: int = 0
    scan_alternatives: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReceiptEntryView(View):
    receipt_digits: str = field(default="", metadata=personal())
    """The digits typed, grouped as on the receipt."""
    receipt_digits_left: int = 18


@dataclass(frozen=True)
class ProgressResultView(View):
    progress_no: str = field(default="", metadata=personal())
    progress_reason: str = ""
    progress_source: str = ""
    progress_status: str = field(default="", metadata=personal(blank))
    progress_status_text: str = field(default="", metadata=personal(answer_text))
    progress_steps: list[tuple[str, str]] = field(default_factory=list, metadata=personal(masked_answer))
    progress_url: str = field(default="", metadata=personal(blank))


@dataclass(frozen=True)
class PaymentView(View):
    """A fee: what it is for and how much, then the payment QR code with its countdown."""

    pay_phase: str = "fee"
    """``fee`` (amount and purpose; pay or stop), ``creating`` (asking for the code), ``qr`` (scan and pay),
    ``expired`` (a new code or stop), ``failed`` (no code could be made: try again or stop)."""
    amount_text: str = ""
    """``¥120.00``; "" while the platform has not set a variable amount yet."""
    amount_words: str = ""
    """The amount in words for speech (一百二十元整)."""
    fee_purpose: str = ""
    """What the fee is for (收费依据)."""
    platform_amount: bool = False
    """The platform sets the amount (a fine, a contribution)."""
    pay_url: str = field(default="", metadata=personal(blank))
    """What the payment QR code holds (an order of this resident's: the mirror shows no code)."""
    channels: list[str] = field(default_factory=list)
    pay_left_s: int = 0
    pay_reason: str = ""
    """Why no code could be made (a message key)."""


def masked_image(value: bytes) -> bytes:
    """One document-camera preview as the mirror shows it: the placeholder, or nothing."""
    return MASKED_IMAGE if value else b""


@dataclass(frozen=True)
class StaffSignInView(View):
    """Assisted mode: a staff member holds their staff pass QR up to the camera."""

    staff_scanning: bool = False
    staff_problem: str = ""
    """Why the last pass was not accepted (a message key), "" for none."""
    staff_left_s: int = 0


@dataclass(frozen=True)
class AssistedConsentView(View):
    """Assisted mode: the resident consents to the staff member submitting for them (``choose``), or the
    staff member captures the signed 委托书 of a resident who is not there (``poa``)."""

    consent_step: str = "choose"
    poa_capturing: bool = False
    poa_preview: bytes = field(default=b"", metadata=personal(masked_image))
    """A small grey preview of the captured 委托书 (PNG), b"" before it was captured."""


@dataclass(frozen=True)
class BenefitRow:
    """One benefit granted (or due) without an application, as the notice shows it."""

    name: str
    """The item's name in the resident's language (the platform's title when the catalog lacks it)."""
    status: str
    """``granted`` or ``due``."""
    day: str = ""
    """ISO date granted (or due); "" when the platform gave none."""
    amount: str = ""
    """Yuan as a decimal string (``"18600.00"``); "" when the platform gave none."""
    period: str = ""
    """``month`` (per month), ``once`` or "" (as given)."""
    code: str = ""
    """The catalog item's code ("" for a benefit the catalog lacks): its department's icon on screen."""


def masked_benefits(rows: list[BenefitRow]) -> list[BenefitRow]:
    """Benefits as the mirror shows them: how many and in which state, never which (生育津贴 says a birth),
    when or how much."""
    return [BenefitRow(MASK, r.status, MASK if r.day else "", MASK if r.amount else "", r.period) for r in rows]


@dataclass(frozen=True)
class ExemptView(View):
    """免申即办: what the platform granted without an application (after the card, or asked on an item)."""

    benefits: list[BenefitRow] = field(default_factory=list, metadata=personal(masked_benefits))
    purpose: str = "notice"
    """``notice`` (after the card was read: one touch continues) or ``status`` (asked on an exempt item)."""
    printable: bool = False
    """The asked item's decision can be printed (granted, and a printer is there)."""


@dataclass(frozen=True)
class HelpView(View):
    """帮办: staff on site during opening hours; after hours the remote desk, a call-back and the hotline."""

    help_open: bool = True
    """Staff are on site now (the station's opening hours)."""
    help_next_day: int = -1
    """When the station next opens: weekday (0 = Monday; -1: not known) …"""
    help_next_time: str = ""
    """… and time (``08:30``)."""
    hotline: str = "12345"


@dataclass(frozen=True)
class HelpCallbackView(View):
    """A call-back after hours: a mobile number on the keypad and a time window."""

    callback_phone: str = field(default="", metadata=personal())
    callback_window: str = ""
    callback_problem: str = ""
    """Why the number cannot be sent (a message key), "" when it can or nothing was tried."""


@dataclass(frozen=True)
class HelpReportView(FormView):
    """办不成事反映: the category chosen, then what happened and a phone, both optional (its fields)."""

    report_category: str = ""


# Each screen's view type (screens not listed draw from :class:`View` alone).
VIEW_TYPES: dict[str, type[View]] = {
    "categories": CategoriesView,
    "list": ListView,
    "search": ListView,
    "card_prompt": CardPromptView,
    "consent": ConsentView,
    "form": FormView,
    "materials": MaterialsView,
    "review": ReviewView,
    "slots": SlotsView,
    "result": ResultView,
    "scan": ScanView,
    "receipt_entry": ReceiptEntryView,
    "progress_result": ProgressResultView,
    "payment": PaymentView,
    "staff_signin": StaffSignInView,
    "assisted_consent": AssistedConsentView,
    "exempt": ExemptView,
    "help": HelpView,
    "help_callback": HelpCallbackView,
    "help_report": HelpReportView,
}


def view_of(screen: str, **parts: Any) -> View:
    """A view of ``screen`` of its own type, from its parts (the rest left at their defaults)."""
    return VIEW_TYPES.get(screen, View)(screen=screen, **parts)


def as_screen_view(view: View) -> View:
    """``view`` as its screen's own type (its own parts at their defaults if it was built without)."""
    kind = VIEW_TYPES.get(view.screen, View)
    return view if isinstance(view, kind) else kind(**shared(view))


V = TypeVar("V")


def mirror_view(view: V) -> V:
    """``view`` as the operators' mirror may show it: every field declared :func:`personal` masked
    (in nested views too, such as a form's fields); everything else as it is."""
    if not dataclasses.is_dataclass(view) or isinstance(view, type):
        return view
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(view):
        value = getattr(view, f.name)
        masking = f.metadata.get(PERSONAL)
        if masking is not None:
            changes[f.name] = masking(value)
        elif isinstance(value, list) and any(dataclasses.is_dataclass(x) for x in value):
            changes[f.name] = [mirror_view(x) for x in value]
    return dataclasses.replace(view, **changes)


# -- 一件事 (kiosk/flow/bundle.py) --


@dataclass(frozen=True)
class BundlePart:
    """One item of a 一件事 bundle as its screens show it."""

    code: str
    name: str
    department: str
    handling: str
    """What the bundle does with it: ``apply`` (submitted), ``print`` (fetched, submitted, its slip
    printed), ``guide`` (its guide printed) or ``separate`` (done on its own journey)."""
    fields: list[str] = field(default_factory=list)
    """The labels of the form fields it carries."""
    materials: list[str] = field(default_factory=list)
    """The names of the shared materials it carries."""
    state: str = ""
    """"" (not yet), ``accepted``, ``failed``, ``printed`` (a guide) or ``separate``."""
    receipt_no: str = field(default="", metadata=personal())
    reason_key: str = ""
    """Why it failed (a message key)."""
    delivery: str = ""
    """How far an accepted item got from the terminal's outbox: ``queued``, ``sending``, ``delivered``,
    ``rejected``, ``expired`` ("" not known yet, or ``unknown``)."""


@dataclass(frozen=True)
class BundleView(View):
    """一件事: the bundle's intro, its review and its result (one view type for the three screens)."""

    bundle_code: str = ""
    bundle_name: str = ""
    bundle_summary: str = ""
    parts: list[BundlePart] = field(default_factory=list)
    bundle_unavailable: str = ""
    """Why the bundle cannot be done here right now (a message key), "" if it can."""


VIEW_TYPES.update({"bundle": BundleView, "bundle_review": BundleView, "bundle_result": BundleView})


# -- the attract screen (issue 24; kiosk/flow/staffed.py) --

@dataclass(frozen=True)
class AttractView(View):
    """The attract screen: when staff are on the station's site (``help.opening_hours``)."""

    staffed_until: str = ""
    """Staff are on site now, until this time (``HH:MM``); "" when they are not."""
    staffed_next_day: int = -1
    """When they are not: the weekday (0 = Monday) they are next; -1 for never (an unstaffed station)."""
    staffed_next_time: str = ""
    """… and the time (``HH:MM``)."""
    staffed_today: bool = False
    """They are next there later today."""


VIEW_TYPES.update({"attract": AttractView})
