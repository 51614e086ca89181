"""Amounts of money as residents see and hear them: ``Decimal`` yuan, never floats.

``yuan_text`` shows an amount as ``¥120.00``; ``spoken_amount`` says it in words in the resident's
language (一百二十元 / 一百二十元 in 繁體 with 萬 / "one hundred and twenty yuan"), jiao and fen included.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
_DIGITS = "零一二三四五六七八九"
_EN_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def as_amount(value: object) -> Decimal | None:
    """A money amount (yuan, two decimals) from a Decimal, an int or a decimal string; None if it is not one."""
    if isinstance(value, bool | float):
        return None  # a float is never money here
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount.quantize(CENT)


def yuan_text(amount: Decimal) -> str:
    """``¥120.00``: the yuan sign and two decimals, as a counter shows a fee."""
    return f"¥{amount.quantize(CENT):,.2f}"


def _zh_under_10000(n: int) -> str:
    """0 < n < 10000 in Chinese numerals (一千零五, 一百二十, 十五 only at the head: 十五 not 一十五)."""
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + unit
    return out


def _zh_integer(n: int, traditional: bool) -> str:
    if n == 0:
        return "零"
    wan = "萬" if traditional else "万"
    high, low = divmod(n, 10000)
    text = ""
    if high:
        text = _zh_integer(high, traditional) + wan
        if 0 < low < 1000:
            text += "零"
    if low:
        text += _zh_under_10000(low)
    if text.startswith("一十"):
        text = text[1:]
    return text


def _en_under_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = [f"{_EN_ONES[hundreds]} hundred"] if hundreds else []
    if rest:
        if hundreds:
            words.append("and")
        words.append(_EN_ONES[rest] if rest < 20 else
                     _EN_TENS[rest // 10] + (f"-{_EN_ONES[rest % 10]}" if rest % 10 else ""))
    return " ".join(words)


def _en_integer(n: int) -> str:
    if n == 0:
        return "zero"
    parts = []
    for value, name in ((1_000_000, "million"), (1000, "thousand"), (1, "")):
        chunk = n // value % 1000
        if chunk:
            parts.append(_en_under_1000(chunk) + (f" {name}" if name else ""))
    return " ".join(parts)


def spoken_amount(amount: Decimal, language: str) -> str:
    """The amount in words: 一百二十元整, 十元五角, "one hundred and twenty yuan", "ten yuan and fifty fen"."""
    cents = int((amount.quantize(CENT) * 100).to_integral_value())
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if language == "en":
        words = [f"{_en_integer(yuan)} yuan"] if yuan or not rest else []
        if rest:
            words.append(f"{_en_integer(rest)} fen")
        return " and ".join(words)
    traditional = language == "zh_TW"
    text = _zh_integer(yuan, traditional) + "元" if yuan or not rest else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif fen and yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text if rest else text + "整"
