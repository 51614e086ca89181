"""Check digits of the identifiers residents type or cards carry (DOMAIN.md, validation rules).

- Citizen ID number, GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence
  (odd male, even female), ISO 7064 MOD 11-2 check character.
- Unified social credit code, GB 32100-2015: 18 characters, MOD 31 check character.
- Mobile number: a loose pattern, because number ranges change.
- Foreign permanent resident card numbers: the 2023 card's 18 digits (``9`` + acceptance
  province + numeric country code + birth date + sequence + the same MOD 11-2 check character),
  and the older cards' 15 characters (3-letter country code + 12 digits).
"""

from __future__ import annotations

import datetime as _dt
import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# Nobody alive was born before this; an earlier "date" in an ID number is a typing error.
_EARLIEST_BIRTH = _dt.date(1850, 1, 1)

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O Z S V
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_INDEX = {c: i for i, c in enumerate(_USCC_CHARS)}

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

# Province-level codes of GB/T 2260 (the first two digits of a citizen ID number), plus 71
# (Taiwan) and the 81 / 82 / 83 codes that Hong Kong / Macao / Taiwan residence permits carry.
# Only the province is checked: county codes are renamed and merged every year, and an ID number
# keeps the code it was issued with, so a county list would reject real people.
PROVINCE_CODES: frozenset[str] = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})


def citizen_id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits (``"11010519491231002"`` → ``"X"``).

    Raises :class:`ValueError` unless ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the first 17 characters of a citizen ID number must be digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def citizen_id_birth_date(value: str) -> _dt.date | None:
    """The birth date encoded in an 18-character ID number, or None if it is not a real date."""
    digits = value[6:14]
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        return _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def citizen_id_problems(value: str, *, today: _dt.date | None = None) -> list[str]:
    """What is wrong with ``value`` as a GB 11643 citizen ID number, in plain words; [] when valid.

    Checks the length and digits, the region (province-level code, see :data:`PROVINCE_CODES`),
    the birth date (a real calendar date, not in the future, not before 1850) and the check
    character. A lowercase ``x`` is accepted, since residents type it. The messages never repeat
    the number: they may end up in logs.
    """
    return _eighteen_char_problems(value, today, region=slice(0, 2),
                                   region_problem="region code names no province")


def citizen_id_valid(value: str, *, today: _dt.date | None = None) -> bool:
    """True if ``value`` is a well-formed GB 11643 citizen ID number (see :func:`citizen_id_problems`)."""
    return not citizen_id_problems(value, today=today)


def citizen_id_gender(value: str) -> str:
    """``"男"`` for an odd sequence digit (17th character), ``"女"`` for an even one."""
    return "男" if int(value[16]) % 2 else "女"


def social_credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    s = first17.upper()
    if len(s) != 17 or any(c not in _USCC_INDEX for c in s):
        raise ValueError("a social credit code uses 0-9 and A-H J-N P-R T U W-Y only")
    total = sum(_USCC_INDEX[c] * w for c, w in zip(s, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def social_credit_code_valid(value: str) -> bool:
    """True if ``value`` is an 18-character unified social credit code with the right check char."""
    if not isinstance(value, str):
        return False
    s = value.strip().upper()
    if len(s) != 18 or any(c not in _USCC_INDEX for c in s):
        return False
    return social_credit_code_check_char(s[:17]) == s[17]


def mobile_valid(value: str) -> bool:
    """True for a mainland mobile number (``1[3-9]`` + 9 digits)."""
    return isinstance(value, str) and bool(_MOBILE_RE.match(value.strip()))


def foreign_permanent_id_problems(value: str, *, today: _dt.date | None = None) -> list[str]:
    """What is wrong with an 18-digit 2023 foreign permanent resident card number; [] when valid.

    Layout after the National Immigration Administration's 2023 machine-readable rules (as
    republished by reader vendors): ``9``, 2-digit acceptance province, 3-digit numeric country
    code, birth date YYYYMMDD, 2-digit sequence, MOD 11-2 check character.
    """
    return _eighteen_char_problems(value, today, region=slice(1, 3),
                                   region_problem="acceptance region code names no province",
                                   lead=("9", "does not start with 9 (the foreigner's mark)"))


def _eighteen_char_problems(value: object, today: _dt.date | None, *, region: slice, region_problem: str,
                            lead: tuple[str, str] | None = None) -> list[str]:
    """The checks both 18-character numbers share: shape, optional leading mark, province-level region,
    birth date at offset 6 and the GB 11643 check character."""
    if not isinstance(value, str):
        return ["not text"]
    s = value.strip().upper()
    if len(s) != 18 or not s.isascii() or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return ["not 17 digits and a check character"]
    problems = []
    if lead is not None and not s.startswith(lead[0]):
        problems.append(lead[1])
    if s[region] not in PROVINCE_CODES:
        problems.append(region_problem)
    birth = citizen_id_birth_date(s)
    if birth is None:
        problems.append("birth date is not a calendar date")
    elif birth < _EARLIEST_BIRTH or birth > (today or _dt.date.today()):
        problems.append("birth date is out of range")
    if citizen_id_check_char(s[:17]) != s[17]:
        problems.append("check character does not match")
    return problems


def foreign_permanent_id_old_problems(value: str) -> list[str]:
    """What is wrong with a 15-character (2004 / 2017) foreign permanent resident card number.

    Shape only: 3 Latin letters (the country) + 12 digits, whose first two name a province.
    The old number's own check digit algorithm is not public [unconfirmed], so it is not checked.
    """
    if not isinstance(value, str):
        return ["not text"]
    s = value.strip().upper()
    if len(s) != 15 or not s.isascii() or not s[:3].isalpha() or not s[3:].isdigit():
        return ["not 3 letters and 12 digits"]
    if s[3:5] not in PROVINCE_CODES:
        return ["acceptance region code names no province"]
    return []
