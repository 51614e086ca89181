"""Rate limits of the gateway (issue 17), with Flask-Limiter: one limiter per app, built by the app
factory (:func:`install_limits`), counting in memory (a restart forgets; nothing on disk).

- Failed token checks are throttled, not locked out: each source address (all of 127.0.0.0/8,
  ``::1`` and IPv4-mapped loopback count as one source; an IPv6 address by its /64) may fail
  ``gateway.auth_source_max_failures`` times, and each token id ``gateway.auth_max_failures``
  times, within ``gateway.auth_lockout_s`` (a moving window: a failure stops counting that long
  after it happened, so tries come back one by one, like a token bucket). Past that, a request
  with a wrong token is answered 429 ``too_many_failures`` with ``Retry-After``. Only failures
  are counted (``deduct_when``), and a request carrying a valid token is exempt (``exempt_when``),
  so nobody's failures ever refuse a right token — and the secrets are 256-bit, so letting a right
  token through tells a guesser nothing it could have guessed.
- Views marked with :func:`rate_limited` (the kiosk app's audit records) get a plain rate per
  source: ``429 too_many_requests`` with ``Retry-After`` past it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.wrappers import RequestLimit

from kiosk.settings import GatewaySection
from local_api.web.auth import ip_of, presented_token, token_check_failed, token_is_valid
from local_api.web.errors import error
from local_api.web.services import services

log = logging.getLogger(__name__)

def kiosk_audit_rate(gw: GatewaySection) -> str:
    """The kiosk app's maintenance-mode records: a few per visit of a technician, never dozens a minute."""
    return f"{gw.kiosk_audit_per_minute} per minute"


RATE_ATTRIBUTE = "gateway_rate_limit"
FAILURE_SCOPES = ("failed-token-checks-by-source", "failed-token-checks-by-token")
UNLIMITED_BLUEPRINTS = frozenset({"kiosk_door"})  # the kiosk app's own door takes no tokens

_V = TypeVar("_V", bound=Callable[..., Any])


def rate_limited(rate: Callable[[GatewaySection], str], *,
                 counts: Callable[[], bool] = lambda: True) -> Callable[[_V], _V]:
    """Mark a view to be limited per source address to ``rate(gateway settings)`` (Flask-Limiter notation,
    e.g. ``"30 per minute"``), counting only requests for which ``counts()`` is true;
    :func:`install_limits` applies it with the app's limiter."""
    def mark(view: _V) -> _V:
        setattr(view, RATE_ATTRIBUTE, (rate, counts))
        return view
    return mark


def source_key() -> str:
    """The source a request is counted against: ``loopback`` for any loopback address, an IPv6
    address's /64, else the address."""
    raw = request.remote_addr or "unknown"
    address = ip_of(raw)
    if address is None:
        return raw
    if address.is_loopback:
        return "loopback"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _claimed_token_id() -> str:
    token = presented_token() or ""
    token_id = token[4:].partition(".")[0] if token.startswith("kgw_") and "." in token else ""
    return f"token:{token_id[:16]}" if token_id else "token:malformed"


def _not_a_failed_try() -> bool:
    """Exempt from the failure limits: requests without a token, and requests with a valid one."""
    token = presented_token()
    return token is None or token_is_valid(token)


def _failed(response: Response) -> bool:
    return token_check_failed()


def install_limits(app: Flask, gw: GatewaySection) -> Limiter:
    """Build ``app``'s limiter (in memory) from the gateway settings ``gw``: the failure limits on every
    blueprint that checks tokens, and the rates of the views marked with :func:`rate_limited`. Call
    after registering the blueprints."""
    window = gw.auth_lockout_s
    per_source = f"{gw.auth_source_max_failures} per {math.ceil(window)} second"
    per_token = f"{gw.auth_max_failures} per {math.ceil(window)} second"
    limiter = Limiter(source_key, app=app, storage_uri="memory://", strategy="moving-window",
                      headers_enabled=False, default_limits=[], application_limits=[])
    noticed: dict[str, float] = {}
    noticed_lock = threading.Lock()

    def breached(limit: RequestLimit) -> None:
        key = str(limit.key)
        now = time.monotonic()
        with noticed_lock:  # one event per source or token id and window, not one per refused try
            if noticed.get(key, 0.0) > now:
                return
            for old in [k for k, until in noticed.items() if until <= now]:
                del noticed[old]
            noticed[key] = now + window
        who = source_key() if "by-source" in key else _claimed_token_id().removeprefix("token:")
        what = "address" if "by-source" in key else "token id"
        services().events.add("auth_throttled", f"failed token checks throttled for {what} {who}", source=who)
        log.warning("auth: failed token checks throttled for %s %s", what, who)

    for name in app.blueprints:
        if name in UNLIMITED_BLUEPRINTS:
            continue
        blueprint = app.blueprints[name]
        limiter.shared_limit(per_source, scope=FAILURE_SCOPES[0], key_func=source_key, exempt_when=_not_a_failed_try,
                             deduct_when=_failed, on_breach=breached)(blueprint)
        limiter.shared_limit(per_token, scope=FAILURE_SCOPES[1], key_func=_claimed_token_id,
                             exempt_when=_not_a_failed_try, deduct_when=_failed, on_breach=breached)(blueprint)
    for endpoint, view in list(app.view_functions.items()):
        marked = getattr(view, RATE_ATTRIBUTE, None)
        if marked:
            rate, counts = marked
            app.view_functions[endpoint] = limiter.limit(rate(gw), key_func=source_key,
                                                         exempt_when=lambda counts=counts: not counts())(view)

    def too_many(exc: RateLimitExceeded) -> tuple[Response, int]:
        current = limiter.current_limit
        wait = max(1, math.ceil(current.reset_at - time.time())) if current is not None else 1
        if any(scope in str(current.key if current is not None else "") for scope in FAILURE_SCOPES):
            answer, status = error(429, "too_many_failures", "too many failed token checks from this address or "
                                   f"for this token id; try again in {wait} s (a right token is not refused)")
        else:
            answer, status = error(429, "too_many_requests", f"too many requests; try again in {wait} s")
        answer.headers["Retry-After"] = str(wait)
        return answer, status

    app.register_error_handler(RateLimitExceeded, too_many)
    return limiter

