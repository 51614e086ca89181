"""Strict JSON in and out of the gateway (issue 17).

In: :func:`read_json` parses a request body with a depth limit (:data:`MAX_DEPTH`), refuses what is
not standard JSON (``NaN``, ``Infinity``, numbers beyond a float such as ``1e999999``) and says which
limit or token it was, in plain words, as :class:`JSONRefused` (a ``ValueError``). The nesting is
counted before anything is parsed, so a body nested a thousand deep never reaches the parser's
recursion. Out: :class:`StrictJSONProvider` is the app's ``app.json``; it reads with the same rules
(``request.get_json`` anywhere) and never writes ``NaN`` or ``Infinity`` (``allow_nan=False``: a value
that cannot be written as JSON is an error, not a non-standard answer).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask.json.provider import DefaultJSONProvider

from local_api.strict_json import STRICT_NUMBERS, NotStandardJSON

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a request body may have (the deepest real body has 6)."""

# A JSON string (escapes included) or one bracket: strings are skipped whole, so brackets inside them
# do not count. The unrolled loop keeps a multi-megabyte base64 string one fast match.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|([\]}])', re.DOTALL)


class JSONRefused(ValueError):
    """A body that is not JSON the gateway reads; the message names the limit or the token."""


def nesting_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit`` (counted without parsing)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # not even that many brackets, in strings or not (most bodies: no scan needed)
    depth = 0
    for match in _TOKENS.finditer(text):
        if match.group(1):
            depth += 1
            if depth > limit:
                return True
        elif match.group(2):
            depth -= 1
    return False


def read_json(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a request body strictly; :class:`JSONRefused` says why it cannot be read."""
    if isinstance(data, bytes):
        try:
            text = data.decode(json.detect_encoding(data), "surrogatepass")
        except (UnicodeDecodeError, LookupError):
            raise JSONRefused("the body is not UTF-8 text") from None
    else:
        text = data
    if nesting_depth_exceeds(text, max_depth):
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, **STRICT_NUMBERS)
    except NotStandardJSON as exc:
        raise JSONRefused(str(exc)) from None
    except RecursionError:  # unreachable after the depth count; kept so it can never be a 500
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise JSONRefused(f"not valid JSON ({exc})") from None


class StrictJSONProvider(DefaultJSONProvider):
    """The gateway's ``app.json``: strict reading (:func:`read_json`), standard JSON only when writing,
    readable Chinese (no ``\\u`` escapes) and keys in the order the views built them."""

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return read_json(s)
