"""Each item kind end to end: identify, form, materials, review, platform calls, print, rate.

guide        detail ─begin─► printing (guide sheet) ─► done
query        identify ─► confirm ─► working (RunQuery) ─► result ─print?─► printing ─► done
print        identify ─► confirm ─► working (FetchDocument → Submit) ─► printing ─► done
apply        identify ─► form ─► materials ─► review ─► working (Submit; queued offline) ─► printing ─► done
             a fee item: review ─► payment (payment.py: fee, QR, paid on the platform's word) ─► printing ─► done
appointment  identify ─► working (ListSlots) ─► slots ─► working (BookSlot) ─► printing ─► done
certification identify ─► consent ─► working (CaptureFace → VerifyIdentity) ─► confirm ─► working (Submit) …

Every item whose identity is ``id_card_face`` (人证比对), whatever its kind, puts the face check
(``face.py``: consent ─► CaptureFace ─► VerifyIdentity) between the ID card and its own journey, and
always offers another way (social security card, app QR) instead of the face. For print and query
the consent button also confirms, so their journey is identify ─► consent ─► working ─► ….
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kiosk.catalog.guide import printable_guide
from kiosk.catalog.model import FormField, ServiceItem
from kiosk.flow import face, licences, qr
from kiosk.flow.face import CONSENT_CONFIRMS
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.identity import Identity, expired_since, prefilled
from kiosk.flow.model import (
    BUSY,
    RATING_LEVELS,
    AppointmentBooked,
    BookSlot,
    CapturePage,
    DocumentFetched,
    Effect,
    Event,
    FetchDocument,
    ListSlots,
    Material,
    PageCaptured,
    PrintFinished,
    PrintReceipt,
    ProgressAnswered,
    QueryAnswered,
    RunQuery,
    Screen,
    SendRating,
    ServiceFailed,
    Session,
    Show,
    SlotsListed,
    SubmissionAccepted,
    Submit,
)
from kiosk.flow.views import (
    CardPromptView,
    ConsentView,
    FieldView,
    FormView,
    MaterialsView,
    ResultView,
    ReviewView,
    SlotsView,
    View,
    shared,
)
from kiosk.privacy import mask_id_number, mask_name, mask_phone

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

# Card sources and the catalog's identity levels they satisfy.
SATISFIES = {
    "id_card": {"id_card", "id_card_face"},
    "social_security_card": {"social_security_card"},
    "app_qr": {"app_qr"},
}
# While these screens show, the card that identified the resident is still needed.
CARD_NEEDED = {Screen.CONFIRM, Screen.FORM, Screen.MATERIALS, Screen.REVIEW, Screen.CONSENT, Screen.SLOTS,
               Screen.RESULT, Screen.BUNDLE_REVIEW}
FOLLOW_UP_REASONS = ("slow", "unclear", "device", "not_done")
SENSITIVE_TYPES = {"citizen_id", "bank_account", "mobile"}
# 待遇领取资格认证: once every 12 months while a benefit is paid (人社部 rule for 养老、工伤、遗属待遇).
CERTIFICATION_MONTHS = 12
# A slot's weekday as the slots screen says it, by language (date formatting, not a message).
WEEKDAYS = {"zh_CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
            "zh_TW": ("週一", "週二", "週三", "週四", "週五", "週六", "週日"),
            "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Kinds that make a legal act or issue a document in the holder's name at the terminal: like at a
# counter, they take only a document valid on the day. A query (reading one's own records) and an
# appointment (a visit to a window, where staff see the document and can renew it) take an expired
# one, as guides and public queries take none (docs/architecture.md, "Expired documents").
VALID_DOCUMENT_KINDS = frozenset({"apply", "print", "certification"})


# -- starting an item --

def begin(flow: KioskFlow, item: ServiceItem) -> list[Effect]:
    """Start ``item``'s journey (from its detail, or at once from a featured button)."""
    s = flow.start_session()
    s.item = item
    s.form.clear()
    s.pages.clear()
    s.error_key = ""
    s.extra.pop("expired", None)
    if item.kind == "guide":
        return print_slip(flow, "guide", guide_content(flow, item))
    if item.identity == "none":
        if item.kind == "query":
            return [*flow.go(Screen.WORKING), RunQuery(item.code, {})]
        return identified(flow)
    if s.identity is not None and s.identity_source in sources(item):
        if refused_expired(flow, s, s.identity, s.identity_source):
            return flow.go(Screen.CARD_PROMPT)
        return identified(flow)
    return flow.go(Screen.CARD_PROMPT)


def guide_content(flow: KioskFlow, item: ServiceItem) -> dict[str, Any]:
    """A guide item's sheet for the printer (kiosk/terminal/receipts.py, ``guide_layout``): its name and its
    办事指南 in 简体, as every slip is printed."""
    return {"item_name": item.name.get("zh_CN"),
            "guide": printable_guide(item, flow.catalog.departments, _zh_name(flow))}


def _zh_name(flow: KioskFlow) -> Callable[[str], str | None]:
    """Another item's 简体 name (a printed guide's 易混事项), None for an unknown code."""
    def name_of(code: str) -> str | None:
        other = flow.catalog.get(code)
        return other.name.zh_CN if other else None

    return name_of


def needs_valid_document(item: ServiceItem) -> bool:
    """Whether ``item`` refuses an expired identity document (:data:`VALID_DOCUMENT_KINDS`); an item that
    renews the document (``renews_identity_document``) takes the expired one it renews."""
    return (item.identity != "none" and item.kind in VALID_DOCUMENT_KINDS
            and not item.renews_identity_document)


def refused_expired(flow: KioskFlow, s: Session, identity: Identity, source: str) -> bool:
    """True when ``identity``'s document had expired on the terminal's trusted date and the session's
    item needs a valid one: the document is then dropped from the session (wiped), and what expired
    when is kept for the card prompt to say."""
    assert s.item is not None
    if not needs_valid_document(s.item):
        return False
    last = expired_since(identity, flow.today())
    if last is None:
        return False
    document = "social_security_card" if source == "social_security_card" else identity.card_type
    s.extra["expired"] = (document, last.isoformat())
    identity.wipe()
    if s.identity is identity:
        s.identity, s.identity_source = None, ""
    return True


def sources(item: ServiceItem) -> set[str]:
    """The card sources that satisfy one of the item's accepted identity checks."""
    accepted = set(item.accepted_identity())
    return {src for src, levels in SATISFIES.items() if levels & accepted}


def identified(flow: KioskFlow) -> list[Effect]:
    if face.needs_face(flow):
        return face.ask_consent(flow)
    return own_journey(flow)


def own_journey(flow: KioskFlow) -> list[Effect]:
    """The kind's first step once the resident is identified (and the face checked if asked)."""
    s = flow.session
    assert s is not None and s.item is not None
    kind = s.item.kind
    if kind == "apply":
        prefill(s)
        return flow.go(Screen.FORM)
    if kind == "appointment":
        return [*flow.go(Screen.WORKING), ListSlots(s.item.code)]
    return flow.go(Screen.CONFIRM)


def face_verified(flow: KioskFlow) -> list[Effect]:
    s = flow.session
    assert s is not None and s.item is not None
    if s.item.kind in CONSENT_CONFIRMS:  # 同意并打印/查询 already confirmed: straight on
        return confirmed(flow)
    return own_journey(flow)


def confirmed(flow: KioskFlow) -> list[Effect]:
    """The confirm screen's action (or the consent's, where it carries the confirm)."""
    s = flow.session
    assert s is not None and s.item is not None
    item, applicant = s.item, s.applicant()
    if item.kind == "query":
        return [*flow.go(Screen.WORKING), RunQuery(item.code, applicant)]
    if item.kind == "certification":
        return [*flow.go(Screen.WORKING), Submit("application", item.code, applicant,
                                                 {"certification": True, "method": s.identity_source,
                                                  "face_verified": s.face_verified})]
    return [*flow.go(Screen.WORKING), FetchDocument(item.code, applicant)]


# -- cards --

def card_read(flow: KioskFlow, identity: Identity, source: str) -> list[Effect]:
    """A card (or the app's sign-in code) identified someone."""
    s = flow.session
    signing_in = flow.screen == Screen.SCAN and s is not None and s.item is not None \
        and s.extra.get("scan_purpose") == "signin"
    if source == "app_qr" and not signing_in:
        identity.wipe()  # a sign-in the resident already walked away from
        return []
    if signing_in:
        # Whatever identified the resident here (the app's code, or a card laid on the reader
        # meanwhile), it answers the card prompt the scan was started from.
        flow.cancel_scan()
        flow.screen = Screen.CARD_PROMPT
    if flow.screen in BUSY or flow.screen in (Screen.DONE, Screen.THANKS):
        identity.wipe()  # a card laid on the reader mid-transaction is not this session's
        return []
    s = flow.start_session()
    if s.identity is not None and s.identity is not identity:
        s.identity.wipe()
    s.identity, s.identity_source, s.face_verified = identity, source, False
    if flow.screen in (Screen.ATTRACT, Screen.TIMEOUT, Screen.ERROR):
        return flow.go(Screen.HOME)
    if flow.screen in (Screen.CARD_PROMPT, Screen.CONSENT) and s.item is not None:
        if source not in sources(s.item):
            return flow.notify("notice_identity_not_accepted")
        if refused_expired(flow, s, identity, source):
            return flow.go(Screen.CARD_PROMPT)
        s.extra.pop("expired", None)
        return identified(flow)
    return [Show(flow.screen)]


def card_removed(flow: KioskFlow, source: str) -> list[Effect]:
    """A card left its reader: while the card is still needed, the session ends."""
    s = flow.session
    if s is None or s.identity is None or s.identity_source != source or flow.screen not in CARD_NEEDED:
        return []
    effects = flow.end_session("card removed")
    flow.notify("notice_card_pulled")
    return effects


# -- forms --

def prefill(s: Session) -> None:
    """Card fields are copied in and locked: 数据互认, the resident never retypes them."""
    assert s.item is not None
    for f in s.item.fields:
        if f.prefill and s.identity is not None:
            s.form[f.key] = prefilled(s.identity, f.prefill)


def problem(s: Session, f: FormField) -> str:
    return f.check(s.form.get(f.key, "")) or ""


def shown_value(f: FormField, value: str, focused: bool) -> str:
    """What the screen may show of a field: card data and identifiers masked, typing visible
    only while the resident is typing it."""
    if not value:
        return ""
    if f.prefill == "name":
        return mask_name(value)
    if f.type == "citizen_id" or f.prefill == "id_number":
        return value if focused else mask_id_number(value)
    if f.prefill == "address":
        return value[:6] + "****"
    if f.type == "mobile" and not focused:
        return mask_phone(value)
    if f.type == "bank_account" and not focused:
        return "*" * max(0, len(value) - 4) + value[-4:]
    return value


def form_view(flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> FormView:
    """The form's fields as shown (masked), the focus and what it holds."""
    checked = bool(s.extra.get("checked"))
    lang = flow.language
    fields = [FieldView(key=f.key, label=f.label.get(lang), type=f.type, locked=bool(f.prefill),
                        required=f.required, value=shown_value(f, s.form.get(f.key, ""), f.key == s.focus),
                        problem=problem(s, f) if (checked or s.form.get(f.key)) else "",
                        choices=[(c.value, c.label.get(lang)) for c in f.choices])
              for f in item.fields]
    focused = next((f for f in item.fields if f.key == s.focus), None)
    return FormView(**shared(base), fields=fields, focus=s.focus, focus_type=focused.type if focused else "",
                    focus_text=s.form.get(s.focus, "") if focused else "")


def materials_view(s: Session, item: ServiceItem, base: View) -> MaterialsView:
    """Pages per material, their previews, the one being captured."""
    return MaterialsView(**shared(base), pages={i: len(p) for i, p in s.pages.items()},
                         previews={i: p[-1].preview_png for i, p in s.pages.items() if p},
                         capturing=s.extra.get("capturing", -1),
                         materials_optional=[m.optional for m in item.materials],
                         e_licences=licences.states(s, item))


# -- printing and rating --

def receipt_content(s: Session) -> dict[str, Any]:
    assert s.item is not None
    return {
        "item_name": s.item.name.get("zh_CN"),
        "kind": s.item.kind,
        "document": s.document,
        "receipt_no": s.receipt_no,
        "promised_days": s.item.promised_days,
        "applicant_name": mask_name(s.identity.name) if s.identity else "",
        "applicant_id": mask_id_number(s.identity.id_number) if s.identity else "",
    }


def print_slip(flow: KioskFlow, layout: str, content: dict[str, Any]) -> list[Effect]:
    s = flow.session
    assert s is not None
    if not flow.available.get("printer", True):
        s.printed, s.print_reason = False, "printer_unavailable"
        return after_print(flow)
    s.print_job = str(uuid.uuid4())
    return [*flow.go(Screen.PRINTING), PrintReceipt(s.print_job, content, layout)]


def after_print(flow: KioskFlow) -> list[Effect]:
    s = flow.session
    assert s is not None
    # The paper (or the QR) carries everything the resident needs; identity is no longer needed.
    s.forget_personal()
    return flow.go(Screen.DONE)


def rateable(s: Session) -> bool:
    """Ratings attach to the gateway's receipt numbers (not a booking's or a query's reference)."""
    return bool(s.receipt_no and "-" in s.receipt_no)


def next_due(today: date, months: int = CERTIFICATION_MONTHS) -> date:
    """The date the next certification is due: ``months`` after ``today`` (the month's last day when
    that month is shorter, e.g. 29 February)."""
    month = today.month - 1 + months
    year, month = today.year + month // 12, month % 12 + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def slot_start(slot: dict[str, Any]) -> datetime | None:
    """When a slot the platform listed starts; None if its date or time cannot be read."""
    try:
        return datetime.fromisoformat(f"{slot.get('date', '')}T{slot.get('time', '')}")
    except ValueError:
        return None


def bookable(slots: list[dict[str, Any]], now: datetime, lead_minutes: int) -> list[dict[str, Any]]:
    """The slots that start at least ``lead_minutes`` after ``now`` (local time), in time order: a
    slot already past, or too soon to be prepared for, is never offered."""
    earliest = now.replace(tzinfo=None) + timedelta(minutes=lead_minutes)
    timed = [(start, x) for x in slots if (start := slot_start(x)) is not None]
    return [x for start, x in sorted(timed, key=lambda p: p[0]) if start.replace(tzinfo=None) >= earliest]


def slot_label(start: datetime, language: str) -> str:
    """A slot's date, weekday and time as the resident reads them (11月23日 周一 09:30)."""
    weekday = WEEKDAYS.get(language, WEEKDAYS["zh_CN"])[start.weekday()]
    if language == "en":
        return f"{weekday} {start.day} {MONTHS_EN[start.month - 1]} {start:%H:%M}"
    return f"{start.month}月{start.day}日 {weekday} {start:%H:%M}"


# -- the screens --

class ItemScreen(ScreenHandler):
    """A screen of an item's journey: its touches count only while an item is under way."""

    back: Screen | None = Screen.HOME  # where "back" goes (None: the screen has no back)

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None or s.item is None:
            return None
        if target == "back" and self.back is not None:
            return flow.go(self.back)
        return self.item_tapped(flow, s, s.item, target)

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        return None

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None or s.item is None:
            return base
        return self.item_view(flow, s, s.item, base)

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> View:
        """The screen's view while an item is under way."""
        return base


class CardPrompt(ItemScreen):
    """Lay a card on the reader (or scan the app's code); after an expired document, why it was refused."""

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        if target == "use:app_qr":
            return qr.scan_for(flow, "signin")
        if target.startswith("use:"):
            s.extra["awaiting"] = target[4:]
            s.extra.pop("expired", None)
            return [Show(flow.screen)]
        return None

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> CardPromptView:
        document, last = s.extra.get("expired", ("", ""))
        return CardPromptView(**shared(base), expired_document=document, expired_on=last)


class Consent(ItemScreen):
    """The face check's consent, with the other ways next to it (``face.py``)."""

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        if target == "alt:app_qr":
            return qr.scan_for(flow, "signin")
        return face.consent_tapped(flow, target)

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> ConsentView:
        return face.consent_view(flow, s, item, base)


class Confirm(ItemScreen):
    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        return confirmed(flow) if target == "confirm" else None


class Form(ItemScreen):
    """The apply form: card fields locked, the rest typed or chosen, checked on "next"."""

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        fields = {f.key: f for f in item.fields}
        if target.startswith("field:") and target[6:] in fields and not fields[target[6:]].prefill:
            s.focus = target[6:]
            return [Show(flow.screen)]
        if target.startswith("choice:"):
            _, key, value = target.split(":", 2)
            if key in fields:
                s.form[key] = value
                return [Show(flow.screen)]
        if target == "kb:done":
            s.focus = ""
            return [Show(flow.screen)]
        if target == "next":
            s.focus = ""
            s.extra["checked"] = True
            if any(problem(s, f) for f in item.fields):
                return flow.notify("notice_fix_fields")
            return flow.go(Screen.MATERIALS if item.materials else Screen.REVIEW)
        return []

    def typed(self, flow: KioskFlow, text: str) -> list[Effect]:
        s = flow.session
        if s is not None and s.focus:
            s.form[s.focus] = text[:500]
            return [Show(flow.screen)]
        return []

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> FormView:
        return form_view(flow, s, item, base)


class Materials(ItemScreen):
    """Each material's pages taken with the document camera."""

    back = Screen.FORM

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        kind, _, index = target.partition(":")
        if kind in ("capture", "retake") and index.isdigit() and int(index) < len(item.materials):
            i = int(index)
            if kind == "retake":
                s.pages.pop(i, None)
            s.extra["capturing"] = i
            return [Show(flow.screen), CapturePage(i)]
        if target == "next":
            missing = [i for i, m in enumerate(item.materials) if not m.optional and not s.pages.get(i)]
            if missing:
                return flow.notify("notice_materials_missing")
            return flow.go(Screen.REVIEW)
        return []

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        s = flow.session
        if s is None:
            return []
        if isinstance(event, PageCaptured):
            s.pages.setdefault(event.material, []).append(event)
            s.extra.pop("capturing", None)
            return [Show(flow.screen)]
        if isinstance(event, ServiceFailed):
            s.extra.pop("capturing", None)
            return flow.notify(event.reason_key)
        return []

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> MaterialsView:
        return materials_view(s, item, base)


class Review(ItemScreen):
    """Everything entered and captured, once more, before it is sent."""

    back = None

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        if target == "back":
            return flow.go(Screen.MATERIALS if item.materials else Screen.FORM)
        if target == "submit" and item.payment != "none":
            s.extra["pay"] = {"phase": "fee"}  # the fee first: nothing is sent before it is paid (payment.py)
            return flow.go(Screen.PAYMENT)
        if target == "submit":
            materials = tuple(Material(f"{i}-{n}.jpg", "image/jpeg", p.jpeg)
                              for i, pages in sorted(s.pages.items()) for n, p in enumerate(pages))
            return [*flow.go(Screen.WORKING), Submit("application", item.code, s.applicant(),
                                                     licences.submitted_form(s), materials=materials)]
        return None

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> ReviewView:
        form, pages = form_view(flow, s, item, base), materials_view(s, item, base)
        return ReviewView(**shared(base), fields=form.fields, focus=form.focus, focus_type=form.focus_type,
                          focus_text=form.focus_text, pages=pages.pages, previews=pages.previews,
                          capturing=pages.capturing, materials_optional=pages.materials_optional,
                          e_licences=pages.e_licences)


class Slots(ItemScreen):
    """An appointment's free times."""

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        if target.startswith("slot:"):
            slot = target[5:]
            still = bookable(s.slots, flow.wall_clock(), item.booking_lead_minutes)  # time passed meanwhile
            if any(str(x.get("slot_id")) == slot and int(x.get("available", 1) or 0) > 0 for x in still):
                return [*flow.go(Screen.WORKING), BookSlot(item.code, slot, s.applicant())]
            return []
        return None

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> SlotsView:
        slots = [(str(x.get("slot_id")), slot_label(start, flow.language), int(x.get("available", 1) or 0))
                 for x in s.slots if (start := slot_start(x)) is not None]
        return SlotsView(**shared(base), slots=slots, place=s.extra.get("place", ""))


class Result(ItemScreen):
    """A query's answer; print it or finish."""

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        if target == "print" and flow.available.get("printer", True) and s.answer is not None:
            return print_slip(flow, "query", {"item_name": item.name.get("zh_CN"), "answer": s.answer})
        if target == "finish":
            s.answer = None
            return flow.go(Screen.DONE)
        return None

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> View:
        if s.answer is None:
            return base
        return ResultView(**shared(base), answer_title=str(s.answer.get("title", "")),
                          answer_rows=[(str(k), str(v)) for k, v in s.answer.get("rows", [])])


class Working(ItemScreen):
    """The terminal asks the gateway, the platform or a camera; their answers move the journey on."""

    back = None

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        if isinstance(event, ProgressAnswered):
            return qr.progress_answered(flow, event)
        s = flow.session
        if s is None or s.item is None:
            return []
        item = s.item
        if isinstance(event, DocumentFetched):
            s.document = event.document
            return [Submit("print_request", item.code, s.applicant(),
                           {"doc_no": str(event.document.get("doc_no", ""))})]
        if isinstance(event, SubmissionAccepted):
            s.receipt_no = event.receipt_no
            content = receipt_content(s)
            if item.kind == "certification":  # 认证成功: and when the next one is due
                today = flow.today() or flow.wall_clock().date()  # the trusted date when there is one
                s.extra["next_due"] = content["next_due"] = next_due(today).isoformat()
            return print_slip(flow, "certificate" if item.kind == "print" else "receipt", content)
        if isinstance(event, QueryAnswered):
            s.answer = event.answer
            return flow.go(Screen.RESULT)
        if isinstance(event, SlotsListed):
            s.slots = bookable(list(event.slots), flow.wall_clock(), item.booking_lead_minutes)
            s.extra["place"] = event.place
            return flow.go(Screen.SLOTS)
        if isinstance(event, AppointmentBooked):
            s.booking = event.booking
            s.receipt_no = str(event.booking.get("appointment_ref") or event.booking.get("receipt_no") or "")
            content = receipt_content(s)
            content["slot"] = str(event.booking.get("starts_at") or "").replace("T", " ")
            content["place"] = str(event.booking.get("place") or s.extra.get("place", ""))
            return print_slip(flow, "appointment", content)
        checked = face.face_answered(flow, event, face_verified)
        if checked is not None:
            return checked
        if isinstance(event, ServiceFailed):
            s.error_key = event.reason_key
            return flow.go(Screen.ERROR)
        return []


class Printing(ItemScreen):
    """A slip is printing: the session's, or a progress slip."""

    back = None

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        if not isinstance(event, PrintFinished):
            return []
        progress = qr.progress_printed(flow, event)
        if progress is not None:
            return progress
        s = flow.session
        if s is None or event.job_id != s.print_job:
            return []
        s.printed, s.print_reason = event.printed, event.reason
        return after_print(flow)


class Done(ItemScreen):
    """Take the paper; rate the service (a poor rating asks why first)."""

    back = None

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        if target.startswith("rate:"):
            return self.rated(flow, s, target[5:])
        if target.startswith("why:") and s.extra.get("rating"):
            return self.followed_up(flow, s, target[4:])
        return None

    def rated(self, flow: KioskFlow, s: Session, value: str) -> list[Effect]:
        if not value.isdigit() or int(value) not in RATING_LEVELS:
            return []
        level = int(value)
        if level >= 4:  # 不满意: ask what went wrong before thanking, so the rating can be followed up
            s.extra["rating"] = level
            return [Show(flow.screen)]
        effects: list[Effect] = [SendRating(s.receipt_no, level)] if rateable(s) else []
        return [*effects, *flow.end_session("completed", then=Screen.THANKS)]

    def followed_up(self, flow: KioskFlow, s: Session, reason: str) -> list[Effect]:
        if reason not in FOLLOW_UP_REASONS:
            return []
        level = int(s.extra["rating"])
        effects: list[Effect] = [SendRating(s.receipt_no, level, reason)] if rateable(s) else []
        return [*effects, *flow.end_session("completed", then=Screen.THANKS)]


class Brief(ScreenHandler):
    """Thanks and timeout notices: any touch ends them (they also fade on their own)."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        return flow.end_session("finished")


CARD_PROMPT = CardPrompt()
CONSENT = Consent()
CONFIRM = Confirm()
FORM = Form()
MATERIALS = Materials()
REVIEW = Review()
SLOTS = Slots()
RESULT = Result()
WORKING = Working()
PRINTING = Printing()
DONE = Done()
BRIEF = Brief()
ERROR = ScreenHandler()
