"""Each item kind end to end: identify, form, materials, review, platform calls, print, rate.

guide        detail ─begin─► printing (guide sheet) ─► done
query        identify ─► confirm ─► working (RunQuery) ─► result ─print?─► printing ─► done
print        identify ─► confirm ─► working (FetchDocument → Submit) ─► printing ─► done
apply        identify ─► form ─► materials ─► review ─► working (Submit; queued offline) ─► printing ─► done
appointment  identify ─► working (ListSlots) ─► slots ─► working (BookSlot) ─► printing ─► done
certification identify ─► consent ─► working (CaptureFace → VerifyIdentity) ─► confirm ─► working (Submit) …

Every item whose identity is ``id_card_face`` (人证比对), whatever its kind, puts the face check
(``face.py``: consent ─► CaptureFace ─► VerifyIdentity) between the ID card and its own journey, and
always offers another way (social security card, app QR) instead of the face. For print and query
the consent button also confirms, so their journey is identify ─► consent ─► working ─► ….
"""

from __future__ import annotations

import uuid
from typing import Any

from kiosk.catalog.loading import ServiceItem
from kiosk.flow.face import CONSENT_CONFIRMS, FaceCheck
from kiosk.flow.model import (AppointmentBooked, BookSlot, CapturePage, DocumentFetched, Effect, Event,
                              FetchDocument, HelpQueued, ListSlots, PageCaptured, PrintFinished,
                              PrintReceipt, QueryAnswered, RunQuery, Screen, SendRating, ServiceFailed, Show,
                              SlotsListed, Submit, SubmissionAccepted, id_type, RATING_LEVELS)
from kiosk.privacy import mask_id_number, mask_name, mask_phone

# Card sources and the catalog's identity levels they satisfy.
SATISFIES = {
    "id_card": {"id_card", "id_card_face"},
    "social_security_card": {"social_security_card"},
    "app_qr": {"app_qr"},
}
# While these screens show, the card that identified the resident is still needed.
CARD_NEEDED = {Screen.CONFIRM, Screen.FORM, Screen.MATERIALS, Screen.REVIEW, Screen.CONSENT, Screen.SLOTS,
               Screen.RESULT}
FOLLOW_UP_REASONS = ("slow", "unclear", "device", "not_done")
SENSITIVE_TYPES = {"citizen_id", "bank_account", "mobile"}


class ItemJourneys(FaceCheck):
    """The resident's journey for every item kind (see the module docstring); ``kiosk/flow/qr.py``'s
    :class:`KioskFlow` adds the QR steps (progress lookup, app sign-in) on top."""

    # -- starting an item --

    def _begin(self, item: ServiceItem) -> list[Effect]:
        s = self._start_session()
        s.item = item
        s.form.clear()
        s.pages.clear()
        s.error_key = ""
        if item.kind == "guide":
            return self._print_slip("guide", {"item_name": item.name.get("zh_CN"),
                                              "materials": [m.name.get("zh_CN") for m in item.materials],
                                              "days": item.promised_days, "fee": str(item.fee_yuan),
                                              "summary": item.summary.get("zh_CN") if item.summary else ""})
        if item.identity == "none":
            if item.kind == "query":
                return [*self._go(Screen.WORKING), RunQuery(item.code, {})]
            return self._identified()
        if s.identity is not None and s.identity_source in self._sources(item):
            return self._identified()
        return self._go(Screen.CARD_PROMPT)

    @staticmethod
    def _sources(item: ServiceItem) -> set[str]:
        accepted = set(item.accepted_identity())
        return {src for src, levels in SATISFIES.items() if levels & accepted}

    def _identified(self) -> list[Effect]:
        if self._needs_face():
            return self._ask_consent()
        return self._own_journey()

    def _own_journey(self) -> list[Effect]:
        """The kind's first step once the resident is identified (and the face checked if asked)."""
        s = self.session
        assert s is not None and s.item is not None
        kind = s.item.kind
        if kind == "apply":
            self._prefill()
            return self._go(Screen.FORM)
        if kind == "appointment":
            return [*self._go(Screen.WORKING), ListSlots(s.item.code)]
        return self._go(Screen.CONFIRM)

    def _face_verified(self) -> list[Effect]:
        s = self.session
        assert s is not None and s.item is not None
        if s.item.kind in CONSENT_CONFIRMS:  # 同意并打印/查询 already confirmed: straight on
            return self._confirmed()
        return self._own_journey()

    def _confirmed(self) -> list[Effect]:
        """The confirm screen's action (or the consent's, where it carries the confirm)."""
        s = self.session
        assert s is not None and s.item is not None
        item, applicant = s.item, self._applicant()
        if item.kind == "query":
            return [*self._go(Screen.WORKING), RunQuery(item.code, applicant)]
        if item.kind == "certification":
            return [*self._go(Screen.WORKING), Submit("application", item.code, applicant,
                                                      {"certification": True, "method": s.identity_source,
                                                       "face_verified": s.face_verified})]
        return [*self._go(Screen.WORKING), FetchDocument(item.code, applicant)]

    def _card_read(self, identity: Any, source: str) -> list[Effect]:
        if self.screen in self.BUSY or self.screen in (Screen.DONE, Screen.THANKS):
            identity.wipe()  # a card laid on the reader mid-transaction is not this session's
            return []
        s = self._start_session()
        if s.identity is not None and s.identity is not identity:
            s.identity.wipe()
        s.identity, s.identity_source, s.face_verified = identity, source, False
        if self.screen in (Screen.ATTRACT, Screen.TIMEOUT, Screen.ERROR):
            return self._go(Screen.HOME)
        if self.screen in (Screen.CARD_PROMPT, Screen.CONSENT) and s.item is not None:
            if source not in self._sources(s.item):
                return self._notify("notice_identity_not_accepted")
            return self._identified()
        return [Show(self.screen)]

    def _card_removed(self, source: str) -> list[Effect]:
        s = self.session
        if s is None or s.identity is None or s.identity_source != source or self.screen not in CARD_NEEDED:
            return []
        effects = self._end_session("card removed")
        self._notify("notice_card_pulled")
        return effects

    def _applicant(self) -> dict[str, str]:
        s = self.session
        if s is None or s.identity is None:
            return {}
        return {"name": s.identity.name, "id_number": s.identity.id_number,
                "id_type": id_type(getattr(s.identity, "card_type", "resident"), s.identity.id_number)}

    # -- touches --

    def _journey_tapped(self, target: str) -> list[Effect] | None:
        s = self.session
        if s is None or s.item is None:
            return None
        screen, item = self.screen, s.item
        if target == "back" and screen in (Screen.CARD_PROMPT, Screen.CONFIRM, Screen.CONSENT, Screen.FORM,
                                           Screen.SLOTS, Screen.RESULT):
            return self._go(Screen.HOME)
        if target == "back" and screen == Screen.MATERIALS:
            return self._go(Screen.FORM)
        if target == "back" and screen == Screen.REVIEW:
            return self._go(Screen.MATERIALS if item.materials else Screen.FORM)
        if screen == Screen.CONFIRM and target == "confirm":
            return self._confirmed()
        if screen == Screen.CARD_PROMPT and target.startswith("use:"):
            s.extra["awaiting"] = target[4:]
            return [Show(screen)]
        if screen == Screen.CONSENT:
            return self._consent_tapped(target)
        if screen == Screen.FORM:
            return self._form_tapped(target)
        if screen == Screen.MATERIALS:
            return self._materials_tapped(target)
        if screen == Screen.REVIEW and target == "submit":
            materials = tuple((f"{i}-{n}.jpg", "image/jpeg", p.jpeg)
                              for i, pages in sorted(s.pages.items()) for n, p in enumerate(pages))
            return [*self._go(Screen.WORKING), Submit("application", item.code, self._applicant(), dict(s.form),
                                                      materials=materials)]
        if screen == Screen.SLOTS and target.startswith("slot:"):
            slot = target[5:]
            if any(str(x.get("slot_id")) == slot and int(x.get("available", 1) or 0) > 0 for x in s.slots):
                return [*self._go(Screen.WORKING), BookSlot(item.code, slot, self._applicant())]
            return []
        if screen == Screen.RESULT:
            if target == "print" and self.available.get("printer", True) and s.answer is not None:
                return self._print_slip("query", {"item_name": item.name.get("zh_CN"), "answer": s.answer})
            if target == "finish":
                s.answer = None
                return self._go(Screen.DONE)
        if screen == Screen.DONE:
            if target.startswith("rate:"):
                return self._rated(target[5:])
            if target.startswith("why:") and s.extra.get("rating"):
                return self._followed_up(target[4:])
        return None

    def _form_tapped(self, target: str) -> list[Effect]:
        s = self.session
        assert s is not None and s.item is not None
        fields = {f.key: f for f in s.item.fields}
        if target.startswith("field:") and target[6:] in fields and not fields[target[6:]].prefill:
            s.focus = target[6:]
            return [Show(self.screen)]
        if target.startswith("choice:"):
            _, key, value = target.split(":", 2)
            if key in fields:
                s.form[key] = value
                return [Show(self.screen)]
        if target == "kb:done":
            s.focus = ""
            return [Show(self.screen)]
        if target == "next":
            s.focus = ""
            s.extra["checked"] = True
            if any(self._problem(f) for f in s.item.fields):
                return self._notify("notice_fix_fields")
            return self._go(Screen.MATERIALS if s.item.materials else Screen.REVIEW)
        return []

    def _materials_tapped(self, target: str) -> list[Effect]:
        s = self.session
        assert s is not None and s.item is not None
        kind, _, index = target.partition(":")
        if kind in ("capture", "retake") and index.isdigit() and int(index) < len(s.item.materials):
            i = int(index)
            if kind == "retake":
                s.pages.pop(i, None)
            s.extra["capturing"] = i
            return [Show(self.screen), CapturePage(i)]
        if target == "next":
            missing = [i for i, m in enumerate(s.item.materials) if not m.optional and not s.pages.get(i)]
            if missing:
                return self._notify("notice_materials_missing")
            return self._go(Screen.REVIEW)
        return []

    def _text(self, text: str) -> list[Effect]:
        s = self.session
        if self.screen == Screen.FORM and s is not None and s.focus:
            s.form[s.focus] = text[:500]
            return [Show(self.screen)]
        return super()._text(text)

    # -- forms --

    def _prefill(self) -> None:
        """Card fields are copied in and locked: 数据互认, the resident never retypes them."""
        s = self.session
        assert s is not None and s.item is not None
        for f in s.item.fields:
            if f.prefill and s.identity is not None:
                value = getattr(s.identity, f.prefill, "")
                s.form[f.key] = str(value) if value is not None else ""

    def _problem(self, f: Any) -> str:
        s = self.session
        assert s is not None
        return f.check(s.form.get(f.key, "")) or ""

    def _shown_value(self, f: Any, value: str, focused: bool) -> str:
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

    # -- answers from the outside world --

    def _service_event(self, event: Event) -> list[Effect]:
        s = self.session
        if isinstance(event, HelpQueued):
            if s is not None:
                s.extra["help_no"] = event.receipt_no
            return self._notify("notice_help_sent" if event.what == "help" else "notice_report_sent")
        if isinstance(event, PageCaptured):
            if s is None or self.screen != Screen.MATERIALS:
                return []
            s.pages.setdefault(event.material, []).append(event)
            s.extra.pop("capturing", None)
            return [Show(self.screen)]
        if isinstance(event, ServiceFailed) and self.screen == Screen.MATERIALS and s is not None:
            s.extra.pop("capturing", None)
            return self._notify(event.reason_key)
        if isinstance(event, PrintFinished):
            return self._print_finished(event)
        if self.screen != Screen.WORKING or s is None or s.item is None:
            return []
        item = s.item
        if isinstance(event, DocumentFetched):
            s.document = event.document
            return [Submit("print_request", item.code, self._applicant(),
                           {"doc_no": str(event.document.get("doc_no", ""))})]
        if isinstance(event, SubmissionAccepted):
            s.receipt_no = event.receipt_no
            return self._print_slip("certificate" if item.kind == "print" else "receipt", self._receipt_content())
        if isinstance(event, QueryAnswered):
            s.answer = event.answer
            return self._go(Screen.RESULT)
        if isinstance(event, SlotsListed):
            s.slots = list(event.slots)
            s.extra["place"] = event.place
            return self._go(Screen.SLOTS)
        if isinstance(event, AppointmentBooked):
            s.booking = event.booking
            s.receipt_no = str(event.booking.get("appointment_ref") or event.booking.get("receipt_no") or "")
            content = self._receipt_content()
            content["slot"] = str(event.booking.get("starts_at") or "").replace("T", " ")
            content["place"] = str(event.booking.get("place") or s.extra.get("place", ""))
            return self._print_slip("appointment", content)
        face = self._face_event(event)
        if face is not None:
            return face
        if isinstance(event, ServiceFailed):
            s.error_key = event.reason_key
            return self._go(Screen.ERROR)
        return []

    def _receipt_content(self) -> dict[str, Any]:
        s = self.session
        assert s is not None and s.item is not None
        return {
            "item_name": s.item.name.get("zh_CN"),
            "document": s.document,
            "receipt_no": s.receipt_no,
            "promised_days": s.item.promised_days,
            "applicant_name": mask_name(s.identity.name) if s.identity else "",
            "applicant_id": mask_id_number(s.identity.id_number) if s.identity else "",
        }

    def _print_slip(self, layout: str, content: dict[str, Any]) -> list[Effect]:
        s = self.session
        assert s is not None
        if not self.available.get("printer", True):
            s.printed, s.print_reason = False, "printer_unavailable"
            return self._after_print()
        s.print_job = str(uuid.uuid4())
        return [*self._go(Screen.PRINTING), PrintReceipt(s.print_job, content, layout)]

    def _print_finished(self, event: PrintFinished) -> list[Effect]:
        s = self.session
        if self.screen != Screen.PRINTING or s is None or event.job_id != s.print_job:
            return []
        s.printed, s.print_reason = event.printed, event.reason
        return self._after_print()

    def _after_print(self) -> list[Effect]:
        s = self.session
        assert s is not None
        # The paper (or the QR) carries everything the resident needs; identity is no longer needed.
        s.forget_personal()
        return self._go(Screen.DONE)

    def _rated(self, value: str) -> list[Effect]:
        s = self.session
        if s is None or not value.isdigit() or int(value) not in RATING_LEVELS:
            return []
        level = int(value)
        if level >= 4:  # 不满意: ask what went wrong before thanking, so the rating can be followed up
            s.extra["rating"] = level
            return [Show(self.screen)]
        effects: list[Effect] = [SendRating(s.receipt_no, level)] if self._rateable() else []
        return [*effects, *self._end_session("completed", then=Screen.THANKS)]

    def _rateable(self) -> bool:
        """Ratings attach to the gateway's receipt numbers (not a booking's or a query's reference)."""
        s = self.session
        return bool(s and s.receipt_no and "-" in s.receipt_no)

    def _followed_up(self, reason: str) -> list[Effect]:
        s = self.session
        assert s is not None
        if reason not in FOLLOW_UP_REASONS:
            return []
        level = int(s.extra["rating"])
        effects: list[Effect] = [SendRating(s.receipt_no, level, reason)] if self._rateable() else []
        return [*effects, *self._end_session("completed", then=Screen.THANKS)]

    # -- what the screens see --

    def _journey_view(self) -> dict[str, Any]:
        s = self.session
        assert s is not None
        out: dict[str, Any] = {"awaiting": s.extra.get("awaiting", ""), "help_no": s.extra.get("help_no", ""),
                               "rating_followup": bool(s.extra.get("rating")),
                               "identity_source": s.identity_source, **self._face_view()}
        item = s.item
        if item is None:
            return out
        if self.screen in (Screen.FORM, Screen.REVIEW):
            checked = bool(s.extra.get("checked"))
            lang = self.language
            out["fields"] = [{
                "key": f.key, "label": f.label.get(lang), "type": f.type, "locked": bool(f.prefill),
                "required": f.required, "value": self._shown_value(f, s.form.get(f.key, ""), f.key == s.focus),
                "problem": self._problem(f) if (checked or s.form.get(f.key)) else "",
                "choices": [(c.value, c.label.get(lang)) for c in f.choices],
            } for f in item.fields]
            out["focus"] = s.focus
            focused = next((f for f in item.fields if f.key == s.focus), None)
            out["focus_type"] = focused.type if focused else ""
            out["focus_text"] = s.form.get(s.focus, "") if focused else ""
        if self.screen in (Screen.MATERIALS, Screen.REVIEW):
            out["pages"] = {i: len(p) for i, p in s.pages.items()}
            out["previews"] = {i: p[-1].preview_png for i, p in s.pages.items() if p}
            out["capturing"] = s.extra.get("capturing", -1)
            out["materials_optional"] = [m.optional for m in item.materials]
        if self.screen == Screen.SLOTS:
            out["slots"] = [(str(x.get("slot_id")), f"{x.get('date', '')} {x.get('time', '')}".strip(),
                             int(x.get("available", 1) or 0)) for x in s.slots]
            out["place"] = s.extra.get("place", "")
        if self.screen == Screen.RESULT and s.answer is not None:
            out["answer_title"] = str(s.answer.get("title", ""))
            out["answer_rows"] = [(str(k), str(v)) for k, v in s.answer.get("rows", [])]
        return out
