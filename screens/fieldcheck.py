"""What to tell a resident about a field as they type it (pure Python, no pygame).

``field_problem(field_type, text, language, final=...)`` returns a short message in the resident's
language, or None when there is nothing to fix. While typing (``final=False``) only definite
mistakes are reported — a wrong region code after two digits, an impossible birth date, a wrong
check character — never "too short"; when the resident presses done (``final=True``) an
incomplete or empty required field is reported too. Messages never repeat what was typed.

The checks are kiosk/validators.py's; this module only decides when to say what.
"""

from __future__ import annotations

import datetime as _dt

from kiosk import validators

FIELD_TYPES = ("text", "name", "id_number", "mobile", "date", "birth_date", "digits")
# The catalog's field types (kiosk/catalog/model.py) as the checks here know them: the keyboard is
# opened with the form field's own type. The catalog's check still decides on "next".
CATALOG_TYPES = {"citizen_id": "id_number", "bank_account": "digits", "integer": "digits", "amount": "text",
                 "social_credit_code": "text", "choice": "text"}

MESSAGES: dict[str, dict[str, str]] = {
    "zh_CN": {
        "empty": "请填写此项", "id_short": "身份证号码共 18 位，还差 {n} 位",
        "id_region": "前两位不是省份代码，请核对", "id_date": "第 7–14 位的出生日期不对，请核对",
        "id_check": "最后一位校验码不对，请逐位核对", "id_x": "X 只能是最后一位",
        "mobile_start": "手机号码以 13–19 开头", "mobile_short": "手机号码共 11 位，还差 {n} 位",
        "date": "日期不存在，请重新选择", "date_future": "日期不能晚于今天",
        "digits": "只能填数字", "name": "姓名不能含数字或符号",
    },
    "zh_TW": {
        "empty": "請填寫此項", "id_short": "身分證號碼共 18 位，還差 {n} 位",
        "id_region": "前兩位不是省份代碼，請核對", "id_date": "第 7–14 位的出生日期不對，請核對",
        "id_check": "最後一位校驗碼不對，請逐位核對", "id_x": "X 只能是最後一位",
        "mobile_start": "手機號碼以 13–19 開頭", "mobile_short": "手機號碼共 11 位，還差 {n} 位",
        "date": "日期不存在，請重新選擇", "date_future": "日期不能晚於今天",
        "digits": "只能填數字", "name": "姓名不能含數字或符號",
    },
    "en": {
        "empty": "Please fill this in", "id_short": "An ID number has 18 characters; {n} more to go",
        "id_region": "The first two digits are not a province code; please check",
        "id_date": "Digits 7–14 are not a real birth date; please check",
        "id_check": "The last character does not match; please check each digit",
        "id_x": "X can only be the last character",
        "mobile_start": "A mobile number starts with 13 to 19",
        "mobile_short": "A mobile number has 11 digits; {n} more to go",
        "date": "That date does not exist; please choose again", "date_future": "The date cannot be after today",
        "digits": "Digits only, please", "name": "A name cannot contain digits or symbols",
    },
}


def _say(language: str, key: str, **values: object) -> str:
    table = MESSAGES.get(language) or MESSAGES["zh_CN"]
    return table[key].format(**values)


def field_problem(field_type: str, text: str, language: str = "zh_CN", *, final: bool = False,
                  required: bool = True, today: _dt.date | None = None) -> str | None:
    """The message to show next to a field of ``field_type`` holding ``text``; None when fine.

    Raises ValueError for an unknown ``field_type`` (a catalog or screen bug, not the resident's).
    """
    field_type = CATALOG_TYPES.get(field_type, field_type)
    if field_type not in FIELD_TYPES:
        raise ValueError(f"unknown field type {field_type!r}; one of {', '.join(FIELD_TYPES)}")
    text = text.strip()
    if not text:
        return _say(language, "empty") if final and required else None
    check = _CHECKS.get(field_type)
    return check(text, language, final, today) if check else None


def _id_number(s: str, language: str, final: bool, today: _dt.date | None) -> str | None:
    s = s.upper()
    if "X" in s[:-1] or (s.endswith("X") and len(s) != 18):
        return _say(language, "id_x")
    if not s.rstrip("X").isdigit():
        return _say(language, "digits")
    if len(s) >= 2 and s[:2] not in validators.PROVINCE_CODES:
        return _say(language, "id_region")
    if len(s) >= 14:
        birth = validators.citizen_id_birth_date(s)
        if birth is None or not _dt.date(1850, 1, 1) <= birth <= (today or _dt.date.today()):
            return _say(language, "id_date")
    if len(s) == 18:
        return _say(language, "id_check") if validators.citizen_id_problems(s, today=today) else None
    if len(s) > 18 or final:
        return _say(language, "id_short", n=max(0, 18 - len(s))) if len(s) < 18 else _say(language, "id_check")
    return None


def _mobile(s: str, language: str, final: bool, today: _dt.date | None) -> str | None:
    if not s.isdigit():
        return _say(language, "digits")
    if s[0] != "1" or (len(s) >= 2 and s[1] not in "3456789"):
        return _say(language, "mobile_start")
    if len(s) > 11 or (final and not validators.mobile_valid(s)):
        return _say(language, "mobile_short", n=max(0, 11 - len(s))) if len(s) < 11 else _say(language, "mobile_start")
    return None


def _date(s: str, language: str, final: bool, today: _dt.date | None) -> str | None:
    """A real calendar date, YYYY-MM-DD (an appointment may lie ahead, so no range here)."""
    try:
        _dt.date.fromisoformat(s)
    except ValueError:
        return _say(language, "date")
    return None


def _birth_date(s: str, language: str, final: bool, today: _dt.date | None) -> str | None:
    problem = _date(s, language, final, today)
    if problem is None and _dt.date.fromisoformat(s) > (today or _dt.date.today()):
        return _say(language, "date_future")
    return problem


def _digits(s: str, language: str, final: bool, today: _dt.date | None) -> str | None:
    return None if s.isdigit() else _say(language, "digits")


def _name(s: str, language: str, final: bool, today: _dt.date | None) -> str | None:
    # Names may hold CJK, Latin letters, spaces and the middle dots of minority and foreign names.
    ok = all(ch.isalpha() or ch in " ·•.-'" for ch in s)
    return None if ok else _say(language, "name")


_CHECKS = {"id_number": _id_number, "mobile": _mobile, "date": _date, "birth_date": _birth_date, "digits": _digits, "name": _name}
