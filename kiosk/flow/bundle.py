"""高效办成一件事: a bundle of items run as one journey.

bundle:<code> ─► bundle (what it does, its items and their departments) ─start─► identify once (the
strongest level any item asks for, with the non-biometric ways every item takes) ─► one form (each
field asked once) ─► materials (each scanned once, shared) ─► bundle_review (what goes to which
department) ─submit─► working (one Submit per item, one after the other, each with the bundle's id
and code) ─► printing (one receipt listing every item's number; then the slips of print items and
guides) ─► bundle_result (each item: accepted with its number, or why not) ─► done (rating)

The bundle runs on the journeys' own screens (card prompt, consent, form, materials) with a merged
item (:func:`merged`): the first item that asks for the strongest identity, with the bundle's name,
every item's fields (a field id shared by several items asked once; two different fields under one
id both asked, each labelled with its item) and every item's materials (one per name, the most pages,
optional only if optional for every item that needs it). What is special to the bundle (its review,
the submissions, the prints, the result) is this module's: :func:`handler_for` puts its handlers in
front of the working and printing screens while a bundle is being submitted, and :func:`redirect`
sends the form's and materials' way to the review to the bundle's review.

Item kinds inside a bundle: ``apply`` is submitted with its share of the form and the materials;
``print`` is fetched from the platform, submitted as a print request and its certificate slip printed
after the bundle's receipt; ``guide`` has its guide sheet printed after the receipt; anything else
(query, appointment, certification, an item with a fee) is listed as done on its own (``separate``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kiosk.catalog.model import FormField, LocalizedText, Material, ServiceItem
from kiosk.flow import browse, journeys
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import (
    CheckDeliveries,
    DeliveriesChecked,
    DocumentFetched,
    Effect,
    Event,
    FetchDocument,
    PrintFinished,
    PrintReceipt,
    Screen,
    ServiceFailed,
    Session,
    Show,
    SubmissionAccepted,
    Submit,
)
from kiosk.flow.model import Material as Page
from kiosk.flow.views import BundlePart, BundleView, View, shared
from kiosk.privacy import mask_id_number, mask_name

if TYPE_CHECKING:
    from kiosk.catalog.loading import Catalog
    from kiosk.flow.machine import KioskFlow

# How strong an identity check is: the bundle asks once for the strongest any item asks for.
STRENGTH = {"none": 0, "social_security_card": 1, "app_qr": 1, "id_card": 2, "id_card_face": 3}
# Screens a bundle can be opened from (the categories' life events, search results, lists, home).
OPENED_FROM = frozenset({Screen.HOME, Screen.CATEGORIES, Screen.LIST, Screen.SEARCH, Screen.DETAIL})
KEY = "bundle"  # the session's extra entry holding the :class:`BundleRun`
CHECK_S = 2.0  # how often the result screen asks how far each item got
CHECK_STUCK_S = 10.0  # an answer this late is taken as lost: ask again
FINAL = frozenset({"delivered", "rejected", "expired"})  # outbox states that do not change by themselves


@dataclass(frozen=True)
class Part:
    """One item of the bundle and its share of the merged form and materials."""

    item: ServiceItem
    handling: str
    """``apply``, ``print``, ``guide`` or ``separate`` (see the module's docstring)."""
    fields: tuple[tuple[str, str], ...] = ()
    """(key in the merged form, key in this item's form) for each of its fields."""
    materials: tuple[tuple[int, int], ...] = ()
    """(this item's material index, the merged material index) for each of its materials."""


@dataclass
class BundleRun:
    """A bundle journey under way (in the session: ``extra["bundle"]``); no personal data."""

    code: str
    item: ServiceItem
    parts: tuple[Part, ...]
    came_from: Screen = Screen.CATEGORIES
    bundle_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    phase: str = ""
    """"" (intro, identity, form, materials, review), ``submitting``, ``printing``, ``done``."""
    step: int = -1
    """The part being submitted."""
    results: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Item code → (state, receipt number, reason key); state: accepted, failed, printed, separate."""
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    prints: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Slips still to print: (layout, content)."""
    slip_done: bool = False
    """The bundle's own receipt was printed (or could not be): the later slips do not change its word."""
    delivery: dict[str, str] = field(default_factory=dict)
    """Receipt number → the outbox's state of it (the result screen asks while it shows)."""
    next_check: float = 0.0
    checking: bool = False


def handling(item: ServiceItem) -> str:
    """What the bundle does with ``item``."""
    if item.payment != "none":
        return "separate"  # a fee is paid on the item's own journey
    if item.kind in ("apply", "print", "guide"):
        return item.kind
    return "separate"


def _labelled(f: FormField, item: ServiceItem) -> FormField:
    """``f`` under a key of its own, labelled with its item (two items ask different things under one id)."""
    label = LocalizedText(zh_CN=f"{f.label.zh_CN}（{item.name.zh_CN}）", zh_TW=f"{f.label.zh_TW}（{item.name.zh_TW}）",
                          en=f"{f.label.en} ({item.name.en})")
    return f.model_copy(update={"key": f"{f.key}__{item.code.replace('-', '_')}", "label": label})


def merged(catalog: Catalog, code: str) -> tuple[ServiceItem, tuple[Part, ...]]:
    """The bundle as one item (identity, fields, materials, devices merged) and its parts."""
    bundle = catalog.bundles[code]
    items = [i for c in bundle.items if (i := catalog.get(c)) is not None]
    handled = [(i, handling(i)) for i in items]
    asking = [i for i, how in handled if how in ("apply", "print")] or items
    strongest = max(STRENGTH[i.identity] for i in asking)
    base = next(i for i in asking if STRENGTH[i.identity] == strongest)
    common = set(base.accepted_identity())
    for i in asking:
        common &= set(i.accepted_identity())
    alternatives = tuple(level for level in base.accepted_identity() if level in common and level != base.identity)
    fields: dict[str, FormField] = {}
    materials: list[Material] = []
    by_name: dict[str, int] = {}
    parts = []
    for item, how in handled:
        own_fields: list[tuple[str, str]] = []
        own_materials: list[tuple[int, int]] = []
        if how == "apply":
            for f in item.fields:
                own = key = f.key
                known = fields.get(key)
                if known is not None and known.model_copy(update={"required": f.required}) != f:
                    f = _labelled(f, item)  # another question under the same id: asked on its own
                    key = f.key
                    known = fields.get(key)
                fields[key] = f if known is None else known.model_copy(update={"required": known.required
                                                                               or f.required})
                own_fields.append((key, own))
            for index, m in enumerate(item.materials):
                name = m.name.zh_CN
                if name not in by_name:
                    by_name[name] = len(materials)
                    materials.append(m)
                else:
                    known_m = materials[by_name[name]]
                    materials[by_name[name]] = known_m.model_copy(update={
                        "pages": max(known_m.pages, m.pages), "optional": known_m.optional and m.optional,
                        "e_license": known_m.e_license and m.e_license})
                own_materials.append((index, by_name[name]))
        parts.append(Part(item, how, tuple(own_fields), tuple(own_materials)))
    devices = tuple(d for d in ("printer", "camera", "document_camera")
                    if any(d in i.devices for i in items if handling(i) != "separate"))
    lead = catalog.departments.get(bundle.lead_department)
    item = base.model_copy(update={
        "name": bundle.name, "summary": bundle.summary, "kind": "apply", "identity": base.identity,
        "identity_alternatives": alternatives, "fields": tuple(fields.values()), "materials": tuple(materials),
        "devices": devices, "payment": "none", "fee_yuan": Decimal(0), "output": "receipt",
        "follow_ups": (), "promised_days": max((i.promised_days for i in items), default=0),
        "instant": all(i.instant for i in items),
        "department_code": bundle.lead_department if lead else base.department_code,
        "department": lead.name.zh_CN if lead else base.department})
    return item, tuple(parts)


def run_of(flow: KioskFlow) -> BundleRun | None:
    """The bundle journey under way, if the session's item is a bundle's."""
    s = flow.session
    if s is None:
        return None
    run = s.extra.get(KEY)
    return run if isinstance(run, BundleRun) and s.item is run.item else None


def open_bundle(flow: KioskFlow, code: str) -> list[Effect]:
    """``bundle:<code>``: the bundle's intro ([] for a code the catalog does not have)."""
    if code not in flow.catalog.bundles:
        return []
    item, parts = merged(flow.catalog, code)
    s = flow.start_session()
    came_from = flow.screen if flow.screen in OPENED_FROM and flow.screen != Screen.DETAIL else Screen.CATEGORIES
    s.extra[KEY] = BundleRun(code, item, parts, came_from=came_from)
    s.item = item
    if came_from == Screen.CATEGORIES:
        flow.categories = "themes"
    return flow.go(Screen.BUNDLE)


def redirect(flow: KioskFlow, screen: Screen) -> Screen:
    """The screen to show instead of ``screen``: a bundle's review instead of a single item's."""
    if screen == Screen.REVIEW and run_of(flow) is not None:
        return Screen.BUNDLE_REVIEW
    return screen


def handler_for(flow: KioskFlow, own: ScreenHandler) -> ScreenHandler:
    """The handler of the current screen: the bundle's while its items are submitted and printed."""
    run = run_of(flow)
    if run is None or run.phase not in ("submitting", "printing"):
        return own
    if flow.screen == Screen.WORKING:
        return WORKING
    if flow.screen == Screen.PRINTING:
        return PRINTING
    return own


# -- views --

def parts_view(flow: KioskFlow, run: BundleRun) -> list[BundlePart]:
    lang = flow.language
    labels = {f.key: f.label.get(lang) for f in run.item.fields}
    names = [m.name.get(lang) for m in run.item.materials]
    shown = []
    for p in run.parts:
        state, receipt, reason = run.results.get(p.item.code, ("", "", ""))
        shown.append(BundlePart(code=p.item.code, name=p.item.name.get(lang), department=flow.department(p.item),
                                handling=p.handling, fields=[labels[k] for k, _ in p.fields if k in labels],
                                materials=[names[m] for _, m in p.materials], state=state, receipt_no=receipt,
                                reason_key=reason, delivery=run.delivery.get(receipt, "") if receipt else ""))
    return shown


def bundle_view(flow: KioskFlow, run: BundleRun, base: View) -> BundleView:
    bundle = flow.catalog.bundles[run.code]
    lang = flow.language
    return BundleView(**shared(base), bundle_code=run.code, bundle_name=bundle.name.get(lang),
                      bundle_summary=bundle.summary.get(lang), parts=parts_view(flow, run),
                      bundle_unavailable=flow.unavailable(run.item))


# -- submitting --

def form_of(s: Session, part: Part) -> dict[str, str]:
    """The item's share of the merged form, under the item's own keys."""
    return {own: s.form[key] for key, own in part.fields if s.form.get(key)}


def pages_of(s: Session, part: Part) -> tuple[Page, ...]:
    """The item's materials from the shared pages, named by the item's own material index."""
    return tuple(Page(f"{own}-{n}.jpg", "image/jpeg", p.jpeg)
                 for own, shared_index in part.materials for n, p in enumerate(s.pages.get(shared_index, [])))


def submit_next(flow: KioskFlow, run: BundleRun) -> list[Effect]:
    """The next item's submission (or fetch, for a print item); the prints once every item had its turn."""
    s = flow.session
    assert s is not None
    while True:
        run.step += 1
        if run.step >= len(run.parts):
            return finish(flow, run)
        part = run.parts[run.step]
        code = part.item.code
        if part.handling == "apply":
            return [Submit("application", code, s.applicant(), form_of(s, part), materials=pages_of(s, part),
                           bundle_id=run.bundle_id, bundle_code=run.code)]
        if part.handling == "print":
            return [FetchDocument(code, s.applicant())]
        if part.handling == "guide":
            run.prints.append(("guide", journeys.guide_content(flow, part.item)))
            run.results[code] = ("printed", "", "")
        else:
            run.results[code] = ("separate", "", "")


def lead_receipt(run: BundleRun) -> str:
    """The receipt number the bundle's slip is tracked by: the first item accepted."""
    return next((r for state, r, _ in (run.results.get(p.item.code, ("", "", "")) for p in run.parts)
                 if state == "accepted" and r), "")


def slip_content(flow: KioskFlow, run: BundleRun, s: Session) -> dict[str, Any]:
    """The bundle's receipt: every item with its own number (or why it has none); masked values only."""
    bundle = flow.catalog.bundles[run.code]
    rows = []
    for p in run.parts:
        state, receipt, _ = run.results.get(p.item.code, ("", "", ""))
        rows.append({"item_name": p.item.name.get("zh_CN"), "department": p.item.department,
                     "state": state, "receipt_no": receipt})
    return {"layout": "bundle", "bundle_name": bundle.name.get("zh_CN"), "bundle_id": run.bundle_id,
            "items": rows, "receipt_no": lead_receipt(run), "promised_days": run.item.promised_days,
            "applicant_name": mask_name(s.identity.name) if s.identity else "",
            "applicant_id": mask_id_number(s.identity.id_number) if s.identity else ""}


def finish(flow: KioskFlow, run: BundleRun) -> list[Effect]:
    """Every item had its turn: the bundle's receipt (if anything was accepted), then the other slips."""
    s = flow.session
    assert s is not None
    run.phase = "printing"
    s.receipt_no = lead_receipt(run)
    slips: list[tuple[str, dict[str, Any]]] = []
    if s.receipt_no:
        slips.append(("bundle", slip_content(flow, run, s)))
    for p in run.parts:
        state, receipt, _ = run.results.get(p.item.code, ("", "", ""))
        if p.handling == "print" and state == "accepted":
            slips.append(("certificate", {"item_name": p.item.name.get("zh_CN"), "kind": "print",
                                          "document": run.documents.get(p.item.code), "receipt_no": receipt,
                                          "promised_days": p.item.promised_days,
                                          "applicant_name": mask_name(s.identity.name) if s.identity else "",
                                          "applicant_id": mask_id_number(s.identity.id_number)
                                          if s.identity else ""}))
    run.prints = slips + run.prints
    if not s.receipt_no:
        run.slip_done = True  # nothing accepted: no receipt to print (the result says why per item)
    return print_next(flow, run)


def print_next(flow: KioskFlow, run: BundleRun) -> list[Effect]:
    s = flow.session
    assert s is not None
    if run.prints and not flow.available.get("printer", True):
        if not run.slip_done:
            s.printed, s.print_reason = False, "printer_unavailable"
        run.prints.clear()
    if not run.prints:
        run.phase = "done"
        run.slip_done = True
        run.documents.clear()  # the platform's documents name the resident (masked, but theirs)
        s.forget_personal()  # the paper (or the QR on the result) carries everything the resident needs
        return flow.go(Screen.BUNDLE_RESULT)
    layout, content = run.prints.pop(0)
    s.print_job = str(uuid.uuid4())
    return [*flow.go(Screen.PRINTING), PrintReceipt(s.print_job, content, layout)]


# -- the screens --

class Intro(ScreenHandler):
    """What the bundle does and the items it includes (each opens its detail), then start."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        run = s.extra.get(KEY) if s is not None else None
        if s is None or not isinstance(run, BundleRun):
            return None
        if target == "start":
            s.item = run.item
            if flow.unavailable(run.item):
                return []
            run.phase, run.step = "", -1
            return journeys.begin(flow, run.item)
        if target.startswith("detail:"):
            return browse.open_detail(flow, target)
        if target == "back":
            return flow.go(run.came_from)
        return None

    def entered(self, flow: KioskFlow) -> list[Effect]:
        s = flow.session
        run = s.extra.get(KEY) if s is not None else None
        if s is not None and isinstance(run, BundleRun):
            s.item = run.item  # back from an item's detail: the bundle again
        return []

    def view(self, flow: KioskFlow, base: View) -> View:
        run = run_of(flow)
        return bundle_view(flow, run, base) if run is not None else base


class Review(journeys.ItemScreen):
    """What will be submitted to which department, before everything is sent."""

    back = None

    def item_tapped(self, flow: KioskFlow, s: Session, item: ServiceItem, target: str) -> list[Effect] | None:
        run = run_of(flow)
        if run is None:
            return None
        if target == "back":
            return flow.go(Screen.MATERIALS if item.materials else Screen.FORM)
        if target == "submit":
            run.phase, run.step = "submitting", -1
            run.results.clear()
            return [*flow.go(Screen.WORKING), *submit_next(flow, run)]
        return None

    def item_view(self, flow: KioskFlow, s: Session, item: ServiceItem, base: View) -> View:
        run = run_of(flow)
        return bundle_view(flow, run, base) if run is not None else base


class Working(ScreenHandler):
    """Each item's answer moves the bundle on to the next item; a failure is the item's, not the bundle's."""

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        run = run_of(flow)
        s = flow.session
        if run is None or s is None or not 0 <= run.step < len(run.parts):
            return []
        part = run.parts[run.step]
        code = part.item.code
        if isinstance(event, DocumentFetched) and part.handling == "print":
            run.documents[code] = event.document
            return [Submit("print_request", code, s.applicant(), {"doc_no": str(event.document.get("doc_no", ""))},
                           bundle_id=run.bundle_id, bundle_code=run.code)]
        if isinstance(event, SubmissionAccepted):
            run.results[code] = ("accepted", event.receipt_no, "")
            return submit_next(flow, run)
        if isinstance(event, ServiceFailed):
            run.results[code] = ("failed", "", event.reason_key)
            return submit_next(flow, run)
        return []


class Printing(ScreenHandler):
    """The bundle's slips, one after the other; the first (the receipt) is what the result reports."""

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        run = run_of(flow)
        s = flow.session
        if run is None or s is None or not isinstance(event, PrintFinished) or event.job_id != s.print_job:
            return journeys.PRINTING.answered(flow, event) if run is None else []
        if not run.slip_done:
            s.printed, s.print_reason = event.printed, event.reason
            run.slip_done = True
        return print_next(flow, run)


class Result(ScreenHandler):
    """Each item's outcome: its receipt number and how far it got (asked of the gateway's outbox every
    :data:`CHECK_S` while the screen shows, until each is delivered or stopped), or why it was not
    submitted; then the rating."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target == "finish":
            return flow.go(Screen.DONE)
        return None

    def entered(self, flow: KioskFlow) -> list[Effect]:
        run = run_of(flow)
        if run is None:
            return []
        run.next_check, run.checking = 0.0, False
        return self.ticked(flow)

    def ticked(self, flow: KioskFlow) -> list[Effect]:
        run = run_of(flow)
        if run is None:
            return []
        now = flow.clock()
        if run.checking and now < run.next_check + CHECK_STUCK_S:
            return []
        pending = tuple(r for state, r, _ in run.results.values()
                        if state == "accepted" and r and run.delivery.get(r) not in FINAL)
        if not pending or now < run.next_check:
            return []
        run.checking, run.next_check = True, now + CHECK_S
        return [CheckDeliveries(pending)]

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        run = run_of(flow)
        if run is None or not isinstance(event, DeliveriesChecked):
            return []
        run.checking = False
        if all(run.delivery.get(r) == state for r, state in event.states.items()):
            return []
        run.delivery.update(event.states)
        return [Show(flow.screen)]

    def view(self, flow: KioskFlow, base: View) -> View:
        run = run_of(flow)
        return bundle_view(flow, run, base) if run is not None else base


INTRO = Intro()
REVIEW = Review()
WORKING = Working()
PRINTING = Printing()
RESULT = Result()
HANDLERS: dict[Screen, ScreenHandler] = {Screen.BUNDLE: INTRO, Screen.BUNDLE_REVIEW: REVIEW,
                                         Screen.BUNDLE_RESULT: RESULT}
