"""Typed models of the service catalog (``config/catalog/*.toml``).

One :class:`ServiceItem` per self-service item (事项), grouped by :class:`Department`; shared
:class:`FormField` definitions; :class:`Theme` (life events, for browsing) and :class:`Bundle`
(高效办成一件事: several items run as one). The models check each entry on its own; rules that
span entries (references, face alternatives, kind/output/device consistency) are in
``kiosk/catalog/rules.py``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kiosk import validators

Language = Literal["zh_CN", "zh_TW", "en"]
LANGUAGES: tuple[str, ...] = ("zh_CN", "zh_TW", "en")

Kind = Literal["guide", "query", "print", "apply", "appointment", "certification"]
KINDS: tuple[str, ...] = ("guide", "query", "print", "apply", "appointment", "certification")

IdentityLevel = Literal["none", "id_card", "id_card_face", "social_security_card", "app_qr"]
IDENTITY_LEVELS: tuple[str, ...] = ("none", "id_card", "id_card_face", "social_security_card", "app_qr")
# Levels that compare a live face with the card photo (人证比对). Everything else is non-biometric
# on the terminal: the 闽政通 / i厦门 QR code is issued to an already verified account.
FACE_LEVELS: frozenset[str] = frozenset({"id_card_face"})

FieldType = Literal["text", "citizen_id", "social_credit_code", "mobile", "date", "choice",
                    "amount", "integer", "bank_account"]
# Fields of the resident ID card (devices/id_card/identity.py, IdentityCard) a form may pre-fill.
CardField = Literal["name", "gender", "nation", "birth_date", "address", "id_number", "issuer",
                    "valid_to", "pass_number"]
Output = Literal["none", "receipt", "certificate_slip", "appointment_slip", "guide_sheet"]
Device = Literal["printer", "camera", "document_camera"]
PaymentRoute = Literal["none", "catalog_amount", "platform_amount"]
"""How an item's fee is paid at the terminal (unified public payment platform, 统一公共支付平台)."""

CODE_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$"


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong in the catalog, located by file, item (or bundle/theme/field) code and field."""

    file: str
    code: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.code, self.field) if p)
        return f"{where}: {self.message}"


class _Model(BaseModel):
    # Field docstrings are for readers only: use_attribute_docstrings would re-parse this file's source
    # at import (~0.14 s, and it wakes pygame's lazy surfarray → numpy) on the way to the first touch (P1).
    model_config = ConfigDict(extra="forbid", frozen=True)


# Taiwan wording on top of OpenCC's s2tw (Taiwan character standard). s2twp would add Taiwan phrases
# too, but its phrase table is computing vocabulary and rewrites government terms wrongly (註銷→登出,
# 對象→物件, 窗口→視窗, 類型→型別, 審核→稽核, 項目→專案), so only these few are replaced, by hand.
TAIWAN_PHRASES = (("打印", "列印"), ("信息", "資訊"), ("身份", "身分"), ("賬", "帳"), ("軟件", "軟體"),
                  ("網絡", "網路"), ("視頻", "影片"), ("攝像頭", "攝影機"), ("屏幕", "螢幕"))


# The catalog's 繁體 texts converted once (kiosk/catalog/traditional.py: a cache file), so OpenCC's s2tw
# tables (≈ 45 MB) stay out of the app; while it is being loaded, ``_table_ready`` is an unset event.
_table: dict[str, str] = {}
_table_ready: threading.Event | None = None
TABLE_WAIT_S = 10.0


def use_traditional_table(table: dict[str, str] | None, ready: threading.Event | None) -> None:
    """Install the prebuilt table (``None`` while it is loading: texts asked for meanwhile wait on ``ready``)."""
    global _table, _table_ready
    if table is not None:
        _table = table
    _table_ready = ready


def to_traditional(text: str) -> str:
    """繁體 (Taiwan) for a 简体 text: from the prebuilt table when it has it, else :func:`convert_traditional`."""
    known = _table.get(text)
    if known is not None:
        return known
    ready = _table_ready
    if ready is not None and not ready.is_set() and ready.wait(TABLE_WAIT_S):
        known = _table.get(text)
        if known is not None:
            return known
    return convert_traditional(text)


@functools.lru_cache(maxsize=4096)
def convert_traditional(text: str) -> str:
    """OpenCC's s2tw conversion, then :data:`TAIWAN_PHRASES`."""
    out = str(_s2t().convert(text))
    for mainland, taiwan in TAIWAN_PHRASES:
        out = out.replace(mainland, taiwan)
    return out


@functools.cache
def _s2t() -> Any:
    # Built on first use: reading OpenCC's tables takes ~0.1 s, which a kiosk that never shows
    # 繁體 should not pay at start-up.
    import opencc  # lazy: see above

    return opencc.OpenCC("s2tw")


class LocalizedText(_Model):
    """A text in every supported language. ``zh_TW`` may be left out of the data files: it is then
    derived from ``zh_CN`` with OpenCC (s2t) when first asked for; a value in the file wins."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    zh_CN: str = Field(min_length=1)
    tw: str | None = Field(default=None, alias="zh_TW", min_length=1)
    """繁體 as written in the data file, if it was (an override of the derived text)."""
    en: str = Field(min_length=1)

    @property
    def zh_TW(self) -> str:  # named after the language tag like the other fields
        """繁體: the file's text, else derived from 简体."""
        return self.tw or to_traditional(self.zh_CN)

    def get(self, language: str) -> str:
        """The text in ``language``; 简体 for a language the catalog does not have."""
        if language == "zh_TW":
            return self.zh_TW
        return self.en if language == "en" else self.zh_CN

    def as_dict(self) -> dict[str, str]:
        """All three languages, 繁體 derived where the file left it out."""
        return {"zh_CN": self.zh_CN, "zh_TW": self.zh_TW, "en": self.en}


class Choice(_Model):
    """One option of a ``choice`` field."""

    value: str = Field(min_length=1)
    """What is submitted to the platform."""
    label: LocalizedText
    """What the resident sees."""


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BANK_RE = re.compile(r"^\d{12,19}$")


class FormField(_Model):
    """One declarative form field of an apply item."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Name of the value in the submitted form."""
    type: FieldType
    """How the value is typed and checked (citizen_id is GB 11643, social_credit_code GB 32100)."""
    label: LocalizedText
    """What the screen shows next to the input."""
    required: bool = True
    """Whether the form can be submitted without it."""
    prefill: CardField | None = None
    """The ID card field that fills it in (数据互认: never typed again); None = typed or chosen."""
    choices: tuple[Choice, ...] = ()
    """Options of a ``choice`` field."""
    max_length: int = Field(default=60, ge=1, le=500)
    """Longest accepted text."""
    min_value: Decimal | None = None
    """Smallest accepted amount or integer."""
    max_value: Decimal | None = None
    """Largest accepted amount or integer."""
    past_only: bool = False
    """A date that cannot be in the future (birth, contract start)."""

    @model_validator(mode="after")
    def _choices_fit_type(self) -> FormField:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs at least one entry in choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"choices are only for type 'choice', not {self.type!r}")
        return self

    def check(self, value: str, *, today: _dt.date | None = None) -> str | None:
        """None if ``value`` is acceptable, else a short problem code for the screen's message
        table: required, too_long, citizen_id, social_credit_code, mobile, date, future_date,
        choice, number, too_small, too_large, bank_account."""
        v = (value or "").strip()
        if not v:
            return "required" if self.required else None
        if len(v) > self.max_length:
            return "too_long"
        match self.type:
            case "citizen_id":
                return None if validators.citizen_id_valid(v, today=today) else "citizen_id"
            case "social_credit_code":
                return None if validators.social_credit_code_valid(v) else "social_credit_code"
            case "mobile":
                return None if validators.mobile_valid(v) else "mobile"
            case "bank_account":
                return None if _BANK_RE.match(v) else "bank_account"
            case "choice":
                return None if any(c.value == v for c in self.choices) else "choice"
            case "date":
                if not _DATE_RE.match(v):
                    return "date"
                try:
                    day = _dt.date.fromisoformat(v)
                except ValueError:
                    return "date"
                return "future_date" if self.past_only and day > (today or _dt.date.today()) else None
            case "amount" | "integer":
                return self._check_number(v)
        return None

    def _check_number(self, v: str) -> str | None:
        pattern = r"^\d+$" if self.type == "integer" else r"^\d+(\.\d{1,2})?$"
        if not re.match(pattern, v):
            return "number"
        number = Decimal(v)
        if self.min_value is not None and number < self.min_value:
            return "too_small"
        if self.max_value is not None and number > self.max_value:
            return "too_large"
        return None


class Material(_Model):
    """A document the resident hands in (申请材料)."""

    name: LocalizedText
    pages: int = Field(default=1, ge=1, le=50)
    """Pages to capture per copy."""
    optional: bool = False
    """Needed only in some cases (the guide says which)."""
    e_license: bool = False
    """Fetched from the e-licence library (电子证照) instead of being scanned: nothing to capture."""
    originals: int = Field(default=1, ge=0, le=10)
    """Originals to show (原件, checked and handed back); 0 = a copy is enough."""
    copies: int = Field(default=0, ge=0, le=10)
    """Copies to hand in (复印件)."""

    @model_validator(mode="after")
    def _something_to_bring(self) -> Material:
        if self.originals + self.copies == 0:
            raise ValueError("a material needs at least one original or one copy")
        return self


class Office(_Model):
    """Where a department serves residents in person (the guide's 办理地点和时间); one per department,
    in its guide file (``config/catalog/guides/<dept>.toml``)."""

    centre: LocalizedText
    """The service hall or window (市民中心 … 窗口)."""
    address: LocalizedText
    hours: LocalizedText
    """Opening hours, as residents read them (工作日 9:00–12:00, 13:00–17:00)."""
    phone: str | None = Field(default=None, pattern=r"^[0-9-]{5,20}$")
    """The department's own enquiry line (12333, 12393 …); None = the 12345 hotline answers for it."""
    legal_basis: LocalizedText
    """The law or regulation the department's items rest on (its governing regulation); an item may name
    its own."""


class Difference(_Model):
    """How an item differs from one residents confuse it with (the guide's 易混事项)."""

    item: str = Field(pattern=CODE_PATTERN)
    """The other item's code."""
    note: LocalizedText
    """What this one is for, and when to choose the other instead."""


class Guide(_Model):
    """An item's 办事指南: what the catalog's own data (kind, identity, materials, fees, time limits) does not
    say. Kept per department in ``config/catalog/guides/<dept>.toml`` keyed by item code and attached to the
    item when the catalog loads; the guide's other sections are derived (kiosk/catalog/guide.py)."""

    description: LocalizedText
    """What the item is and who it is for, in one or two plain sentences."""
    conditions: LocalizedText
    """Who may apply, and when (申请条件)."""
    materials: tuple[Material, ...] = ()
    """What to bring to the window (a guide item, whose application is made there); an item done here
    lists its materials in the item itself."""
    where: LocalizedText | None = None
    """Where the item is handled in person, when not the department's office (e.g. a police station)."""
    hours: LocalizedText | None = None
    """That place's opening hours (with ``where``; without it the department's office hours apply)."""
    legal_basis: LocalizedText | None = None
    """The item's own legal basis, when it is not the department's governing regulation."""
    differs_from: tuple[Difference, ...] = ()
    """Items residents confuse with this one, and how they differ."""


class Department(_Model):
    """A department whose items the terminal offers; one data file each."""

    code: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    """Prefix of its item codes (``rs`` → ``rs-sbjfzm``)."""
    name: LocalizedText
    """Short name as shown on buttons (人社)."""
    full_name: LocalizedText
    """The authority's full name (厦门市人力资源和社会保障局)."""
    office: Office | None = None
    """Where and when it serves in person (from its guide file; None in a catalog without guides)."""


class ServiceItem(_Model):
    """One self-service item (事项)."""

    code: str = Field(pattern=CODE_PATTERN)
    """Stable item code shared with the platform: the department code, a dash, a short tag."""
    department: str
    """Owning department's short 简体 name, e.g. 人社, 医保, 公积金, 公安 (filled from the file)."""
    department_code: str
    """Owning department's code (filled from the file)."""
    kind: Kind
    """How the item flows on a terminal (DOMAIN.md, item kinds)."""
    name: LocalizedText
    """Display name in every supported language."""
    aliases: tuple[str, ...] = ()
    """Other names residents use (社保证明); searched like the name."""
    keywords: tuple[str, ...] = ()
    """Search words that are not names (退休, 异地)."""
    themes: tuple[str, ...] = ()
    """Life-event themes (codes in themes.toml) the item is listed under."""
    identity: IdentityLevel
    """The identity check the item asks for by default."""
    identity_alternatives: tuple[IdentityLevel, ...] = ()
    """Other accepted checks; a face item must list a non-biometric one."""
    fields: tuple[FormField, ...] = ()
    """The form of an apply / appointment item, in screen order."""
    materials: tuple[Material, ...] = ()
    """Documents to hand in."""
    legal_days: int | None = Field(default=None, ge=0, le=365)
    """Legal time limit in working days (法定时限); None where no law sets one."""
    promised_days: int = Field(default=0, ge=0, le=365)
    """Promised time limit in working days (承诺时限); 0 = done at the terminal."""
    instant: bool = True
    """即办: finished at the terminal; False = accepted here, approved in the back office."""
    fee_yuan: Decimal = Field(default=Decimal(0), ge=0)
    """Fee in yuan; 0 for free items (most are)."""
    renews_identity_document: bool = False
    """The item renews the identity document itself (居民身份证到期换领): an expired one is what it is for,
    so it is accepted where other apply items refuse it."""
    fee_note: LocalizedText | None = None
    """What the fee is based on (收费依据), when there is one."""
    payment: PaymentRoute = "none"
    """How the fee is paid at the terminal: ``catalog_amount`` (the fixed ``fee_yuan``, through the unified
    public payment platform), ``platform_amount`` (the platform says how much: fines, contributions), or
    ``none`` (nothing to pay)."""
    output: Output
    """What the terminal prints at the end."""
    devices: tuple[Device, ...] = ()
    """Devices the item needs besides the card readers."""
    follow_ups: tuple[str, ...] = ()
    """Items triggered without a new application when this one is done (免申即办)."""
    exempt_from_application: bool = False
    """免申即办: granted without applying, once the item that names it in ``follow_ups`` is done (or on the
    platform's own data); the terminal offers no application for it, only its status and decision."""
    popularity: int = Field(default=10, ge=0, le=100)
    """Relative use, 0..100; breaks ties in search ranking."""
    featured: int | None = Field(default=None, ge=1, le=99)
    """Position on the home screen (1 first); None = reached through search and themes."""
    summary: LocalizedText | None = None
    """One sentence for the guide screen: who may apply and what they get."""
    booking_lead_minutes: int = Field(default=60, ge=0, le=60 * 24 * 30)
    """An appointment item: how long before a slot starts it can still be booked here."""
    guide: Guide | None = None
    """Its 办事指南 (from ``config/catalog/guides/``; a catalog with guides needs one for every item)."""

    def uses_face(self) -> bool:
        """True if any accepted identity check compares a live face."""
        return self.identity in FACE_LEVELS or any(a in FACE_LEVELS for a in self.identity_alternatives)

    def accepted_identity(self) -> tuple[str, ...]:
        """Every accepted identity check, the default first."""
        return (self.identity, *self.identity_alternatives)


class Theme(_Model):
    """A life-event theme for browsing (生育, 就业, 养老 …)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: LocalizedText


class Bundle(_Model):
    """高效办成一件事: a life event whose items run as one application."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: LocalizedText
    summary: LocalizedText
    """What the resident gets, in one sentence."""
    lead_department: str
    """Department code that accepts the bundle and hands the rest on (前台综合受理)."""
    items: tuple[str, ...] = Field(min_length=2)
    """Item codes, in the order they run."""
    themes: tuple[str, ...] = ()
