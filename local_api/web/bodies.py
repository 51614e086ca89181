"""Request bodies of the gateway's API, as pydantic models (``docs/gateway-openapi.yaml``), and
:func:`parse`, which reads a request's body as one.

Every model forbids unknown fields, so a misspelt field is named in the 400 answer instead of
being silently dropped. Validators never echo a value back: error bodies can end up in logs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal, TypeVar

from flask import request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kiosk.validators import citizen_id_valid, mobile_valid
from local_api.ops.fleet import DeviceStateName
from local_api.web.errors import BadRequest

ITEM_CODE_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
RECEIPT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
MAX_FACE_B64_CHARS = 2_800_000  # 2 MiB of JPEG once decoded
MAX_MATERIALS = 10
# A session's item kind (kiosk/catalog/model.py KINDS, plus "none": ended before an item was
# chosen) and how it ended; closed lists because they become Prometheus labels.
SESSION_ITEM_KINDS = ("guide", "query", "print", "apply", "appointment", "certification", "none")
SESSION_OUTCOMES = ("completed", "failed", "abandoned", "timeout")

_M = TypeVar("_M", bound=BaseModel)


def parse(model: type[_M]) -> _M:
    """The request's JSON body as ``model``, or :class:`BadRequest` naming the first bad field."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadRequest("body", "the body must be a JSON object (Content-Type: application/json)")
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
    name: str = Field(min_length=1, max_length=64)
    id_type: Literal["resident_id", "hk_macao_permit", "taiwan_permit", "foreign_permanent", "passport"] = \
        "resident_id"
    id_number: str = Field(min_length=1, max_length=32)

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

    name: str = Field(min_length=1, max_length=64)
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


class SubmissionBody(_Body):
    kind: Literal["application", "print_request"]
    item_code: str = ItemCode()
    applicant: Applicant
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[MaterialBody] = Field(default_factory=list, max_length=MAX_MATERIALS)
    kiosk_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    request_id: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    """The app's own key for this submission: sent again after a lost answer, it is stored once."""


class DocumentBody(_Body):
    item_code: str = ItemCode()
    applicant: Applicant


class QueryBody(DocumentBody):
    """A query item asked for the applicant."""


class RatingBody(_Body):
    receipt_no: str = Field(min_length=1, max_length=80)
    level: StrictInt = Field(ge=1, le=5)
    direction: Literal["gbt39046"]
    text: str = Field(default="", max_length=500)


class IdentityBody(_Body):
    """人证比对: the card's identity and a live face image (JPEG, base64)."""

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


class BookingBody(_Body):
    item_code: str = ItemCode()
    slot_id: str = Field(min_length=1, max_length=120)
    applicant: Applicant
    phone: str | None = None
    request_id: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class HelpRequestBody(_Body):
    """帮办代办: who needs help, and what kind."""

    need: Literal["grid_worker", "appointment", "home_visit"]
    group: Literal["elderly", "disabled", "pregnant", "sick", "other"]
    item_code: str | None = Field(default=None, min_length=1, max_length=64, pattern=ITEM_CODE_PATTERN)
    applicant: Applicant | None = None
    phone: str | None = None
    text: str = Field(default="", max_length=500)

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class ReportBody(_Body):
    """办不成事反映: what could not be done."""

    category: Literal["cannot_handle", "too_slow", "attitude", "system_fault", "other"]
    text: str = Field(min_length=1, max_length=1000)
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
    name: str | None = Field(default=None, max_length=64)
    operations: StrictInt | None = None
    errors: StrictInt | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    last_error: dict[str, Any] | None = None


class TestResult(_Body):
    """The outcome of a device test the gateway handed to the kiosk app."""

    __test__ = False  # not a pytest class, despite the name
    command_id: str = Field(min_length=1, max_length=64)
    ok: StrictBool
    detail: str = Field(default="", max_length=500)


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
    screen: str = Field(min_length=1, max_length=64)
    devices: dict[str, DeviceReport] = Field(default_factory=dict, max_length=16)
    results: list[TestResult] = Field(default_factory=list, max_length=32)
    sessions: SessionsReport | None = None


class DeviceTestBody(_Body):
    action: Literal["self_test", "test_read", "test_print", "reset"] = "self_test"


class TokenBody(_Body):
    role: Literal["operator", "technician"]
    label: str = Field(default="", max_length=80)
    expires_at: AwareDatetime | None = None
    """When the token stops working (RFC 3339 with an offset); None: it works until revoked."""


class TokenChangeBody(_Body):
    role: Literal["operator", "technician"]


class SessionBody(_Body):
    token: str = Field(min_length=1, max_length=200)
