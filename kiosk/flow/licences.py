"""数据互认: which of an item's materials came from the platform's e-licence library, and how a
submission records them. Pure (no I/O); the fetching is in ``exempt.py``, the platform call in
``kiosk/terminal/exempt_calls.py``.

A material marked ``e_license`` in the catalog is asked for at the library when the materials screen
opens. What the library holds is recorded by its licence reference only (never a copy of the document);
what it does not hold, or everything when it cannot be asked, is scanned like any other material.
"""

from __future__ import annotations

from typing import Any

from kiosk.catalog.model import ServiceItem
from kiosk.flow.model import Session

FORM_KEY = "e_licences"
"""Where a submission's form lists the materials taken from the e-licence library: ``[{material, licence_ref}]``."""
FETCHING, FETCHED, SCAN = "fetching", "fetched", "scan"
"""What the materials screen says of an e-licence material: being fetched, fetched, or to be scanned."""


def licence_materials(item: ServiceItem) -> tuple[tuple[int, str], ...]:
    """The item's e-licence materials: index and 简体 name (what the library is asked for)."""
    return tuple((i, m.name.zh_CN) for i, m in enumerate(item.materials) if m.e_license)


def record(s: Session) -> dict[str, Any]:
    """The session's e-licence lookup for its item: ``{item, holder, state, found}`` ({} before any)."""
    got = s.extra.get("licences")
    return got if isinstance(got, dict) else {}


def found(s: Session, item: ServiceItem) -> dict[int, str]:
    """Material index → licence reference, for the materials of ``item`` the library gave."""
    rec = record(s)
    if rec.get("item") != item.code:
        return {}
    return {i: ref for i, ref in rec.get("found", {}).items() if i < len(item.materials) and item.materials[i].e_license}


def states(s: Session, item: ServiceItem) -> dict[int, str]:
    """Each e-licence material's state on the materials screen (:data:`FETCHING`, :data:`FETCHED`, :data:`SCAN`)."""
    rec = record(s)
    got = found(s, item)
    fetching = rec.get("item") == item.code and rec.get("state") == FETCHING
    return {i: FETCHED if i in got else FETCHING if fetching else SCAN for i, _ in licence_materials(item)}


def submitted_form(s: Session) -> dict[str, Any]:
    """The form as submitted: what the resident entered, plus the e-licence references (if any)."""
    form: dict[str, Any] = dict(s.form)
    if s.item is not None:
        refs = [{"material": s.item.materials[i].name.zh_CN, "licence_ref": ref}
                for i, ref in sorted(found(s, s.item).items())]
        if refs:
            form[FORM_KEY] = refs
    return form
