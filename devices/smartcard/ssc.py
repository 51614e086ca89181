"""The social security card 社会保障卡: its APDUs, its fields and the identity it carries (DEVICES.md §2).

Only the SSSE application's EF05 (card data) and EF06 (holder data) are readable without a PIN.
Each field is a record holding one TLV whose tag is the field's number; READ RECORD addresses
the record by that number (``00 B2 <tag> 04 00``), as vendor SDKs do [per-file numbering on some
third-generation cards: unconfirmed]. This project writes numeric fields as packed digits
right-padded with ``F`` and text (ASCII; the name GBK) right-padded with ``00``; it reads what other
issuers write too (ASCII digits, ``20`` or ``FF`` padding, no expiry as zeros or all F), deciding
each field by its bytes with checks that keep one encoding from passing as another (see
"field decoding" below).

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
from kiosk.validators import PROVINCE_CODES, citizen_id_birth_date, citizen_id_valid

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
    """One readable field: its tag (= record number), file, size as this project writes it, encoding
    and name. ``max_size`` is the largest value any issuer's encoding needs (ASCII digits take
    twice the bytes of packed ones); ``personal`` fields never show their bytes in errors."""

    tag: int
    ef: int
    size: int
    kind: str  # "code" card identification code, "digits", "date", "nation", "an" ASCII, "gbk" text
    label: str
    max_size: int = 0
    personal: bool = True

    @property
    def largest(self) -> int:
        return self.max_size or self.size


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(0x01, 0xEF05, 16, "code", "card identification code", 32),
    FieldSpec(0x02, 0xEF05, 1, "an", "card type", personal=False),
    FieldSpec(0x03, 0xEF05, 4, "an", "specification version", personal=False),
    FieldSpec(0x04, 0xEF05, 12, "digits", "issuing organisation", 24, personal=False),
    FieldSpec(0x05, 0xEF05, 4, "date", "issue date", 8, personal=False),
    FieldSpec(0x06, 0xEF05, 4, "date", "expiry date", 8, personal=False),
    FieldSpec(0x07, 0xEF05, 9, "an", "card number"),
    FieldSpec(0x08, 0xEF06, 18, "an", "social security number"),
    FieldSpec(0x09, 0xEF06, 30, "gbk", "name"),
    FieldSpec(0x0A, 0xEF06, 1, "an", "gender"),
    FieldSpec(0x0B, 0xEF06, 1, "nation", "nation", 2),
    FieldSpec(0x0D, 0xEF06, 4, "date", "birth date", 8),
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
    field, never a personal value. Not retryable: the card holds these bytes, reading it again gives
    the same."""

    retryable = False
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
#
# Issuers and card generations write the same field differently (DEVICES.md §2): digits packed two
# to a byte (BCD, right-padded with F nibbles) or as ASCII digits; text padded with 00, 20 or FF;
# no expiry as 00000000 or all F. Each field is decoded by what its bytes are, never by guessing,
# and every reading is then checked so that one encoding cannot pass as the other:
#
# - 01 card identification code: the 6-digit region of a mainland province, then the RID
#   D156000005 (MOHRSS), then hex. Packed, byte 3 is D1, which is no ASCII character; ASCII read
#   as packed would give "3?3?3?…" and no RID. Either way there is exactly one reading.
# - 05, 06, 0D dates: 4 bytes packed or 8 ASCII digits; the length decides. A real calendar date.
# - 0B nation: 1 byte packed or 2 ASCII digits; the length decides. A code of GB 3304.
# - 04 issuing organisation (a reserved field, often empty): bytes that are all ASCII digits are
#   ASCII. A packed code made of such bytes would have a 3 in every other digit, a region 3?3?3?
#   that GB/T 2260 does not have (no province 31–37 has a prefecture 30–39). Printable ASCII
#   with letters is refused, not read as packed digits.
# - 08 social security number: GB 11643 (check character) and the same birth date as 0D.

_PADDING = b"\x00\x20\xff"
_ASCII_DIGITS = frozenset(b"0123456789")
_ASCII_HEX = frozenset(b"0123456789ABCDEFabcdef")
_RID = "D156000005"  # registered application provider of China's MOHRSS (ISO 7816-5)
# Hong Kong, Macao and Taiwan (71, 81–83) issue no social security cards.
_SSC_PROVINCES = PROVINCE_CODES - {"71", "81", "82", "83"}
_EARLIEST_ISSUE = _dt.date(1990, 1, 1)  # the first pilot cards are from the late 1990s


def _shown(spec: FieldSpec, value: bytes) -> str:
    """The bytes for an error message. A personal field shows only its shape: padding bytes (00, 20,
    FF) as they are, an ASCII digit or hex letter as ``3·`` / ``4·`` / ``6·``, any other byte as
    ``··``: the encoding is visible, the number or name is not."""
    shown = value[:40]
    if spec.personal:
        parts = []
        for b in shown:
            if b in _PADDING:
                parts.append(f"{b:02X}")
            elif 0x30 <= b <= 0x39 or 0x41 <= b <= 0x46 or 0x61 <= b <= 0x66:
                parts.append(f"{b >> 4:X}·")
            else:
                parts.append("··")
        text = " ".join(parts)
    else:
        text = shown.hex(" ").upper()
    more = " …" if len(value) > len(shown) else ""
    return f"{len(value)} byte{'s' if len(value) != 1 else ''} [{text}{more}]"


def _refuse(spec: FieldSpec, value: bytes, why: str) -> SscDataError:
    return SscDataError(f"tag {spec.tag:02X} ({spec.label}): {_shown(spec, value)}: {why}")


def _ascii_body(value: bytes, allowed: frozenset[int]) -> str | None:
    """The value as ASCII characters from ``allowed`` after its padding, or None."""
    body = value.rstrip(_PADDING)
    if body and all(b in allowed for b in body):
        return body.decode("ascii").upper()
    return None


def _packed(value: bytes) -> str:
    """Packed digits: the hex text without its right padding of F nibbles."""
    return value.hex().upper().rstrip("F")


def is_region_code(code: str) -> bool:
    """A 6-digit administrative code of a mainland province (GB/T 2260), the issuing region.

    Only the province is checked, for the reason :data:`kiosk.validators.PROVINCE_CODES` gives:
    county codes change every year and a card keeps the code it was issued with."""
    return len(code) == 6 and code.isascii() and code.isdigit() and code[:2] in _SSC_PROVINCES


def _card_id_code(spec: FieldSpec, value: bytes) -> str:
    text = _ascii_body(value, _ASCII_HEX)
    encoding = "ASCII"
    if text is None:
        text, encoding = value.rstrip(b"\xff").hex().upper(), "packed"
    problem = ""
    if not 16 <= len(text) <= 32:
        problem = f"{len(text)} characters, expected 16 to 32"
    elif not is_region_code(text[:6]):
        problem = "does not start with the 6-digit code of a mainland region"
    elif text[6:16] != _RID:
        problem = f"no RID {_RID} after the region"
    elif any(c not in "0123456789ABCDEF" for c in text):
        problem = "not hex digits"
    if problem:
        raise _refuse(spec, value, f"read as {encoding}: {problem}")
    return text


def _digit_text(spec: FieldSpec, value: bytes) -> str:
    """Digits written as ASCII or packed: ASCII when every byte (but padding) is an ASCII digit."""
    if not value.rstrip(_PADDING):
        return ""
    text = _ascii_body(value, _ASCII_DIGITS)
    if text is None:
        if all(0x20 <= b <= 0x7E for b in value.rstrip(_PADDING)):
            # ASCII text with letters: its bytes may happen to be packed digits ("5A" is 35 41),
            # but a packed code has zero bytes in it; refuse rather than misread.
            raise _refuse(spec, value, "ASCII text that is not only digits")
        text = _packed(value)
        if not text.isdigit():
            raise _refuse(spec, value, "neither ASCII digits nor packed digits padded with F")
    return text


def _date(spec: FieldSpec, value: bytes, *, no_expiry: bool = False) -> _dt.date | None:
    """4 bytes of packed digits or 8 ASCII digits (the length tells them apart), a real date.
    With ``no_expiry``: nothing, all zero or all F means the card does not expire (None)."""
    if no_expiry and (not value.rstrip(_PADDING) or _packed(value) in ("", "00000000")
                      or _ascii_body(value, _ASCII_HEX) in ("00000000", "FFFFFFFF")):
        return None
    ascii_text = _ascii_body(value, _ASCII_DIGITS)
    if ascii_text is not None and len(ascii_text) == 8:
        text = ascii_text
    elif len(value.rstrip(b"\xff")) == 4 and _packed(value).isdigit() and len(_packed(value)) == 8:
        text = _packed(value)
    else:
        raise _refuse(spec, value, "neither 4 bytes of packed digits nor 8 ASCII digits (YYYYMMDD)")
    try:
        return _dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _refuse(spec, value, "not a calendar date") from None


def _nation(spec: FieldSpec, value: bytes) -> str:
    """1 byte of packed digits or 2 ASCII digits: a code of GB 3304."""
    ascii_text = _ascii_body(value, _ASCII_DIGITS)
    if ascii_text is not None and len(ascii_text) == 2:
        code = ascii_text
    elif len(value.rstrip(b"\xff")) == 1 and _packed(value).isdigit():
        code = _packed(value).zfill(2)
    else:
        raise _refuse(spec, value, "neither 1 byte of packed digits nor 2 ASCII digits")
    if code not in NATIONS:
        raise _refuse(spec, value, "not a nation code of GB 3304")
    return NATIONS[code]


def _text(spec: FieldSpec, value: bytes) -> str:
    """ASCII (or, for the name, GBK) text right-padded with 00, 20 or FF."""
    body = value.rstrip(_PADDING)
    try:
        # GB18030 decodes every GBK byte sequence the same way and also the rare characters
        # (生僻字) some names need. No GBK trail byte is 00, 20 or FF, so stripping is safe.
        text = body.decode("gb18030" if spec.kind == "gbk" else "ascii")
    except UnicodeDecodeError as exc:
        raise _refuse(spec, value, f"byte {exc.start} is not "
                      f"{'GBK' if spec.kind == 'gbk' else 'ASCII'} text") from None
    if not text.isprintable():
        raise _refuse(spec, value, "contains control characters")
    return text.strip()


def decode_fields(values: dict[int, bytes], *, today: _dt.date | None = None) -> SocialSecurityCard:
    """Build the card from the raw value of every field in :data:`FIELDS`, checking each.

    Raises :class:`SscDataError` for a missing, malformed or failing field, naming the tag and
    its bytes (personal fields with their digits hidden): a card is decoded whole or not at all.
    """
    for spec in FIELDS:
        if spec.tag not in values:
            raise SscDataError(f"tag {spec.tag:02X} ({spec.label}) was not read")
        value = values[spec.tag]
        if not value or len(value) > spec.largest:
            raise _refuse(spec, value, f"expected 1 to {spec.largest} bytes")
    s, v = FIELD_BY_TAG, values
    card_id = _card_id_code(s[0x01], v[0x01])
    issue = _date(s[0x05], v[0x05])
    expiry = _date(s[0x06], v[0x06], no_expiry=True)
    assert issue is not None
    if issue < _EARLIEST_ISSUE:
        raise _refuse(s[0x05], v[0x05], f"before {_EARLIEST_ISSUE.year}, when no card was issued")
    if expiry is not None and expiry <= issue:
        raise _refuse(s[0x06], v[0x06], "not after the issue date")
    ssn = _text(s[0x08], v[0x08]).upper()
    if not citizen_id_valid(ssn, today=today):
        raise SscDataError("tag 08 (social security number): fails the GB 11643 check "
                           "(length, birth date or check character)")
    birth = _date(s[0x0D], v[0x0D])
    if citizen_id_birth_date(ssn) != birth:
        raise SscDataError("tag 0D (birth date): differs from the birth date in the social security number")
    gender = _text(s[0x0A], v[0x0A])
    if gender not in GENDERS:
        raise _refuse(s[0x0A], v[0x0A], "unknown gender code")
    number = _text(s[0x07], v[0x07])
    if len(number) != 9 or not number.isascii() or not number.isalnum():
        raise _refuse(s[0x07], v[0x07], f"expected 9 letters or digits, got {len(number)} characters")
    name = _text(s[0x09], v[0x09])
    if not name:
        raise _refuse(s[0x09], v[0x09], "empty")
    assert birth is not None
    return SocialSecurityCard(
        card_id_code=card_id,
        card_type=_text(s[0x02], v[0x02]),
        version=_text(s[0x03], v[0x03]),
        issuer=_digit_text(s[0x04], v[0x04]),
        issue_date=issue,
        expiry_date=expiry,
        card_number=number,
        social_security_number=ssn,
        name=name,
        gender=GENDERS[gender],
        nation=_nation(s[0x0B], v[0x0B]),
        birth_date=birth,
    )


def _encode_value(spec: FieldSpec, text: str) -> bytes:
    if spec.kind in ("code", "digits", "date", "nation"):  # packed digits, right-padded with F
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
