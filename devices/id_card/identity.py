"""The identity a card carries, and its 256-byte text block (DEVICES.md §1).

Card types: ``resident`` (flag ``' '``) resident ID card, ``'J'`` Hong Kong / Macao / Taiwan
residence permit, ``'I'`` (2017) and ``'Y'`` (2023) foreign permanent resident cards. The
256-byte text block's layouts are decoded and encoded in :mod:`devices.id_card.textblock` (which
imports this module, never the other way round); the ID number is checked in
:mod:`devices.id_card.checks`.

An :class:`IdentityCard` holds sensitive personal information (PIPL art. 28): its ``repr``
masks the name and the ID number, :meth:`IdentityCard.masked` gives display-safe strings, and
:meth:`IdentityCard.wipe` drops the values when the session ends.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from devices.base import ActionHint, DeviceError
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
    "I": "外国人永久居留身份证（2017版）",
    "Y": "外国人永久居留身份证（2023版）",
}

class UnsupportedCardType(DeviceError):
    """The reader works, but the card carries a card-type flag this kiosk does not know (a card
    type newer than this software). The resident should be offered another way in."""

    retryable = False
    hint = ActionHint.NONE

    def __init__(self, flag: str) -> None:
        super().__init__(f"card type {flag!r} is not supported by this kiosk's ID card decoder")
        self.flag = flag


@dataclass(repr=False)
class IdentityCard:
    """One card's identity. ``valid_to`` None means 长期 (no expiry). ``photo`` is the opaque
    WLT blob: it goes to the platform's identity check and is never decoded or stored; the same
    holds for ``fingerprint`` (only read on request).

    ``problems`` is filled by the reader after checking the number (GB 11643 and the card's own
    fields): a card with problems is reported, not trusted (see :attr:`trusted`). An expired card
    is still read and trusted as to who it names; whether it may be used is the flow's decision,
    against a date it can trust (:meth:`expired_on`).
    """

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
    issue_count: int | None = None  # 'J': times this permit was issued; 'Y': renewal count
    english_name: str = ""  # 'I', 'Y'
    nationality: str = ""  # 'I', 'Y': country code (GB/T 2659, alpha-3 on 'I')
    card_version: str = ""  # 'I'
    previous_number_link: str = ""  # 'Y': links to the number of the holder's previous card
    fingerprint: bytes = b""
    problems: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        """False when the number failed validation (see ``problems``)."""
        return not self.problems

    @property
    def long_term(self) -> bool:
        return self.valid_to is None

    def expired_on(self, today: _dt.date) -> bool:
        """Whether the card had expired on ``today``: a card is valid through its valid-to date
        (printed ``2010.01.01-2020.01.01``: usable on 2020-01-01, expired from 2020-01-02); a 长期
        card never expires. :attr:`trusted` says nothing about this: the reader does not know a
        trusted date, so the flow asks (``kiosk/flow/identity.py``, ``expired_since``)."""
        return self.valid_to is not None and today > self.valid_to

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
        self.card_version = self.previous_number_link = ""
        self.birth_date = self.valid_from = _dt.date.min
        self.valid_to = None
        self.issue_count = None
        self.photo = self.fingerprint = b""
        self.extra = {}

    def __repr__(self) -> str:
        return (f"IdentityCard(card_type={self.card_type!r}, name={mask_name(self.name)!r}, "
                f"id_number={mask_id_number(self.id_number)!r})")

    __str__ = __repr__


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


def sample_foreign_cards() -> list[IdentityCard]:
    """TEST foreign permanent resident cards, one of each edition ('I' 2017, 'Y' 2023).

    Kept apart from :func:`sample_cards` because their numbers are not citizen ID numbers.
    The 'Y' English name is longer than 35 characters on purpose: it spans both name fields.
    """
    return [
        IdentityCard(
            name="史密斯", gender="男", nation="", birth_date=_dt.date(1980, 1, 1), address="",
            id_number="USA350280010101", issuer="3502", valid_from=_dt.date(2020, 1, 1),
            valid_to=_dt.date(2030, 1, 1), card_type="I", photo=_test_photo(4),
            english_name="SMITH, JOHN", nationality="USA", card_version="01"),
        IdentityCard(
            name="蒙蒂", gender="女", nation="", birth_date=_dt.date(1990, 3, 15), address="",
            id_number="93584019900315002X", issuer="", valid_from=_dt.date(2024, 1, 2),
            valid_to=_dt.date(2034, 1, 2), card_type="Y", photo=_test_photo(5),
            english_name="MONTGOMERY-WHITFIELD, ALEXANDRA CATHERINE", nationality="USA",
            issue_count=0),
    ]


def sample_expired_cards() -> list[IdentityCard]:
    """TEST cards whose validity ended long ago (expired months or years before any date these
    tests run on): a 'J' residence permit, a resident ID card and a 'Y' permanent residence card.
    Their numbers pass every check: only the validity is wrong."""
    return [
        IdentityCard(
            name="林志明", gender="男", nation="", birth_date=_dt.date(1988, 8, 8),
            address="福建省厦门市海沧区测试大道8号", id_number="810000198808080013",
            issuer="厦门市公安局海沧分局", valid_from=_dt.date(2019, 3, 1),
            valid_to=_dt.date(2024, 3, 1), card_type="J", photo=_test_photo(6),
            pass_number="H01234567", issue_count=1),
        IdentityCard(
            name="王五", gender="男", nation="汉", birth_date=_dt.date(1970, 5, 20),
            address="福建省厦门市海沧区测试路5号", id_number="350205197005200058",
            issuer="厦门市公安局海沧分局", valid_from=_dt.date(2005, 6, 1),
            valid_to=_dt.date(2025, 6, 1), photo=_test_photo(7)),
        IdentityCard(
            name="安娜", gender="女", nation="", birth_date=_dt.date(1985, 2, 2), address="",
            id_number="935643198502020020", issuer="", valid_from=_dt.date(2014, 1, 2),
            valid_to=_dt.date(2024, 1, 2), card_type="Y", photo=_test_photo(8),
            english_name="PETROVA, ANNA", nationality="643", issue_count=0),
    ]
