"""Request signing between the gateway and the platform (TARGETS S5): HMAC-SHA256, or HMAC-SM3 under
``security.suite = "sm"`` (the primitives: :mod:`kiosk.crypto`).

The signed string is, one field a line::

    METHOD
    /path?query
    timestamp (Unix seconds)
    nonce
    kiosk id
    hex hash of the body (SHA-256; SM3 under the sm suite)

and travels in ``X-Signature`` (hex) with ``X-Kiosk-Id``, ``X-Timestamp`` and ``X-Nonce``. The sm suite
names its method in ``X-Signature-Method: HMAC-SM3``; a request without that header is HMAC-SHA256, byte
for byte as before suites. A verifier accepts only the suites it is given, so a platform that requires
SM3 refuses a SHA-256 signature rather than being downgraded.
The nonce makes two identical requests in the same second (a resident printing the same
proof twice) sign differently, so the verifier's replay cache can refuse every signature
it has already seen within the ±300 s window.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from kiosk.crypto import SUITES, Suite, check_suite, digest, equal, mac

HEADER_KIOSK = "X-Kiosk-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"
HEADER_METHOD = "X-Signature-Method"
METHODS: dict[Suite, str] = {"intl": "HMAC-SHA256", "sm": "HMAC-SM3"}
WINDOW_S = 300.0
REPLAY_CACHE_MAX = 100_000


class SignatureError(Exception):
    """A request's signature is missing, malformed, out of its time window, wrong or replayed."""


def body_digest(body: bytes, suite: str = "intl") -> str:
    """Hex hash of the body (of ``b""`` when there is none): SHA-256, or SM3 under the sm suite."""
    return digest(suite, body).hex()


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, kiosk_id: str, body: bytes,
                   suite: str = "intl") -> bytes:
    """The exact bytes that are MAC'd; see the module docstring."""
    return "\n".join((method.upper(), path, timestamp, nonce, kiosk_id, body_digest(body, suite))).encode("utf-8")


def _mac(secret: str, message: bytes, suite: str) -> str:
    return mac(suite, secret.encode("utf-8"), message).hex()


def sign(secret: str, kiosk_id: str, method: str, path: str, body: bytes, *, suite: str = "intl",
         now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """Headers that sign a request for ``path`` (path plus query string, as sent) in ``suite``."""
    suite = check_suite(suite)
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_hex(12)
    headers = {
        HEADER_KIOSK: kiosk_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: _mac(secret, string_to_sign(method, path, timestamp, nonce, kiosk_id, body, suite), suite),
    }
    if suite != "intl":
        headers[HEADER_METHOD] = METHODS[suite]
    return headers


def suite_of(headers: Mapping[str, str]) -> Suite | None:
    """The suite a request's ``X-Signature-Method`` names (none: intl), None for a method we do not know."""
    named = headers.get(HEADER_METHOD) or METHODS["intl"]
    return next((suite for suite, name in METHODS.items() if name.lower() == named.strip().lower()), None)


class Verifier:
    """Checks signed requests: right MAC in one of ``suites``, timestamp within ±``window_s``, never seen
    before. Thread-safe."""

    def __init__(self, secret: str, *, suites: Iterable[str] = SUITES, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.time, cache_max: int = REPLAY_CACHE_MAX) -> None:
        self._secret = secret
        self.suites: tuple[Suite, ...] = tuple(check_suite(s) for s in suites)
        self._window = window_s
        self._clock = clock
        self._cache_max = cache_max
        self._seen: OrderedDict[str, float] = OrderedDict()  # signature → when it may be forgotten
        self._lock = threading.Lock()

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """Return the verified kiosk id, or raise :class:`SignatureError` saying what is wrong."""
        values = {}
        for name in (HEADER_KIOSK, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE):
            value = headers.get(name)
            if not value:
                raise SignatureError(f"missing header {name}")
            values[name] = value
        try:
            timestamp = int(values[HEADER_TIMESTAMP])
        except ValueError:
            raise SignatureError(f"{HEADER_TIMESTAMP} is not Unix seconds") from None
        now = self._clock()
        if abs(now - timestamp) > self._window:
            raise SignatureError(f"{HEADER_TIMESTAMP} is more than {self._window:.0f} s from the platform's "
                                 "clock (check the kiosk's time)")
        suite = suite_of(headers)
        if suite is None or suite not in self.suites:
            wanted = " or ".join(METHODS[s] for s in self.suites)
            raise SignatureError(f"{HEADER_METHOD} {headers.get(HEADER_METHOD) or METHODS['intl']!r} is not accepted "
                                 f"here: sign with {wanted} (security.suite)")
        expected = _mac(self._secret, string_to_sign(method, path, values[HEADER_TIMESTAMP], values[HEADER_NONCE],
                                                     values[HEADER_KIOSK], body, suite), suite)
        signature = values[HEADER_SIGNATURE].lower()
        if not equal(expected, signature):
            raise SignatureError("signature does not match (wrong secret, or the request was altered)")
        with self._lock:
            self._forget_expired(now)
            if signature in self._seen:
                raise SignatureError("signature already used (replayed request)")
            # Remembered until its timestamp leaves the window: after that the window check refuses it.
            self._seen[signature] = timestamp + self._window
            while len(self._seen) > self._cache_max:
                self._seen.popitem(last=False)
        return values[HEADER_KIOSK]

    def _forget_expired(self, now: float) -> None:
        # Entries are inserted roughly in time order, so expired ones gather at the front.
        while self._seen:
            _, until = next(iter(self._seen.items()))
            if until >= now:
                break
            self._seen.popitem(last=False)
