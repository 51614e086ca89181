"""The vocabulary of 免申即办 and 数据互认: what the flow asks the platform (through the gateway) and
what comes back. Kept apart from ``model.py`` (which only lists them in its unions) and from the
transitions (``exempt.py``), so the effect runner imports the small types without the flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ExemptWork:
    """Base of the effects ``kiosk/terminal/exempt_calls.py`` carries out (always answered with an event)."""


@dataclass(frozen=True)
class AskBenefits(ExemptWork):
    """Which benefits the platform granted (or will grant) this resident without an application.
    ``purpose``: ``notice`` (after the card was read: say nothing if it fails) or ``status`` (the resident
    asked, on an exempt item's detail)."""

    applicant: dict[str, str]
    purpose: str = "notice"
    ask_id: str = ""
    """Echoed in the answer: an answer for a card since replaced is dropped."""

    def __repr__(self) -> str:  # never an ID number in a log or traceback
        return f"AskBenefits(purpose={self.purpose!r})"


@dataclass(frozen=True)
class FetchLicences(ExemptWork):
    """数据互认: the item's e-licence materials (by index and 简体 name) from the platform's e-licence library."""

    item_code: str
    applicant: dict[str, str]
    materials: tuple[tuple[int, str], ...]

    def __repr__(self) -> str:
        return f"FetchLicences(item_code={self.item_code!r}, materials={len(self.materials)})"


@dataclass(frozen=True)
class BenefitsAnswered:
    """The platform's answer to :class:`AskBenefits`: one dict per benefit (``item_code``, ``title``,
    ``status`` granted/due, ``granted_on``/``due_on``, ``amount``, ``period``, ``decision_no``);
    ``failed``: the platform could not be asked (nothing to show, nothing blocks)."""

    benefits: tuple[dict[str, Any], ...] = ()
    purpose: str = "notice"
    failed: bool = False
    ask_id: str = ""

    def __repr__(self) -> str:
        return f"BenefitsAnswered(benefits={len(self.benefits)}, purpose={self.purpose!r}, failed={self.failed})"


@dataclass(frozen=True)
class LicencesFetched:
    """The e-licences the platform holds for :class:`FetchLicences`: material index → licence reference
    (only the reference, never a copy of the document); ``failed``: the library could not be asked."""

    item_code: str
    found: dict[int, str] = field(default_factory=dict)
    failed: bool = False
