"""The identity a card carries, and its 256-byte text block (DEVICES.md §1).

The text block is UTF-16LE, each field padded with spaces. The card-type flag at offset 248
tells the layouts apart: ``' '`` resident ID card, ``'J'`` Hong Kong / Macao / Taiwan residence
permit, ``'I'`` / ``'Y'`` foreign permanent resident cards.

An :class:`IdentityCard` holds sensitive personal information (PIPL art. 28): its ``repr``
masks the name and the ID number, :meth:`IdentityCard.masked` gives display-safe strings, and
:meth:`IdentityCard.wipe` drops the values when the session ends.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from devices.base import ActionHint, DeviceError, DeviceProtocolError
from kiosk.privacy import mask_id_number, mask_name

TEXT_BLOCK_LEN = 256
LONG_TERM = "长期"

# GB/T 3304 nation codes, as the card prints them (without 族).
NATIONS: dict[str, str] = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝",
    "08": "壮", "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白",
    "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤",
    "22": "畲", "23": "高山", "24": "拉祜", "25": "水", "26": "东乡", "27": "纳西", "28": "景颇",
    "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗",
    "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春",
    "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统",
}
NATION_CODES: dict[str, str] = {name: code for code, name in NATIONS.items()}

# GB/T 2261.1 sex codes.
GENDERS: dict[str, str] = {"1": "男", "2": "女", "0": "未知", "9": "未说明"}
GENDER_CODES: dict[str, str] = {name: code for code, name in GENDERS.items()}

CARD_TYPE_LABELS: dict[str, str] = {
    "resident": "居民身份证",
    "J": "港澳台居民居住证",
    "I": "外国人永久居留身份证",
    "Y": "外国人永久居留身份证",
}

# (offset, bytes) of each field of the resident layout; 'J' shares it up to offset 220.
_NAME = (0, 30)
_GENDER = (30, 2)
_NATION = (32, 4)
_BIRTH = (36, 16)
_ADDRESS = (52, 70)
_ID_NUMBER = (122, 36)
_ISSUER = (158, 30)
_VALID_FROM = (188, 16)
_VALID_TO = (204, 16)
_PASS_NUMBER = (220, 18)  # 'J' only
_ISSUE_COUNT = (238, 4)  # 'J' only
_FLAG = (248, 2)


class UnsupportedCardType(DeviceError):
    """The reader works, but the card is of a kind this kiosk cannot decode (e.g. the 2023
    foreign permanent resident card 'Y'). The resident should be offered another way in."""

    retryable = False
    hint = ActionHint.NONE

    def __init__(self, flag: str) -> None:
        super().__init__(f"card type {flag!r} is not supported by this kiosk's ID card decoder")
        self.flag = flag


@dataclass(repr=False)
class IdentityCard:
    """One card's identity. ``valid_to`` None means 长期 (no expiry). ``photo`` is the opaque
    WLT blob: it goes to the platform's identity check and is never decoded or stored."""

    name: str
    gender: str
    nation: str
    birth_date: _dt.date
    address: str
    id_number: str
    issuer: str
    valid_from: _dt.date
    valid_to: _dt.date | None
    card_type: str = "resident"
    photo: bytes = b""
    pass_number: str = ""  # 'J': the HK/Macao/Taiwan travel permit number
    issue_count: int | None = None  # 'J': how many times this permit was issued
    english_name: str = ""  # 'I'
    nationality: str = ""  # 'I': ISO 3166 alpha-3
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def long_term(self) -> bool:
        return self.valid_to is None

    def validity_text(self) -> str:
        """``2010.01.01-长期`` as printed on the card."""
        end = LONG_TERM if self.valid_to is None else self.valid_to.strftime("%Y.%m.%d")
        return f"{self.valid_from.strftime('%Y.%m.%d')}-{end}"

    def masked(self) -> dict[str, str]:
        """Display-safe strings for screens, receipts and logs (GB/T 35273 §7.2)."""
        return {
            "name": mask_name(self.name),
            "gender": self.gender,
            "nation": self.nation,
            "id_number": mask_id_number(self.id_number),
            "validity": self.validity_text(),
            "card_type": CARD_TYPE_LABELS.get(self.card_type, self.card_type),
        }

    def wipe(self) -> None:
        """Drop every personal value. Python cannot zero immutable strings in place; dropping
        the references is the most it can do, so callers must not keep copies either."""
        self.name = self.gender = self.nation = self.address = self.id_number = ""
        self.issuer = self.pass_number = self.english_name = self.nationality = ""
        self.birth_date = self.valid_from = _dt.date.min
        self.valid_to = None
        self.issue_count = None
        self.photo = b""
        self.extra = {}

    def __repr__(self) -> str:
        return (f"IdentityCard(card_type={self.card_type!r}, name={mask_name(self.name)!r}, "
                f"id_number={mask_id_number(self.id_number)!r})")

    __str__ = __repr__


def _field(text: bytes, spec: tuple[int, int]) -> str:
    offset, size = spec
    raw = text[offset:offset + size]
    try:
        value = raw.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise DeviceProtocolError(
            f"text block offset {offset + exc.start}: not UTF-16LE ({exc.reason})") from exc
    return value.strip(" \x00")


def _date(text: bytes, spec: tuple[int, int], what: str) -> _dt.date:
    value = _field(text, spec)
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return _dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        # The value itself stays out of the message: error messages end up in logs.
        raise DeviceProtocolError(
            f"text block offset {spec[0]}: {what} is not a YYYYMMDD date ({len(value)} characters)") from None


def _valid_to(text: bytes) -> _dt.date | None:
    if _field(text, _VALID_TO) == LONG_TERM:
        return None
    return _date(text, _VALID_TO, "valid-to date")


def _gender(text: bytes, spec: tuple[int, int]) -> str:
    code = _field(text, spec)
    if code not in GENDERS:
        raise DeviceProtocolError(f"text block offset {spec[0]}: unknown gender code {code!r}")
    return GENDERS[code]


def card_type_flag(text: bytes) -> str:
    """The card-type flag at offset 248: ``'resident'``, ``'J'``, ``'I'``, ``'Y'`` or the raw letter."""
    flag = _field(text, _FLAG)
    return "resident" if flag == "" else flag


def decode_text_block(text: bytes, photo: bytes) -> IdentityCard:
    """Decode the 256-byte text block of a read answer.

    Raises :class:`DeviceProtocolError` (naming the text offset) when the block is malformed,
    :class:`UnsupportedCardType` for a well-formed card this kiosk cannot decode.
    """
    if len(text) != TEXT_BLOCK_LEN:
        raise DeviceProtocolError(f"text block is {len(text)} bytes, expected {TEXT_BLOCK_LEN}")
    flag = card_type_flag(text)
    if flag == "I":
        return _decode_foreign_old(text, photo)
    if flag not in ("resident", "J"):
        raise UnsupportedCardType(flag)
    card = IdentityCard(
        name=_field(text, _NAME),
        gender=_gender(text, _GENDER),
        nation="",
        birth_date=_date(text, _BIRTH, "birth date"),
        address=_field(text, _ADDRESS),
        id_number=_field(text, _ID_NUMBER),
        issuer=_field(text, _ISSUER),
        valid_from=_date(text, _VALID_FROM, "valid-from date"),
        valid_to=_valid_to(text),
        card_type=flag,
        photo=bytes(photo),
    )
    if flag == "resident":
        code = _field(text, _NATION)
        if code not in NATIONS:
            raise DeviceProtocolError(f"text block offset {_NATION[0]}: unknown nation code {code!r}")
        card.nation = NATIONS[code]
    else:  # 'J': the nation field is reserved; pass number and issue count follow the dates
        card.pass_number = _field(text, _PASS_NUMBER)
        count = _field(text, _ISSUE_COUNT)
        card.issue_count = int(count) if count.isdigit() else None
    return card


# Old foreign permanent resident card ('I'), after vendor SDK manuals [unconfirmed on a device]:
# English name 120, gender 2, card number 30, nationality 6, Chinese name 30, valid from 16,
# valid to 16, birth date 16, version 4, issuing authority code 8, flag 2, reserved 6.
_I_ENGLISH_NAME = (0, 120)
_I_GENDER = (120, 2)
_I_NUMBER = (122, 30)
_I_NATIONALITY = (152, 6)
_I_CHINESE_NAME = (158, 30)
_I_VALID_FROM = (188, 16)
_I_VALID_TO = (204, 16)
_I_BIRTH = (220, 16)
_I_AUTHORITY = (240, 8)


def _decode_foreign_old(text: bytes, photo: bytes) -> IdentityCard:
    number = _field(text, _I_NUMBER)
    nationality = _field(text, _I_NATIONALITY)
    # The layout is unconfirmed: if the card number does not look like one (3 letters +
    # 12 digits), refuse rather than put misplaced bytes into a resident's form.
    if not (len(number) == 15 and number[:3].isalpha() and number[3:].isdigit()
            and len(nationality) == 3 and nationality.isalpha()):
        raise UnsupportedCardType("I")
    english = _field(text, _I_ENGLISH_NAME)
    return IdentityCard(
        name=_field(text, _I_CHINESE_NAME) or english,
        gender=_gender(text, _I_GENDER),
        nation="",
        birth_date=_date(text, _I_BIRTH, "birth date"),
        address="",
        id_number=number,
        issuer=_field(text, _I_AUTHORITY),
        valid_from=_date(text, _I_VALID_FROM, "valid-from date"),
        valid_to=_date(text, _I_VALID_TO, "valid-to date"),
        card_type="I",
        photo=bytes(photo),
        english_name=english,
        nationality=nationality,
    )


def _put(block: bytearray, spec: tuple[int, int], value: str, what: str) -> None:
    offset, size = spec
    raw = value.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{what} is too long for the card: {len(raw)} bytes, room for {size}")
    block[offset:offset + size] = raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


def encode_text_block(card: IdentityCard) -> bytes:
    """Lay out ``card`` as a 256-byte text block (resident and 'J' layouts; simulator use)."""
    if card.card_type not in ("resident", "J"):
        raise ValueError(f"cannot encode card type {card.card_type!r}")
    block = bytearray(" ".encode("utf-16-le") * (TEXT_BLOCK_LEN // 2))
    _put(block, _NAME, card.name, "name")
    _put(block, _GENDER, GENDER_CODES[card.gender], "gender")
    _put(block, _BIRTH, card.birth_date.strftime("%Y%m%d"), "birth date")
    _put(block, _ADDRESS, card.address, "address")
    _put(block, _ID_NUMBER, card.id_number, "ID number")
    _put(block, _ISSUER, card.issuer, "issuer")
    _put(block, _VALID_FROM, card.valid_from.strftime("%Y%m%d"), "valid-from date")
    _put(block, _VALID_TO, LONG_TERM if card.valid_to is None else card.valid_to.strftime("%Y%m%d"),
         "valid-to date")
    if card.card_type == "resident":
        _put(block, _NATION, NATION_CODES[card.nation], "nation")
    else:
        _put(block, _PASS_NUMBER, card.pass_number, "pass number")
        if card.issue_count is not None:
            _put(block, _ISSUE_COUNT, f"{card.issue_count:02d}", "issue count")
        _put(block, _FLAG, "J", "card type")
    return bytes(block)


def _test_photo(seed: int) -> bytes:
    # Deterministic filler standing in for a WLT blob; it only has to be 1024 opaque bytes.
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(1024))


def sample_cards() -> list[IdentityCard]:
    """Deterministic TEST identities with valid check characters (never real people).

    The first uses the ID number of GB 11643's own example; its sequence code 002 is even, so
    the holder is female.
    """
    return [
        IdentityCard(
            name="张三", gender="女", nation="汉", birth_date=_dt.date(1949, 12, 31),
            address="北京市朝阳区测试路1号", id_number="11010519491231002X",
            issuer="北京市公安局朝阳分局", valid_from=_dt.date(2010, 1, 1), valid_to=None,
            photo=_test_photo(1)),
        IdentityCard(
            name="李四", gender="男", nation="畲", birth_date=_dt.date(1985, 6, 15),
            address="福建省厦门市海沧区测试社区2号", id_number="350205198506150030",
            issuer="厦门市公安局海沧分局", valid_from=_dt.date(2015, 3, 1),
            valid_to=_dt.date(2035, 3, 1), photo=_test_photo(2)),
        IdentityCard(
            name="陈美玲", gender="女", nation="", birth_date=_dt.date(1992, 3, 14),
            address="福建省厦门市海沧区测试大道3号", id_number="830000199203140026",
            issuer="厦门市公安局海沧分局", valid_from=_dt.date(2024, 5, 10),
            valid_to=_dt.date(2029, 5, 10), card_type="J", photo=_test_photo(3),
            pass_number="01234567", issue_count=1),
    ]
