"""免申即办 and 数据互认 in the resident's journey.

免申即办: once a card identified the resident (from attract or while browsing), the flow asks the
platform which benefits it granted, or will grant, without an application (:class:`AskBenefits`). If
there are any and the resident is still browsing when the answer comes, the notice screen says so
("您已自动享受…", with dates and amounts where the platform gives them); one touch continues where
they were. When the platform cannot be asked, or grants nothing, nothing is shown and nothing waits.

An item marked ``exempt_from_application`` offers no application: its detail says 无需申请 and offers
its status instead (identify ─► working (AskBenefits) ─► the notice for that item ─print?─► printing ─► done).

数据互认: the materials screen asks the e-licence library for the item's ``e_license`` materials
(:class:`FetchLicences`); those it holds are shown as 已调取电子证照 and need no page, the rest are
scanned (``licences.py``; the submission carries the licence references).

Pure: the platform calls are effects, carried out by ``kiosk/terminal/exempt_calls.py``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from kiosk.catalog.model import ServiceItem
from kiosk.flow import browse, journeys, licences
from kiosk.flow.exempt_model import AskBenefits, BenefitsAnswered, FetchLicences, LicencesFetched
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import CardRead, Effect, Event, Screen, Session, Show
from kiosk.flow.views import BenefitRow, ExemptView, View, shared
from kiosk.privacy import mask_id_number, mask_name

if TYPE_CHECKING:
    from kiosk.catalog.loading import Catalog
    from kiosk.flow.machine import KioskFlow

# Screens the after-card notice may interrupt: the resident is browsing, not in the middle of an item.
NOTICE_FROM = frozenset({Screen.HOME, Screen.CATEGORIES, Screen.LIST, Screen.SEARCH, Screen.DETAIL})
# Card sources that identify a resident for the after-card notice (the app's code signs in for an item).
NOTICE_SOURCES = frozenset({"id_card", "social_security_card"})
STATUSES = ("granted", "due")
PERIODS = ("month", "once")


# -- what the platform said, as the notice shows it -------------------------------------------------

def benefit_rows(benefits: tuple[dict[str, Any], ...] | list[dict[str, Any]], catalog: Catalog,
                 language: str, only: str = "") -> list[BenefitRow]:
    """The platform's benefits as notice rows: the catalog's name in ``language`` (the platform's title for
    an item the catalog lacks), granted before due; ``only``: just the benefit of that item code. Entries
    without a name or with an unknown status are left out."""
    rows: list[tuple[int, BenefitRow]] = []
    for b in benefits:
        code, status = str(b.get("item_code") or ""), str(b.get("status") or "")
        if status not in STATUSES or (only and code != only):
            continue
        item = catalog.get(code) if code else None
        name = item.name.get(language) if item is not None else str(b.get("title") or "")
        if not name:
            continue
        day = str(b.get("granted_on") if status == "granted" else b.get("due_on") or "")
        period = str(b.get("period") or "")
        rows.append((STATUSES.index(status), BenefitRow(name=name, status=status, day=day if _iso_day(day) else "",
                                                        amount=_amount(b.get("amount")),
                                                        period=period if period in PERIODS else "",
                                                        code=code if item is not None else "")))
    return [r for _, r in sorted(rows, key=lambda p: p[0])]


def _iso_day(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


def _amount(value: Any) -> str:
    """A decimal string of yuan (``"18600.00"``), "" for anything else."""
    text = str(value or "")
    whole, _, cents = text.partition(".")
    return text if whole.isdigit() and (not cents or (cents.isdigit() and len(cents) <= 2)) else ""


# -- after the card: the notice ---------------------------------------------------------------------

def card_read(flow: KioskFlow, event: CardRead) -> list[Effect]:
    """A card was read: an exempt item's status prompt takes it; otherwise the usual journey, and then
    (once per identity) the question which benefits the platform granted without applying."""
    if _status_card(flow, event.source):
        return status_identified(flow, event)
    effects = journeys.card_read(flow, event.identity, event.source)
    return [*effects, *ask_after_card(flow, event)]


def ask_after_card(flow: KioskFlow, event: CardRead) -> list[Effect]:
    """:class:`AskBenefits` for the resident the card identified, if it was accepted, not asked before,
    and the platform is reachable (offline: no question, no notice)."""
    s = flow.session
    if s is None or s.identity is not event.identity or event.source not in NOTICE_SOURCES:
        return []
    if not flow.available.get("platform", True) or s.extra.get("benefits_of") == holder(event.identity):
        return []
    s.extra["benefits_of"] = holder(event.identity)
    return [_ask(s, "notice")]


def holder(identity: Any) -> str:
    """Tells one card's holder from the next within a session (masked: nothing personal is kept by it)."""
    return f"{id(identity)}:{mask_id_number(identity.id_number)}" if identity is not None else ""


def _ask(s: Session, purpose: str) -> AskBenefits:
    ask_id = uuid.uuid4().hex
    s.extra["benefits_ask"] = ask_id
    return AskBenefits(s.applicant(), purpose, ask_id)


def answer_pending(flow: KioskFlow) -> bool:
    """Whether the platform's answer about benefits is still awaited (a script waits for it before touching
    on: the notice may come up in between)."""
    return flow.session is not None and "benefits_ask" in flow.session.extra


def answered(flow: KioskFlow, event: Event) -> list[Effect]:
    """The platform's answers to this module's questions, whatever screen shows."""
    if isinstance(event, LicencesFetched):
        return licences_fetched(flow, event)
    if isinstance(event, BenefitsAnswered):
        return benefits_answered(flow, event)
    return []


def benefits_answered(flow: KioskFlow, event: BenefitsAnswered) -> list[Effect]:
    s = flow.session
    if s is None or s.identity is None or event.ask_id != s.extra.get("benefits_ask"):
        return []  # an answer for a resident who has gone (or a card since replaced)
    s.extra.pop("benefits_ask", None)
    if event.purpose == "status":
        if flow.screen != Screen.WORKING:
            return []
        if event.failed:
            s.error_key = "error_platform_unavailable"
            return flow.go(Screen.ERROR)
        s.extra["benefits"] = list(event.benefits)
        s.extra["exempt_purpose"] = "status"
        return flow.go(Screen.EXEMPT)
    if event.failed or not benefit_rows(event.benefits, flow.catalog, flow.language):
        return []  # nothing to say: the resident never waited for this
    s.extra["benefits"] = list(event.benefits)
    s.extra["exempt_purpose"] = "notice"
    if flow.screen not in NOTICE_FROM or flow.warning:
        return []
    s.extra["exempt_back"] = flow.screen.value
    return flow.go(Screen.EXEMPT)


# -- an exempt item: its status instead of an application ---------------------------------------------

def _status_card(flow: KioskFlow, source: str) -> bool:
    """Whether a card read now identifies the resident for an exempt item's status."""
    s = flow.session
    if s is None or s.item is None or not s.item.exempt_from_application or not s.extra.get("exempt_status"):
        return False
    if flow.screen == Screen.CARD_PROMPT:
        return True
    return flow.screen == Screen.SCAN and s.extra.get("scan_purpose") == "signin"


def status_identified(flow: KioskFlow, event: CardRead) -> list[Effect]:
    """Reading one's own benefit needs who one is, not a face: any card (or the app's code) will do."""
    s = flow.session
    assert s is not None
    flow.cancel_scan()
    if s.identity is not None and s.identity is not event.identity:
        s.identity.wipe()
    s.identity, s.identity_source, s.face_verified = event.identity, event.source, False
    return ask_status(flow)


def ask_status(flow: KioskFlow) -> list[Effect]:
    s = flow.session
    assert s is not None
    return [*flow.go(Screen.WORKING), _ask(s, "status")]


class ExemptDetail(browse.Detail):
    """The detail screen; for an exempt item, 办理 is replaced by its status (``exempt:status``)."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None or s.item is None or not s.item.exempt_from_application:
            return super().tapped(flow, target)
        if target == "begin":
            return []  # there is no application to begin
        if target == "exempt:status":
            if not flow.available.get("platform", True):
                return flow.notify("unavail_platform")
            s.extra["exempt_status"] = True
            if s.identity is not None and s.identity_source:
                return ask_status(flow)
            return flow.go(Screen.CARD_PROMPT)
        return super().tapped(flow, target)


class ExemptNotice(ScreenHandler):
    """您已自动享受…: continue (one touch); on an exempt item's status, print its decision or finish."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None:
            return None
        if target in ("continue", "back"):
            back = s.extra.pop("exempt_back", "")
            if s.extra.get("exempt_purpose") == "status" or not back:
                s.extra.pop("exempt_status", None)
                return flow.go(Screen.HOME)
            return flow.go(Screen(back))
        if target == "print" and self._printable(flow, s):
            assert s.item is not None
            return journeys.print_slip(flow, "query", decision_slip(flow, s, s.item))
        return None

    def _printable(self, flow: KioskFlow, s: Session) -> bool:
        if s.extra.get("exempt_purpose") != "status" or s.item is None or not flow.available.get("printer", True):
            return False
        rows = benefit_rows(s.extra.get("benefits", []), flow.catalog, flow.language, only=s.item.code)
        return any(r.status == "granted" for r in rows)

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None:
            return base
        purpose = str(s.extra.get("exempt_purpose", "notice"))
        only = s.item.code if purpose == "status" and s.item is not None else ""
        return ExemptView(**shared(base), purpose=purpose, printable=self._printable(flow, s),
                          benefits=benefit_rows(s.extra.get("benefits", []), flow.catalog, flow.language, only))


def decision_slip(flow: KioskFlow, s: Session, item: ServiceItem) -> dict[str, Any]:
    """The printed decision of a benefit granted without applying (简体, masked like every slip)."""
    benefit: dict[str, Any] = next((b for b in s.extra.get("benefits", [])
                                    if b.get("item_code") == item.code and b.get("status") == "granted"), {})
    rows = [["办理方式", "免申即办（无需申请）"]]
    if benefit.get("granted_on"):
        rows.append(["享受日期", str(benefit["granted_on"])])
    if _amount(benefit.get("amount")):
        per = "（每月）" if benefit.get("period") == "month" else ""
        rows.append(["待遇金额", f"¥{_amount(benefit.get('amount'))}{per}"])
    if benefit.get("decision_no"):
        rows.append(["决定书编号", str(benefit["decision_no"])])
    return {"item_name": item.name.get("zh_CN"),
            "answer": {"title": f"{item.name.get('zh_CN')}·待遇决定", "rows": rows,
                       "query_no": str(benefit.get("decision_no") or "")},
            "applicant_name": mask_name(s.identity.name) if s.identity else "",
            "applicant_id": mask_id_number(s.identity.id_number) if s.identity else ""}


def item_parts(flow: KioskFlow, item: ServiceItem) -> dict[str, Any]:
    """The item's 免申即办 parts of every view: whether it is exempt, and what it triggers."""
    names = [f.name.get(flow.language) for code in item.follow_ups if (f := flow.catalog.get(code)) is not None]
    return {"item_exempt": item.exempt_from_application, "item_follow_ups": names}


# -- 数据互认: the materials screen ---------------------------------------------------------------------

def fetch_licences(flow: KioskFlow) -> list[Effect]:
    """On the materials screen: ask the e-licence library once per item and resident; offline (or without
    an identity), every material is scanned."""
    s = flow.session
    if s is None or s.item is None:
        return []
    item, wanted = s.item, licences.licence_materials(s.item)
    who = holder(s.identity)
    rec = licences.record(s)
    if not wanted or (rec.get("item") == item.code and rec.get("holder") == who):
        return []
    if s.identity is None or not flow.available.get("platform", True):
        s.extra["licences"] = {"item": item.code, "holder": who, "state": "failed", "found": {}}
        return []
    s.extra["licences"] = {"item": item.code, "holder": who, "state": licences.FETCHING, "found": {}}
    return [FetchLicences(item.code, s.applicant(), wanted)]


def licences_fetched(flow: KioskFlow, event: LicencesFetched) -> list[Effect]:
    s = flow.session
    rec = licences.record(s) if s is not None else {}
    if s is None or rec.get("item") != event.item_code or rec.get("state") != licences.FETCHING:
        return []
    # A material the resident scanned meanwhile keeps its pages: the scan is what they chose to hand in.
    found = {i: ref for i, ref in event.found.items() if not s.pages.get(i)}
    s.extra["licences"] = {**rec, "state": "failed" if event.failed else "done", "found": found}
    return [Show(flow.screen)] if flow.screen == Screen.MATERIALS else []


class LicensedMaterials(journeys.Materials):
    """The materials screen with 数据互认: e-licence materials the library gave need no page."""

    def entered(self, flow: KioskFlow) -> list[Effect]:
        return [*super().entered(flow), *fetch_licences(flow)]

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        kind, _, index = target.partition(":")
        state = licences.states(s, item)
        if kind in ("capture", "retake") and index.isdigit() and state.get(int(index)) == licences.FETCHED:
            return []  # nothing to lay under the camera: the library's licence stands for it
        if target == "next":
            missing = [i for i, m in enumerate(item.materials)
                       if not m.optional and not s.pages.get(i) and state.get(i) != licences.FETCHED]
            if any(state.get(i) != licences.FETCHING for i in missing):
                return flow.notify("notice_materials_missing")
            if missing:  # only e-licences still being asked for (the resident may scan them instead)
                return flow.notify("notice_licences_fetching")
            return flow.go(Screen.REVIEW)
        return super().item_tapped(flow, s, item, target)


DETAIL = ExemptDetail()
NOTICE = ExemptNotice()
MATERIALS = LicensedMaterials()
