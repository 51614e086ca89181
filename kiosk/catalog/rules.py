"""Rules that span catalog entries: references, identity, and kind/output/device consistency.

Each rule adds a :class:`~kiosk.catalog.model.CatalogProblem` naming the file, the code and the field,
so ``kiosk catalog validate`` (and a kiosk refusing to start) can say exactly what to fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from kiosk.catalog.model import Bundle, CatalogProblem, Department, LocalizedText, ServiceItem, Theme

# What each kind prints at the end (DOMAIN.md, item kinds).
OUTPUTS_BY_KIND: dict[str, tuple[str, ...]] = {
    "guide": ("guide_sheet",),
    "query": ("none", "receipt"),
    "print": ("certificate_slip",),
    "apply": ("receipt",),
    "appointment": ("appointment_slip",),
    "certification": ("receipt", "none"),
}
# Card fields and the field types they can fill.
PREFILL_TYPES: dict[str, tuple[str, ...]] = {
    "id_number": ("citizen_id",),
    "birth_date": ("date",),
    "valid_to": ("date",),
    "gender": ("choice", "text"),
    "name": ("text",),
    "nation": ("text", "choice"),
    "address": ("text",),
    "issuer": ("text",),
    "pass_number": ("text",),
}
NON_BIOMETRIC = ("id_card", "social_security_card", "app_qr")
CARD_ONLY = ("id_card", "social_security_card")
"""Identity checks that prove possession of a card, not presence of a living person."""

Report = Callable[[str, str], None]  # (field, message) about the item being checked


def check_catalog(items: list[ServiceItem], departments: dict[str, Department], themes: dict[str, Theme],
                  bundles: dict[str, Bundle], item_files: dict[str, str],
                  bundle_files: dict[str, str]) -> list[CatalogProblem]:
    """Every cross-entry problem in the catalog, in file order."""
    problems: list[CatalogProblem] = []
    codes = {i.code for i in items}
    for item in items:
        file = item_files.get(item.code, "")

        def bad(field: str, message: str, item: ServiceItem = item, file: str = file) -> None:
            problems.append(CatalogProblem(file, item.code, field, message))

        _check_references(item, codes, themes, bad)
        _check_identity(item, bad)
        _check_flow(item, bad)
        _check_fields(item, bad)
    _check_follow_up_cycles(items, item_files, problems)
    _check_unique(items, item_files, problems)
    _check_exempt(items, bundles, item_files, problems)
    for bundle in bundles.values():
        file = bundle_files.get(bundle.code, "")
        where = f"bundle {bundle.code}"
        for code in bundle.items:
            if code not in codes:
                problems.append(CatalogProblem(file, where, "items", f"names a missing item {code!r}"))
        for code, n in Counter(bundle.items).items():
            if n > 1:
                problems.append(CatalogProblem(file, where, "items", f"lists {code!r} twice"))
        if bundle.lead_department not in departments:
            problems.append(CatalogProblem(file, where, "lead_department",
                                           f"unknown department {bundle.lead_department!r}"))
        for theme in bundle.themes:
            if theme not in themes:
                problems.append(CatalogProblem(file, where, "themes", f"unknown theme {theme!r}"))
    return problems


def _check_references(item: ServiceItem, codes: set[str], themes: dict[str, Theme], bad: Report) -> None:
    if not item.code.startswith(item.department_code + "-"):
        bad("code", f"must start with the department code {item.department_code + '-'!r}")
    for theme in item.themes:
        if theme not in themes:
            bad("themes", f"unknown theme {theme!r} (not in themes.toml)")
    for code in item.follow_ups:
        if code == item.code:
            bad("follow_ups", "an item cannot trigger itself")
        elif code not in codes:
            bad("follow_ups", f"names a missing item {code!r}")


def _check_exempt(items: list[ServiceItem], bundles: dict[str, Bundle], item_files: dict[str, str],
                  problems: list[CatalogProblem]) -> None:
    """免申即办 items: an apply item that another item triggers (``follow_ups``), never applied for in a bundle."""
    triggered = {code for i in items for code in i.follow_ups}
    bundled = {code for b in bundles.values() for code in b.items}
    for item in items:
        if not item.exempt_from_application:
            continue
        file = item_files.get(item.code, "")
        if item.kind != "apply":
            problems.append(CatalogProblem(file, item.code, "exempt_from_application",
                                           f"only an apply item is granted without applying, not a {item.kind} item"))
        if item.code not in triggered:
            problems.append(CatalogProblem(file, item.code, "exempt_from_application",
                                           "no item names it in follow_ups: nothing would trigger it"))
        if item.code in bundled:
            problems.append(CatalogProblem(file, item.code, "exempt_from_application",
                                           "a bundle lists it as an application; it is granted without one"))


def _check_identity(item: ServiceItem, bad: Report) -> None:
    accepted = item.accepted_identity()
    if len(set(accepted)) != len(accepted):
        bad("identity_alternatives", "repeats an identity check")
    if item.uses_face() and not any(a in NON_BIOMETRIC for a in accepted):
        # 人脸识别技术应用安全管理办法 (2025): face may not be the only way where another exists.
        bad("identity_alternatives", "uses face verification but offers no non-biometric alternative "
            "(add social_security_card, app_qr or id_card)")
    if item.identity == "none" and item.kind not in ("guide", "query"):
        bad("identity", f"a {item.kind} item acts on a person's records and needs an identity check")
    if item.identity == "none" and item.identity_alternatives:
        bad("identity_alternatives", "alternatives make no sense when no identity is asked for")
    if item.kind == "certification" and not item.uses_face():
        bad("identity", "a certification item verifies a living person: it needs id_card_face")
    if item.kind == "certification" and any(a in CARD_ONLY for a in accepted):
        # A proof-of-life check: a card proves who holds it, not that the person is alive. The app's own
        # live check (app_qr) or staff at the station are the non-biometric ways.
        bad("identity_alternatives", "a certification item is a proof-of-life check: a card alone "
            "(id_card, social_security_card) would defeat it; accept app_qr (or staff help) instead")


def _check_flow(item: ServiceItem, bad: Report) -> None:
    allowed = OUTPUTS_BY_KIND[item.kind]
    if item.output not in allowed:
        bad("output", f"a {item.kind} item outputs {' or '.join(allowed)}, not {item.output!r}")
    if item.output != "none" and "printer" not in item.devices:
        bad("devices", f"output {item.output!r} is printed: add 'printer'")
    if item.uses_face() != ("camera" in item.devices):
        bad("devices", "face verification needs 'camera'" if item.uses_face()
            else "'camera' is listed but the item uses no face verification")
    scanned = any(not m.e_license for m in item.materials)
    if scanned != ("document_camera" in item.devices):
        bad("devices", "paper materials are captured with 'document_camera'" if scanned
            else "'document_camera' is listed but there is no paper material to capture")
    if item.instant != (item.promised_days == 0):
        bad("promised_days", "an instant (即办) item is promised in 0 days; a back-office item in 1 or more")
    if item.legal_days is not None and item.promised_days > item.legal_days:
        bad("promised_days", f"promised {item.promised_days} days exceeds the legal limit {item.legal_days}")
    if item.kind != "apply" and not item.instant:
        bad("instant", f"only apply items go to the back office; a {item.kind} item is instant")
    if item.fee_yuan > 0 and item.fee_note is None:
        bad("fee_note", "a fee needs its basis (收费依据) in fee_note")
    if item.fee_yuan > 0 and item.payment != "catalog_amount":
        bad("payment", "a fee is paid at the terminal: set payment = \"catalog_amount\" (no payment route)")
    if item.payment == "catalog_amount" and item.fee_yuan <= 0:
        bad("payment", "payment by the catalog's amount needs fee_yuan above 0")
    if item.payment == "platform_amount" and item.fee_yuan > 0:
        bad("fee_yuan", "the platform sets this item's amount (payment = \"platform_amount\"): no fee_yuan")
    if item.payment != "none" and item.kind != "apply":
        bad("payment", f"only apply items are paid at the terminal, not a {item.kind} item")
    if item.kind == "apply" and not item.fields:
        bad("fields", "an apply item needs a form (at least a mobile number for notices)")
    if item.kind in ("guide", "certification") and item.fields:
        bad("fields", f"a {item.kind} item has no form")
    if item.materials and item.kind not in ("apply", "appointment"):
        bad("materials", f"a {item.kind} item takes no materials")


def _check_fields(item: ServiceItem, bad: Report) -> None:
    for key, n in Counter(f.key for f in item.fields).items():
        if n > 1:
            bad(f"fields.{key}", "the form has two fields with this key")
    for f in item.fields:
        if f.prefill is not None and f.type not in PREFILL_TYPES[f.prefill]:
            bad(f"fields.{f.key}.prefill", f"card field {f.prefill!r} cannot fill a {f.type!r} field")


def _check_follow_up_cycles(items: list[ServiceItem], item_files: dict[str, str],
                            problems: list[CatalogProblem]) -> None:
    graph = {i.code: i.follow_ups for i in items}
    for start, follow_ups in graph.items():
        seen: set[str] = set()
        stack = list(follow_ups)
        while stack:
            code = stack.pop()
            if code == start:
                problems.append(CatalogProblem(item_files.get(start, ""), start, "follow_ups",
                                               "follow-ups loop back to this item"))
                break
            if code in seen:
                continue
            seen.add(code)
            stack += graph.get(code, ())


def _check_unique(items: list[ServiceItem], item_files: dict[str, str],
                  problems: list[CatalogProblem]) -> None:
    names: dict[str, str] = {}
    for item in items:
        other = names.setdefault(item.name.zh_CN, item.code)
        if other != item.code:
            problems.append(CatalogProblem(item_files.get(item.code, ""), item.code, "name.zh_CN",
                                           f"same name as {other}: residents could not tell them apart"))
    positions: dict[int, str] = {}
    for item in items:
        if item.featured is None:
            continue
        other = positions.setdefault(item.featured, item.code)
        if other != item.code:
            problems.append(CatalogProblem(item_files.get(item.code, ""), item.code, "featured",
                                           f"position {item.featured} is also taken by {other}"))


def check_guides(items: list[ServiceItem], departments: dict[str, Department], guide_files: dict[str, str],
                 folder: str, declared: set[str] | None = None) -> list[CatalogProblem]:
    """Every item has a whole guide (issue 20: a guide worth printing), every department an office, and no
    guide names an unknown item. ``guide_files`` maps each guide's item code to its file; ``folder`` is
    where a missing guide file belongs; ``declared`` are the codes of every item entry, valid or not (an
    item refused for another reason has its problem said once)."""
    problems: list[CatalogProblem] = []
    codes = {i.code for i in items} | (declared or set())
    for code, file in guide_files.items():
        if code not in codes:
            problems.append(CatalogProblem(file, code, "", "a guide for an unknown item"))
        if not file.replace("\\", "/").endswith(f"/{code.split('-')[0]}.toml"):
            problems.append(CatalogProblem(file, code, "", f"belongs in {code.split('-')[0]}.toml, "
                                           "its department's guide file"))
    for department in departments.values():
        if department.office is None:
            problems.append(CatalogProblem(f"{folder}/{department.code}.toml", "office", "",
                                           f"no [office] for department {department.code!r}: where and when "
                                           "residents go (centre, address, hours, phone, legal_basis)"))
    for item in items:
        file = guide_files.get(item.code, f"{folder}/{item.department_code}.toml")
        guide = item.guide
        if guide is None:
            problems.append(CatalogProblem(file, item.code, "guide", f"no guide: add [items.{item.code}] with "
                                           "description and conditions"))
            continue
        texts: dict[str, LocalizedText | None] = {"description": guide.description, "conditions": guide.conditions,
                                                  "where": guide.where, "hours": guide.hours,
                                                  "legal_basis": guide.legal_basis}
        for name, text in texts.items():
            written = (("zh_CN", text.zh_CN), ("zh_TW", text.tw or "x"), ("en", text.en)) if text else ()
            for language, value in written:  # as written: deriving 繁體 here would load OpenCC
                if not value.strip():
                    problems.append(CatalogProblem(file, item.code, f"{name}.{language}", "empty"))
        if guide.description.zh_CN.strip() == item.name.zh_CN:
            problems.append(CatalogProblem(file, item.code, "description.zh_CN",
                                           "only repeats the item's name: say what it is and who it is for"))
        if (guide.hours is None) != (guide.where is None):
            problems.append(CatalogProblem(file, item.code, "hours" if guide.where else "where",
                                           "a place of its own (where) needs its hours, and hours need where "
                                           "(else the department's office and hours apply)"))
        if item.kind == "guide" and not guide.materials:
            problems.append(CatalogProblem(file, item.code, "materials", "a guide item lists what to bring "
                                           "to the window"))
        if item.kind != "guide" and guide.materials:
            problems.append(CatalogProblem(file, item.code, "materials", "only a guide item lists window "
                                           "materials in its guide; this item's are in the item itself"))
        for other in guide.differs_from:
            if other.item == item.code or other.item not in codes:
                problems.append(CatalogProblem(file, item.code, "differs_from",
                                               f"names {'itself' if other.item == item.code else 'a missing item'} "
                                               f"{other.item!r}"))
    return problems
