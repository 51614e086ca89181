"""The 256-byte text block of a card read answer, in its four layouts (DEVICES.md §1).

The block is UTF-16LE, each field padded with spaces. The card-type flag at offset 248 tells
the layouts apart:

- ``' '`` resident ID card 居民身份证, and ``'J'`` Hong Kong / Macao / Taiwan residence permit
  港澳台居民居住证 (same layout up to offset 220, then pass number, issue count; nation reserved);
- ``'I'`` foreign permanent resident card 外国人永久居留身份证, 2017 edition;
- ``'Y'`` foreign permanent resident card, 2023 edition (issued from 2023-12-01).

Where the layouts come from (no device of each kind was at hand; verify against one and log
what disagrees):

- resident and 'J': DEVICES.md §1, matching the open-source reader Johann356/readinfo
  (``PCSCGetData.h``, ``t_idcardinfor``);
- 'I': a reader vendor's published table of the 2017 card's machine-readable items (English name
  120, gender 2, number 30, nationality 6, Chinese name 30, valid from 16, valid to 16, birth 16,
  version 4, acceptance authority code 8, flag 2, reserved 6) and a vendor SDK's C struct
  (``t_idforeigner``) that agree byte for byte;
- 'Y': one vendor SDK's C struct (``t_idforeigner2023``), consistent with another project's list
  of the 2023 card's fields and with the 2023 rules' 18-digit number: Chinese name 30, gender 2,
  renewal count 4, birth 16, English name (characters 1-35) 70, number 36, reserved 30,
  valid from 16, valid to 16, English name (characters 36-46) 22, country code 6, flag 2, link to
  the previous card's number 6. [unconfirmed: single source for the offsets]

This module is pure (bytes in, :class:`IdentityCard` out, and back for the simulator).
"""

from __future__ import annotations

import datetime as _dt

from devices.base import DeviceProtocolError
from devices.id_card.identity import (
    GENDER_CODES,
    GENDERS,
    LONG_TERM,
    NATION_CODES,
    NATIONS,
    TEXT_BLOCK_LEN,
    IdentityCard,
    UnsupportedCardType,
)

Spec = tuple[int, int]  # (offset, bytes)

FLAG: Spec = (248, 2)

# resident ID card and 'J'
NAME: Spec = (0, 30)
GENDER: Spec = (30, 2)
NATION: Spec = (32, 4)
BIRTH: Spec = (36, 16)
ADDRESS: Spec = (52, 70)
ID_NUMBER: Spec = (122, 36)
ISSUER: Spec = (158, 30)
VALID_FROM: Spec = (188, 16)
VALID_TO: Spec = (204, 16)
PASS_NUMBER: Spec = (220, 18)  # 'J' only
ISSUE_COUNT: Spec = (238, 4)  # 'J' only

# 'I': 2017 foreign permanent resident card
I_ENGLISH_NAME: Spec = (0, 120)
I_GENDER: Spec = (120, 2)
I_NUMBER: Spec = (122, 30)
I_NATIONALITY: Spec = (152, 6)
I_CHINESE_NAME: Spec = (158, 30)
I_VALID_FROM: Spec = (188, 16)
I_VALID_TO: Spec = (204, 16)
I_BIRTH: Spec = (220, 16)
I_VERSION: Spec = (236, 4)
I_AUTHORITY: Spec = (240, 8)

# 'Y': 2023 foreign permanent resident card [unconfirmed, see the module docstring]
Y_CHINESE_NAME: Spec = (0, 30)
Y_GENDER: Spec = (30, 2)
Y_RENEWALS: Spec = (32, 4)
Y_BIRTH: Spec = (36, 16)
Y_ENGLISH_NAME: Spec = (52, 70)
Y_NUMBER: Spec = (122, 36)
Y_VALID_FROM: Spec = (188, 16)
Y_VALID_TO: Spec = (204, 16)
Y_ENGLISH_NAME_MORE: Spec = (220, 22)
Y_NATIONALITY: Spec = (242, 6)
Y_PREVIOUS_LINK: Spec = (250, 6)

CARD_TYPES = ("resident", "J", "I", "Y")


# -- decoding ---------------------------------------------------------------------------------

def _raw(text: bytes, spec: Spec) -> str:
    offset, size = spec
    try:
        return text[offset:offset + size].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise DeviceProtocolError(
            f"text block offset {offset + exc.start}: not UTF-16LE ({exc.reason})") from exc


def _field(text: bytes, spec: Spec) -> str:
    return _raw(text, spec).strip(" \x00")


def _date(text: bytes, spec: Spec, what: str) -> _dt.date:
    value = _field(text, spec)
    try:
        if len(value) != 8 or not value.isascii() or not value.isdigit():
            raise ValueError
        return _dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        # The value itself stays out of the message: error messages end up in logs.
        raise DeviceProtocolError(
            f"text block offset {spec[0]}: {what} is not a YYYYMMDD date ({len(value)} characters)") from None


def _valid_to(text: bytes, spec: Spec) -> _dt.date | None:
    if _field(text, spec) == LONG_TERM:
        return None
    return _date(text, spec, "valid-to date")


def _gender(text: bytes, spec: Spec) -> str:
    code = _field(text, spec)
    if code not in GENDERS:
        raise DeviceProtocolError(f"text block offset {spec[0]}: unknown gender code {code!r}")
    return GENDERS[code]


def _count(text: bytes, spec: Spec) -> int | None:
    value = _field(text, spec)
    return int(value) if value.isascii() and value.isdigit() else None


def card_type_flag(text: bytes) -> str:
    """The card-type flag at offset 248: ``'resident'``, ``'J'``, ``'I'``, ``'Y'`` or the raw letter."""
    flag = _field(text, FLAG)
    return "resident" if flag == "" else flag


def decode_text_block(text: bytes, photo: bytes) -> IdentityCard:
    """Decode the 256-byte text block of a read answer.

    Raises :class:`DeviceProtocolError` (naming the text offset) when the block is malformed,
    :class:`UnsupportedCardType` for a card-type flag this kiosk does not know. The ID number is
    not validated here: see :func:`devices.id_card.checks.card_problems`.
    """
    if len(text) != TEXT_BLOCK_LEN:
        raise DeviceProtocolError(f"text block is {len(text)} bytes, expected {TEXT_BLOCK_LEN}")
    flag = card_type_flag(text)
    if flag == "I":
        return _decode_foreign_2017(text, photo)
    if flag == "Y":
        return _decode_foreign_2023(text, photo)
    if flag not in ("resident", "J"):
        raise UnsupportedCardType(flag)
    card = IdentityCard(
        name=_field(text, NAME), gender=_gender(text, GENDER), nation="",
        birth_date=_date(text, BIRTH, "birth date"), address=_field(text, ADDRESS),
        id_number=_field(text, ID_NUMBER), issuer=_field(text, ISSUER),
        valid_from=_date(text, VALID_FROM, "valid-from date"), valid_to=_valid_to(text, VALID_TO),
        card_type=flag, photo=bytes(photo))
    if flag == "resident":
        code = _field(text, NATION)
        if code not in NATIONS:
            raise DeviceProtocolError(f"text block offset {NATION[0]}: unknown nation code {code!r}")
        card.nation = NATIONS[code]
    else:  # 'J': the nation field is reserved; pass number and issue count follow the dates
        card.pass_number = _field(text, PASS_NUMBER)
        card.issue_count = _count(text, ISSUE_COUNT)
    return card


def _decode_foreign_2017(text: bytes, photo: bytes) -> IdentityCard:
    english = _field(text, I_ENGLISH_NAME)
    return IdentityCard(
        name=_field(text, I_CHINESE_NAME) or english, gender=_gender(text, I_GENDER), nation="",
        birth_date=_date(text, I_BIRTH, "birth date"), address="",
        id_number=_field(text, I_NUMBER), issuer=_field(text, I_AUTHORITY),
        valid_from=_date(text, I_VALID_FROM, "valid-from date"),
        valid_to=_valid_to(text, I_VALID_TO), card_type="I", photo=bytes(photo),
        english_name=english, nationality=_field(text, I_NATIONALITY),
        card_version=_field(text, I_VERSION))


def _decode_foreign_2023(text: bytes, photo: bytes) -> IdentityCard:
    # The English name runs over two fields (characters 1-35, then 36-46); join them raw so a
    # space at the seam survives, then drop the padding.
    english = (_raw(text, Y_ENGLISH_NAME) + _raw(text, Y_ENGLISH_NAME_MORE)).strip(" \x00")
    return IdentityCard(
        name=_field(text, Y_CHINESE_NAME) or english, gender=_gender(text, Y_GENDER), nation="",
        birth_date=_date(text, Y_BIRTH, "birth date"), address="",
        id_number=_field(text, Y_NUMBER), issuer="",
        valid_from=_date(text, Y_VALID_FROM, "valid-from date"),
        valid_to=_valid_to(text, Y_VALID_TO), card_type="Y", photo=bytes(photo),
        english_name=english, nationality=_field(text, Y_NATIONALITY),
        issue_count=_count(text, Y_RENEWALS), previous_number_link=_field(text, Y_PREVIOUS_LINK))


# -- encoding (simulator and tests) -------------------------------------------------------------

def _put(block: bytearray, spec: Spec, value: str, what: str) -> None:
    offset, size = spec
    raw = value.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{what} is too long for the card: {len(raw)} bytes, room for {size}")
    block[offset:offset + size] = raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


def _date_text(value: _dt.date | None) -> str:
    return LONG_TERM if value is None else value.strftime("%Y%m%d")


def encode_text_block(card: IdentityCard) -> bytes:
    """Lay out ``card`` as a 256-byte text block in its card type's layout."""
    if card.card_type not in CARD_TYPES:
        raise ValueError(f"cannot encode card type {card.card_type!r}")
    block = bytearray(" ".encode("utf-16-le") * (TEXT_BLOCK_LEN // 2))

    def put(spec: Spec, value: str, what: str) -> None:
        _put(block, spec, value, what)

    if card.card_type == "I":
        put(I_ENGLISH_NAME, card.english_name, "English name")
        put(I_GENDER, GENDER_CODES[card.gender], "gender")
        put(I_NUMBER, card.id_number, "card number")
        put(I_NATIONALITY, card.nationality, "nationality")
        put(I_CHINESE_NAME, card.name if card.name != card.english_name else "", "Chinese name")
        put(I_VALID_FROM, _date_text(card.valid_from), "valid-from date")
        put(I_VALID_TO, _date_text(card.valid_to), "valid-to date")
        put(I_BIRTH, _date_text(card.birth_date), "birth date")
        put(I_VERSION, card.card_version, "card version")
        put(I_AUTHORITY, card.issuer, "authority code")
    elif card.card_type == "Y":
        put(Y_CHINESE_NAME, card.name if card.name != card.english_name else "", "Chinese name")
        put(Y_GENDER, GENDER_CODES[card.gender], "gender")
        put(Y_RENEWALS, "" if card.issue_count is None else f"{card.issue_count:02d}", "renewal count")
        put(Y_BIRTH, _date_text(card.birth_date), "birth date")
        put(Y_ENGLISH_NAME, card.english_name[:35], "English name")
        put(Y_ENGLISH_NAME_MORE, card.english_name[35:], "English name (36-46)")
        put(Y_NUMBER, card.id_number, "card number")
        put(Y_VALID_FROM, _date_text(card.valid_from), "valid-from date")
        put(Y_VALID_TO, _date_text(card.valid_to), "valid-to date")
        put(Y_NATIONALITY, card.nationality, "nationality")
        put(Y_PREVIOUS_LINK, card.previous_number_link, "previous number link")
    else:
        put(NAME, card.name, "name")
        put(GENDER, GENDER_CODES[card.gender], "gender")
        put(BIRTH, _date_text(card.birth_date), "birth date")
        put(ADDRESS, card.address, "address")
        put(ID_NUMBER, card.id_number, "ID number")
        put(ISSUER, card.issuer, "issuer")
        put(VALID_FROM, _date_text(card.valid_from), "valid-from date")
        put(VALID_TO, _date_text(card.valid_to), "valid-to date")
        if card.card_type == "resident":
            put(NATION, NATION_CODES[card.nation], "nation")
        else:
            put(PASS_NUMBER, card.pass_number, "pass number")
            if card.issue_count is not None:
                put(ISSUE_COUNT, f"{card.issue_count:02d}", "issue count")
    if card.card_type != "resident":
        put(FLAG, card.card_type, "card type")
    return bytes(block)
