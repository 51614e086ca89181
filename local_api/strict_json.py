"""Standard JSON numbers only, read the same way wherever the gateway reads JSON (issue 17).

``json.loads`` accepts ``NaN``, ``Infinity`` and numbers beyond a float (``1e999999`` becomes
``inf``); none of them is JSON. :data:`STRICT_NUMBERS` are the hooks that refuse them, for the
request reader (``local_api.web.jsonio``) and for the platform's answers (``local_api.link.client``).
"""

from __future__ import annotations

import math
from typing import Any


class NotStandardJSON(ValueError):
    """A number JSON does not have; the message names it."""


def refuse_constant(name: str) -> Any:
    raise NotStandardJSON(f"{name} is not a JSON number; send a finite number or null")


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStandardJSON(f"the number {text[:40]} is too large for a 64-bit float")
    return value


STRICT_NUMBERS: dict[str, Any] = {"parse_constant": refuse_constant, "parse_float": finite_float}
"""Keyword arguments for ``json.loads`` (or ``requests.Response.json``) that refuse what is not JSON."""
