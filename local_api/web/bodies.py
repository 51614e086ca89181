"""Request bodies of the gateway's API, as pydantic models (``docs/gateway-openapi.yaml``), and
:func:`parse`, which reads a request's body as one.

Every model forbids unknown fields, so a misspelt field is named in the 400 answer instead of
being silently dropped. Validators never echo a value back: error bodies can end up in logs.

Text (issue 17): :func:`parse` reads the body strictly (:mod:`local_api.web.jsonio`: depth and size
limits, no NaN or Infinity), then every string in it — keys too, in any model, free-form ``form`` and
device ``detail`` included — is normalised to NFC and refused, naming the field, when it holds a control
character other than a line break or tab, a bidi override or isolate (U+202A–U+202E, U+2066–U+2069: they
make text read differently from what it is) or an unpaired surrogate. The field types here add what a
field needs beyond that: :data:`Text` is one line, :data:`Name` one line and not blank, :data:`FreeText`
may have line breaks (comments, details).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask import request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kiosk.validators import citizen_id_valid, mobile_valid
from local_api.ops.fleet import DeviceStateName
from local_api.web.errors import BadRequest
from local_api.web.jsonio import JSONRefused, read_json

ITEM_CODE_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
RECEIPT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
MAX_FACE_B64_CHARS = 2_800_000  # 2 MiB of JPEG once decoded
MAX_MATERIALS = 10
KIB = 1024
DEFAULT_MAX_JSON_BYTES = 64 * KIB
"""Largest JSON body a model takes unless it says otherwise (``max_json_bytes``)."""
# A session's item kind (kiosk/catalog/model.py KINDS, plus "none": ended before an item was
# chosen) and how it ended; closed lists because they become Prometheus labels.
SESSION_ITEM_KINDS = ("guide", "query", "print", "apply", "appointment", "certification", "none")
SESSION_OUTCOMES = ("completed", "failed", "abandoned", "timeout")

_M = TypeVar("_M", bound=BaseModel)

# -- text --------------------------------------------------------------------------------------

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Refused in every string: C0 controls but tab and line breaks, DEL and C1, bidi overrides and isolates,
# unpaired surrogates (JSON's "\ud800" escapes; not Unicode text).
_REFUSED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\t\n\r]")
_BLANK_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf"}  # spaces (U+3000 too), controls, invisible formatting


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why ``value`` is not acceptable text, in plain words naming the character's code point; None if it is."""
    found = _REFUSED.search(value) or (None if multiline else _LINE_BREAKS.search(value))
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return (f"contains a right-to-left override or isolate character ({code}), which makes text read "
                "differently from what it is; remove it")
    if "\ud800" <= char <= "\udfff":
        return f"contains an unpaired surrogate ({code}): not valid Unicode text"
    if char in "\t\n\r":
        return f"contains a control character ({code}, a line break or tab) but is a one-line field"
    return f"contains a control character ({code}); only printable text is accepted"


def clean_json(value: Any, where: str = "body") -> Any:
    """``value`` with every string (and key) in NFC; :class:`BadRequest` naming the field of the first
    string :func:`text_problem` refuses (line breaks and tabs are left to the field types)."""
    if isinstance(value, str):
        if value.isascii() and value.isprintable():  # the fast path for base64 pages: nothing to change or refuse
            return value
        text = value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)
        problem = text_problem(text, multiline=True)
        if problem:
            raise BadRequest(where, problem)
        return text
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            if key.isascii() and key.isprintable():  # one line of printable ASCII: nothing to change or refuse
                name = key
            else:
                name = unicodedata.normalize("NFC", key)
                problem = text_problem(name, multiline=False)
                if problem:
                    raise BadRequest(where, f"a key {problem}")
            cleaned[name] = clean_json(item, name if where == "body" else f"{where}.{name}")
        return cleaned
    if isinstance(value, list):
        return [clean_json(item, f"{where}.{i}") for i, item in enumerate(value)]
    return value


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _one_line(value: str) -> str:
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValueError(problem)
    return value


def _free_text(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


def _not_blank(value: str) -> str:
    if value and all(unicodedata.category(c) in _BLANK_CATEGORIES for c in value):
        raise ValueError("is blank (only spaces or invisible characters); write the name out")
    return value


Text = Annotated[str, BeforeValidator(_nfc), AfterValidator(_one_line)]
"""One line of text: NFC, no control or bidi-override characters."""
Name = Annotated[str, BeforeValidator(_nfc), AfterValidator(_one_line), AfterValidator(_not_blank)]
"""A name or label: :data:`Text` that is not blank (an empty optional label stays allowed)."""
FreeText = Annotated[str, BeforeValidator(_nfc), AfterValidator(_free_text)]
"""A comment or detail: like :data:`Text`, but line breaks and tabs are kept."""


def _too_large(limit: int) -> BadRequest:
    return BadRequest("body", f"the JSON body is larger than {limit // KIB} KiB, the most this request takes",
                      status=413, code="payload_too_large")


def parse(model: type[_M]) -> _M:
    """The request's JSON body as ``model``, or :class:`BadRequest` naming the first bad field or the limit.

    The body is read strictly (:func:`local_api.web.jsonio.read_json`: nested at most 32 deep, no NaN or
    Infinity), at most ``model.max_json_bytes`` long (default :data:`DEFAULT_MAX_JSON_BYTES`; None: only the
    app's own limit), and its strings cleaned by :func:`clean_json`.
    """
    limit: int | None = getattr(model, "max_json_bytes", DEFAULT_MAX_JSON_BYTES)
    if limit is not None and (request.content_length or 0) > limit:
        raise _too_large(limit)
    return parse_raw(model, request.get_data(cache=True))


def parse_raw(model: type[_M], raw: bytes) -> _M:
    """:func:`parse` of a body already read (Flask-free: the event-loop submission door uses it too)."""
    limit: int | None = getattr(model, "max_json_bytes", DEFAULT_MAX_JSON_BYTES)
    if limit is not None and len(raw) > limit:
        raise _too_large(limit)
    try:
        data = read_json(raw)
    except JSONRefused as exc:
        raise BadRequest("body", str(exc)) from None
    if not isinstance(data, dict):
        raise BadRequest("body", "the body must be a JSON object (Content-Type: application/json)")
    data = clean_json(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required field is missing"
        elif first["type"] == "extra_forbidden":
            message = "unknown field"
        raise BadRequest(where, message) from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def ItemCode() -> Any:  # capitalised: reads like a type in the models
    """A catalog item code field."""
    return Field(min_length=1, max_length=64, pattern=ITEM_CODE_PATTERN)


class Applicant(BaseModel):
    """Who the submission is for; extra card fields (address, gender, phone) are kept as given."""

    model_config = ConfigDict(extra="allow")
    name: Name = Field(min_length=1, max_length=64)
    id_type: Literal["resident_id", "hk_macao_permit", "taiwan_permit", "foreign_permanent", "passport"] = \
        "resident_id"
    id_number: Text = Field(min_length=1, max_length=32)

    @field_validator("id_number")
    @classmethod
    def _check_id(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("id_type", "resident_id") == "resident_id" and not citizen_id_valid(value):
            raise ValueError("not a valid resident ID number (GB 11643 check character)")
        return value

    def identity(self) -> dict[str, str]:
        """Only what identifies the person: all a query or print needs to send (PIPL minimum)."""
        return {"name": self.name, "id_type": self.id_type, "id_number": self.id_number}


def _phone(value: str | None) -> str | None:
    if value is not None and not mobile_valid(value):
        raise ValueError("not a mobile number (11 digits starting with 1)")
    return value


class MaterialBody(_Body):
    """One material: a document-camera image or scan, base64 in ``data``."""

    name: Name = Field(min_length=1, max_length=64)
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    data: str = Field(min_length=4)

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64") from None
        return value

    def decoded(self) -> bytes:
        """The material's bytes."""
        return base64.b64decode(self.data)


class ConsentBody(_Body):
    """The resident's consent to assisted submission: how it was given and when."""

    kind: Literal["on_screen", "power_of_attorney"]
    """``on_screen``: the resident, present, agreed on the terminal; ``power_of_attorney``: the resident
    is absent and a signed 委托书 was captured (named by ``power_of_attorney``)."""
    at: AwareDatetime
    """When (RFC 3339 with an offset)."""


class AssistedBody(_Body):
    """Assisted mode (帮办代办): a staff member (代办人) submitted for the resident, with their consent."""

    agent_staff_no: str = Field(pattern=r"^[A-Za-z0-9-]{1,16}$")
    """代办人: the staff number (a helper token's label), never a name."""
    staff_token_id: str = Field(pattern=r"^[0-9a-f]{8}$")
    """The helper token the staff member signed in with (checked: current, role helper, this staff number)."""
    consent: ConsentBody
    power_of_attorney: str | None = Field(default=None, min_length=1, max_length=64)
    """The material holding the signed 委托书 (its ``name``); required with consent ``power_of_attorney``."""


class BundleRef(_Body):
    """一件事: the bundle journey a submission belongs to; every item of one journey carries the same."""

    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    """The journey's UUID (lower-case, hyphenated)."""
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    """The bundle's catalog code (``birth``, ``school`` …)."""


class SubmissionBody(_Body):
    max_json_bytes: ClassVar[int | None] = None  # materials: the app's limit (gateway.max_materials_mb)
    kind: Literal["application", "print_request"]
    item_code: str = ItemCode()
    applicant: Applicant
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[MaterialBody] = Field(default_factory=list, max_length=MAX_MATERIALS)
    kiosk_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    request_id: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    """The app's own key for this submission: sent again after a lost answer, it is stored once."""
    assisted: AssistedBody | None = None
    """Assisted mode: 代办人, the consent and the 委托书's material (absent for a resident on their own)."""
    bundle: BundleRef | None = None
    """一件事: set when the submission is one item of a bundle journey."""

    @model_validator(mode="after")
    def _power_of_attorney(self) -> SubmissionBody:
        a = self.assisted
        if a is None:
            return self
        if a.consent.kind == "power_of_attorney" and a.power_of_attorney is None:
            raise ValueError("assisted.power_of_attorney: required with consent power_of_attorney (the 委托书's material)")
        if a.power_of_attorney is not None and a.power_of_attorney not in {m.name for m in self.materials}:
            raise ValueError("assisted.power_of_attorney: names no material of this submission")
        return self


class PaymentBody(SubmissionBody):
    """A fee item's submission with its payment: held until the payment platform says paid."""

    kind: Literal["application"]
    request_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    """Required: the order's key at the payment platform and the submission's once paid."""
    amount: str | None = Field(default=None, pattern=r"^[0-9]{1,6}\.[0-9]{2}$")
    """The catalog's fee in yuan (``"120.00"``); None when the platform sets the amount (fines)."""


class PaymentCancelBody(_Body):
    reason: Literal["stopped", "left"]
    """``stopped``: the resident chose to stop (the order is cancelled; a later payment is refunded);
    ``left``: the resident walked away (recorded; a payment before expiry is still matched)."""


class DocumentBody(_Body):
    item_code: str = ItemCode()
    applicant: Applicant


class QueryBody(DocumentBody):
    """A query item asked for the applicant."""


class RatingBody(_Body):
    receipt_no: Text = Field(min_length=1, max_length=80)
    level: StrictInt = Field(ge=1, le=5)
    direction: Literal["gbt39046"]
    text: FreeText = Field(default="", max_length=500)


class IdentityBody(_Body):
    """人证比对: the card's identity and a live face image (JPEG, base64)."""

    max_json_bytes: ClassVar[int | None] = MAX_FACE_B64_CHARS + 64 * KIB

    applicant: Applicant
    face_jpeg: str = Field(min_length=4, max_length=MAX_FACE_B64_CHARS)
    item_code: str | None = Field(default=None, min_length=1, max_length=64, pattern=ITEM_CODE_PATTERN)

    @field_validator("face_jpeg")
    @classmethod
    def _jpeg(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64") from None
        if not raw.startswith(b"\xff\xd8\xff"):
            raise ValueError("not a JPEG image")
        return value


class SignInBody(_Body):
    """扫码登录: the one-time token of a sign-in code the kiosk scanned (a credential: never logged)."""

    token: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class StaffSignInBody(_Body):
    """Assisted mode: the helper token of a staff pass the kiosk scanned (a credential: never logged)."""

    token: str = Field(min_length=16, max_length=120, pattern=r"^kgw_[0-9a-f]{8}\.[A-Za-z0-9_-]+$")


class StaffSignOutBody(_Body):
    """Assisted mode: a staff session ended on the terminal (for the audit)."""

    staff_no: str = Field(pattern=r"^[A-Za-z0-9-]{1,16}$")
    token_id: str = Field(pattern=r"^[0-9a-f]{8}$")
    reason: Literal["ended", "timeout"]


class BookingBody(_Body):
    item_code: str = ItemCode()
    slot_id: Text = Field(min_length=1, max_length=120)
    applicant: Applicant
    phone: str | None = None
    request_id: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class HelpRequestBody(_Body):
    """帮办代办: who needs help, and what kind."""

    need: Literal["grid_worker", "appointment", "home_visit", "remote_desk", "callback"]
    group: Literal["elderly", "disabled", "pregnant", "sick", "other"]
    item_code: str | None = Field(default=None, min_length=1, max_length=64, pattern=ITEM_CODE_PATTERN)
    applicant: Applicant | None = None
    phone: str | None = None
    text: FreeText = Field(default="", max_length=500)
    window: Literal["morning", "afternoon", "evening"] | None = None
    """A call-back's preferred time window (issue 21)."""

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class ReportBody(_Body):
    """办不成事反映: what could not be done."""

    category: Literal["cannot_handle", "too_slow", "attitude", "system_fault", "other"]
    text: Annotated[FreeText, AfterValidator(_not_blank)] = Field(min_length=1, max_length=1000)
    item_code: str | None = Field(default=None, min_length=1, max_length=64, pattern=ITEM_CODE_PATTERN)
    applicant: Applicant | None = None
    phone: str | None = None

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class DeviceReport(BaseModel):
    """A device's status as ``DeviceStatus.to_dict()`` gives it (extra keys kept)."""

    model_config = ConfigDict(extra="allow")
    state: DeviceStateName
    name: Text | None = Field(default=None, max_length=64)
    operations: StrictInt | None = None
    errors: StrictInt | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    last_error: dict[str, Any] | None = None


class TestResult(_Body):
    """The outcome of a device test the gateway handed to the kiosk app."""

    __test__ = False  # not a pytest class, despite the name
    command_id: Text = Field(min_length=1, max_length=64)
    ok: StrictBool
    detail: FreeText = Field(default="", max_length=500)


class SessionCount(_Body):
    """How many sessions of one item kind ended one way since the kiosk app started."""

    item_kind: Literal[SESSION_ITEM_KINDS]  # type: ignore[valid-type]
    outcome: Literal[SESSION_OUTCOMES]  # type: ignore[valid-type]
    count: StrictInt = Field(ge=0)


class SessionsReport(_Body):
    """The app's session tally: ``run`` is a random id chosen when the app starts, ``counts``
    are cumulative since then (the gateway adds only what is new, see local_api/ops/fleet.py)."""

    run: str = Field(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    counts: list[SessionCount] = Field(default_factory=list, max_length=len(SESSION_ITEM_KINDS) * len(SESSION_OUTCOMES))


class HeartbeatBody(_Body):
    max_json_bytes: ClassVar[int | None] = 256 * KIB  # up to 16 device reports with their details
    screen: Text = Field(min_length=1, max_length=64)
    devices: dict[Text, DeviceReport] = Field(default_factory=dict, max_length=16)
    results: list[TestResult] = Field(default_factory=list, max_length=32)
    sessions: SessionsReport | None = None


class DeviceTestBody(_Body):
    action: Literal["self_test", "test_read", "test_print", "reset"] = "self_test"


class PortProbeBody(_Body):
    port: str = Field(min_length=1, max_length=300)
    """A serial port the gateway lists (its device path, /dev/serial/by-id link or another link of it)."""


class TokenBody(_Body):
    role: Literal["helper", "operator", "technician"]
    label: Name = Field(default="", max_length=80)
    expires_at: AwareDatetime | None = None
    """When the token stops working (RFC 3339 with an offset); None: it works until revoked."""


class TokenChangeBody(_Body):
    role: Literal["helper", "operator", "technician"]


class SessionBody(_Body):
    token: Text = Field(min_length=1, max_length=200)
    totp: Text | None = Field(default=None, max_length=12)
    """The one-time code (RFC 6238) when the token needs a second factor (``gateway.second_factor``)."""


class BenefitsBody(_Body):
    """免申即办: the applicant whose benefits granted without an application are asked for."""

    applicant: Applicant


class LicencesBody(_Body):
    """数据互认: an item's e-licence materials (简体 names, as the catalog has them) for the applicant."""

    item_code: str = ItemCode()
    applicant: Applicant
    materials: list[Annotated[Name, Field(max_length=200)]] = Field(min_length=1, max_length=20)
