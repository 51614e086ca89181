"""The social security card 社会保障卡: its APDUs, its fields and the identity it carries (DEVICES.md §2).

Only the SSSE application's EF05 (card data) and EF06 (holder data) are readable without a PIN.
Each field is a record holding one TLV whose tag is the field's number; READ RECORD addresses
the record by that number (``00 B2 <tag> 04 00``), as vendor SDKs do [per-file numbering on some
third-generation cards: unconfirmed]. Numeric fields (``cn``) are packed digits right-padded with
``F``; text fields are ASCII, the name GBK, right-padded with ``00``.

The birthplace (tag 0C) is readable too but not read: the kiosk has no use for it (PIPL art. 6,
collect the minimum).

A :class:`SocialSecurityCard` holds sensitive personal information: its ``repr`` masks every
number and the name, :meth:`SocialSecurityCard.masked` gives display-safe strings and
:meth:`SocialSecurityCard.wipe` drops the values when the session ends.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from devices.base import ActionHint, DeviceError, DeviceProtocolError
from devices.id_card.identity import GENDER_CODES, GENDERS, NATION_CODES, NATIONS
from kiosk.privacy import mask_id_number, mask_name
from kiosk.validators import citizen_id_birth_date, citizen_id_valid

# "sx1.sh.社会保障" in GBK: the SSSE (social security) application.
SSSE_AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
SELECT_SSSE = bytes.fromhex("00A404000F") + SSSE_AID
SELECT_EF05 = bytes.fromhex("00A4020002EF05")
SELECT_EF06 = bytes.fromhex("00A4020002EF06")
SW_OK = 0x9000


def read_record(record: int) -> bytes:
    """READ RECORD of ``record`` in the current EF, answer length up to 256 (``Le`` = 00)."""
    return bytes([0x00, 0xB2, record, 0x04, 0x00])


@dataclass(frozen=True)
class FieldSpec:
    """One readable field: its tag (= record number), file, largest size, encoding and name."""

    tag: int
    ef: int
    size: int
    kind: str  # "cn" packed digits, "an" ASCII, "gbk" Chinese text
    label: str


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(0x01, 0xEF05, 16, "cn", "card identification code"),
    FieldSpec(0x02, 0xEF05, 1, "an", "card type"),
    FieldSpec(0x03, 0xEF05, 4, "an", "specification version"),
    FieldSpec(0x04, 0xEF05, 12, "cn", "issuing organisation"),
    FieldSpec(0x05, 0xEF05, 4, "cn", "issue date"),
    FieldSpec(0x06, 0xEF05, 4, "cn", "expiry date"),
    FieldSpec(0x07, 0xEF05, 9, "an", "card number"),
    FieldSpec(0x08, 0xEF06, 18, "an", "social security number"),
    FieldSpec(0x09, 0xEF06, 30, "gbk", "name"),
    FieldSpec(0x0A, 0xEF06, 1, "an", "gender"),
    FieldSpec(0x0B, 0xEF06, 1, "cn", "nation"),
    FieldSpec(0x0D, 0xEF06, 4, "cn", "birth date"),
)
FIELD_BY_TAG = {f.tag: f for f in FIELDS}

SW_MEANINGS: dict[int, str] = {
    0x6283: "the selected application is blocked",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6982: "security status not satisfied (a PIN is needed)",
    0x6983: "authentication blocked",
    0x6985: "conditions of use not satisfied",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A86: "wrong parameters P1-P2",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
    0x9303: "the application is locked",
}


def sw_text(sw: int) -> str:
    meaning = SW_MEANINGS.get(sw)
    if meaning is None and sw >> 8 == 0x63:
        meaning = "warning: the card's memory changed"
    return f"{sw:04X} ({meaning})" if meaning else f"{sw:04X}"


class CardStatusError(DeviceError):
    """The card refused a command (status word other than 9000). The reader is fine; the resident
    should take the card out and try again, or use another way in."""

    retryable = True
    hint = ActionHint.NONE

    def __init__(self, step: str, sw: int, *, retryable: bool | None = None) -> None:
        super().__init__(f"{step}: the card answered {sw_text(sw)}", retryable=retryable)
        self.step = step
        self.sw = sw


class NotSocialSecurityCard(CardStatusError):
    """The card has no social security application (a bank card, a transport card, …)."""

    retryable = False

    def __init__(self, sw: int) -> None:
        super().__init__("SELECT SSSE", sw)
        self.args = ((f"this card is not a social security card (SELECT of the SSSE application answered "
                      f"{sw_text(sw)}): use a social security card or the ID card"),)


class SscDataError(DeviceProtocolError):
    """A field on the card cannot be decoded or fails its check (e.g. GB 11643). Names the tag and
    field, never the value."""

    hint = ActionHint.NONE


@dataclass(repr=False)
class SocialSecurityCard:
    """What EF05 and EF06 carry. ``expiry_date`` None means the card states no expiry."""

    card_id_code: str  # 卡识别码, hex digits; the first 6 are the issuing region
    card_type: str
    version: str
    issuer: str  # 初始化机构编号, digits
    issue_date: _dt.date
    expiry_date: _dt.date | None
    card_number: str  # 社会保障卡卡号, 9 characters
    social_security_number: str  # 社会保障号码 = the citizen ID number (GB 11643)
    name: str
    gender: str
    nation: str
    birth_date: _dt.date

    @property
    def id_number(self) -> str:
        """The citizen ID number (the social security number is the same number), as the flow needs it."""
        return self.social_security_number

    @property
    def region(self) -> str:
        """The issuing region (GB/T 2260 code), the first 6 digits of the identification code."""
        return self.card_id_code[:6]

    def expired(self, today: _dt.date | None = None) -> bool:
        return self.expiry_date is not None and self.expiry_date < (today or _dt.date.today())

    def masked(self) -> dict[str, str]:
        """Display-safe strings for screens, receipts and logs (GB/T 35273 §7.2)."""
        return {
            "name": mask_name(self.name),
            "gender": self.gender,
            "nation": self.nation,
            "social_security_number": mask_id_number(self.social_security_number),
            "card_number": mask_short_number(self.card_number),
            "card_id_code": mask_id_number(self.card_id_code),
            "region": self.region,
            "card_type": self.card_type,
            "version": self.version,
            "issue_date": self.issue_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else "",
        }

    def revealed(self) -> dict[str, str]:
        """Every field in full, for a technician's ``--reveal``; never for logs."""
        return {
            "name": self.name, "gender": self.gender, "nation": self.nation,
            "social_security_number": self.social_security_number, "card_number": self.card_number,
            "card_id_code": self.card_id_code, "region": self.region, "card_type": self.card_type,
            "version": self.version, "issuer": self.issuer, "issue_date": self.issue_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else "",
            "birth_date": self.birth_date.isoformat(),
        }

    def wipe(self) -> None:
        """Drop every personal value. Python cannot zero immutable strings in place; dropping the
        references is the most it can do, so callers must not keep copies either."""
        self.card_id_code = self.card_type = self.version = self.issuer = ""
        self.card_number = self.social_security_number = self.name = self.gender = self.nation = ""
        self.issue_date = self.birth_date = _dt.date.min
        self.expiry_date = None

    def __repr__(self) -> str:
        return (f"SocialSecurityCard(region={self.region!r}, name={mask_name(self.name)!r}, "
                f"social_security_number={mask_id_number(self.social_security_number)!r}, "
                f"card_number={mask_short_number(self.card_number)!r})")

    __str__ = __repr__


def mask_short_number(value: str) -> str:
    """``A12345678`` → ``A******78``. The 4+4 rule of 18-digit numbers would leave 8 of a
    9-character card number visible, so short numbers keep only their first and last two."""
    value = value.strip()
    if len(value) <= 3:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 3) + value[-2:]


# -- field decoding --------------------------------------------------------------------------------


def _raw_text(spec: FieldSpec, value: bytes) -> str:
    if not value or len(value) > spec.size:
        raise SscDataError(f"tag {spec.tag:02X} ({spec.label}): {len(value)} bytes, "
                           f"expected 1 to {spec.size}")
    if spec.kind == "cn":
        return value.hex().upper().rstrip("F")
    body = value.rstrip(b"\x00 ")
    try:
        # GB18030 decodes every GBK byte sequence the same way and also the rare characters
        # (生僻字) some names need.
        text = body.decode("gb18030" if spec.kind == "gbk" else "ascii")
    except UnicodeDecodeError as exc:
        raise SscDataError(f"tag {spec.tag:02X} ({spec.label}): byte {exc.start} is not "
                           f"{'GBK' if spec.kind == 'gbk' else 'ASCII'} text") from None
    if not text.isprintable():
        raise SscDataError(f"tag {spec.tag:02X} ({spec.label}): contains control characters")
    return text.strip()


def _digits(spec: FieldSpec, text: str, length: int | None = None) -> str:
    if not text.isdigit() or (length is not None and len(text) != length):
        want = f"{length} digits" if length else "digits"
        raise SscDataError(f"tag {spec.tag:02X} ({spec.label}): expected {want}, got {len(text)} characters")
    return text


def _date(spec: FieldSpec, text: str) -> _dt.date:
    digits = _digits(spec, text, 8)
    try:
        return _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise SscDataError(f"tag {spec.tag:02X} ({spec.label}): not a calendar date") from None


def decode_fields(values: dict[int, bytes], *, today: _dt.date | None = None) -> SocialSecurityCard:
    """Build the card from the raw value of every field in :data:`FIELDS`, checking each.

    Raises :class:`SscDataError` for a missing, malformed or failing field: a card is either
    decoded whole or not at all.
    """
    text: dict[int, str] = {}
    for spec in FIELDS:
        if spec.tag not in values:
            raise SscDataError(f"tag {spec.tag:02X} ({spec.label}) was not read")
        text[spec.tag] = _raw_text(spec, values[spec.tag])
    s = FIELD_BY_TAG
    card_id = text[0x01]
    if len(card_id) < 6 or not card_id[:6].isdigit() or any(c not in "0123456789ABCDEF" for c in card_id):
        raise SscDataError("tag 01 (card identification code): expected hex digits starting with "
                           "a 6-digit region code")
    ssn = text[0x08].upper()
    if not citizen_id_valid(ssn, today=today):
        raise SscDataError("tag 08 (social security number): fails the GB 11643 check "
                           "(length, birth date or check character)")
    birth = _date(s[0x0D], text[0x0D])
    if citizen_id_birth_date(ssn) != birth:
        raise SscDataError("tag 0D (birth date): differs from the birth date in the social security number")
    gender = text[0x0A]
    if gender not in GENDERS:
        raise SscDataError(f"tag 0A (gender): unknown code {gender!r}")
    nation = text[0x0B].zfill(2)
    if nation not in NATIONS:
        raise SscDataError(f"tag 0B (nation): unknown code {nation!r}")
    number = text[0x07]
    if len(number) != 9 or not number.isalnum():
        raise SscDataError(f"tag 07 (card number): expected 9 letters or digits, "
                           f"got {len(number)} characters")
    name = text[0x09]
    if not name:
        raise SscDataError("tag 09 (name): empty")
    expiry_text = text[0x06]
    return SocialSecurityCard(
        card_id_code=card_id,
        card_type=text[0x02],
        version=text[0x03],
        issuer=_digits(s[0x04], text[0x04]) if text[0x04] else "",
        issue_date=_date(s[0x05], text[0x05]),
        expiry_date=_date(s[0x06], expiry_text) if expiry_text else None,
        card_number=number,
        social_security_number=ssn,
        name=name,
        gender=GENDERS[gender],
        nation=NATIONS[nation],
        birth_date=birth,
    )


def _encode_value(spec: FieldSpec, text: str) -> bytes:
    if spec.kind == "cn":
        if len(text) > 2 * spec.size:
            raise ValueError(f"{spec.label} is too long for tag {spec.tag:02X} ({spec.size} bytes)")
        return bytes.fromhex(text + "F" * (2 * spec.size - len(text)))
    raw = text.encode("gb18030" if spec.kind == "gbk" else "ascii")
    if len(raw) > spec.size:
        raise ValueError(f"{spec.label} is too long for tag {spec.tag:02X} ({spec.size} bytes)")
    return raw + b"\x00" * (spec.size - len(raw))


def encode_fields(card: SocialSecurityCard) -> dict[int, bytes]:
    """The raw value of every field, as a card stores it (for the virtual card and tests)."""
    expiry = card.expiry_date.strftime("%Y%m%d") if card.expiry_date else ""
    text = {
        0x01: card.card_id_code, 0x02: card.card_type, 0x03: card.version, 0x04: card.issuer,
        0x05: card.issue_date.strftime("%Y%m%d"), 0x06: expiry, 0x07: card.card_number,
        0x08: card.social_security_number, 0x09: card.name, 0x0A: GENDER_CODES[card.gender],
        0x0B: NATION_CODES[card.nation] if card.nation else "", 0x0D: card.birth_date.strftime("%Y%m%d"),
    }
    return {tag: _encode_value(FIELD_BY_TAG[tag], value) for tag, value in text.items()}


def sample_cards() -> list[SocialSecurityCard]:
    """Deterministic TEST cards with valid check characters (never real people)."""
    return [
        SocialSecurityCard(
            card_id_code="350200D15600000599110145", card_type="1", version="3.00", issuer="350200000000",
            issue_date=_dt.date(2020, 7, 1), expiry_date=_dt.date(2030, 7, 1), card_number="A00000001",
            social_security_number="11010519491231002X", name="张三", gender="女", nation="汉",
            birth_date=_dt.date(1949, 12, 31)),
        SocialSecurityCard(
            card_id_code="350205D15600000599220257", card_type="1", version="2.00", issuer="350205000000",
            issue_date=_dt.date(2016, 3, 1), expiry_date=_dt.date(2026, 3, 1), card_number="B12345678",
            social_security_number="350205198506150030", name="李四", gender="男", nation="畲",
            birth_date=_dt.date(1985, 6, 15)),
    ]
