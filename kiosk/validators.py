"""Check digits of the identifiers residents type or cards carry (DOMAIN.md, validation rules).

- Citizen ID number, GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence
  (odd male, even female), ISO 7064 MOD 11-2 check character.
- Unified social credit code, GB 32100-2015: 18 characters, MOD 31 check character.
- Mobile number: a loose pattern, because number ranges change.
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


def citizen_id_valid(value: str, *, today: _dt.date | None = None) -> bool:
    """True if ``value`` is a well-formed GB 11643 citizen ID number.

    Checks the length, the digits, the birth date (a real calendar date, not in the future, not
    before 1850) and the check character. A lowercase ``x`` is accepted, since residents type it.
    Region codes are not checked against GB/T 2260: codes change, and permit holders
    (HK/Macao/Taiwan 81/82/83) and foreigners (9) use codes outside the province list.
    """
    if not isinstance(value, str):
        return False
    s = value.strip().upper()
    if len(s) != 18 or not s.isascii() or not s[:17].isdigit() or s[0] == "0":
        return False
    birth = citizen_id_birth_date(s)
    if birth is None or birth < _EARLIEST_BIRTH or birth > (today or _dt.date.today()):
        return False
    return citizen_id_check_char(s[:17]) == s[17]


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
