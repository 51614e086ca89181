"""Who is asking: the checks every door makes, and the console pages' log-in.

- :func:`is_loopback`: the kiosk app's own door answers this machine only: the peer address is
  the socket's, and a request that came through a proxy (``gateway.trusted_proxies``,
  :class:`local_api.web.door.TrustedProxies`) is never loopback;
- :func:`require`: a view for operators or technicians; the request carries a bearer token or a
  console session cookie (plus the CSRF token on a state-changing request), and an address with
  too many failed token checks is locked out (:mod:`local_api.web.credentials` keeps the
  tokens, lock-outs and sessions);
- ``/console/session``: a console page logs in with a token and gets an HttpOnly session cookie
  and the CSRF token for its forms; it can ask who it is, and log out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from local_api.web.bodies import SessionBody, parse
from local_api.web.credentials import SESSION_COOKIE, Principal
from local_api.web.errors import error
from local_api.web.services import services

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
VIA_PROXY = "kiosk.via_proxy"
"""WSGI environ key: the request carried forwarding headers (set by ``local_api.web.door.TrustedProxies``)."""

bp = Blueprint("auth", __name__)


def is_loopback() -> bool:
    """Whether the request came from this machine, and not through a proxy on it (a TLS-terminating
    proxy on the terminal connects from loopback on behalf of someone elsewhere)."""
    return request.remote_addr in LOOPBACK and not request.environ.get(VIA_PROXY)


def _locked_out(left: float) -> tuple[Response, int]:
    answer, status = error(429, "locked_out", f"too many failed token checks from this address; try again in "
                           f"{int(left) + 1} s")
    answer.headers["Retry-After"] = str(int(left) + 1)
    return answer, status


def _token_failed(address: str) -> tuple[Response, int]:
    svc = services()
    svc.metrics.auth_failures.inc()
    if svc.lockout.failed(address):
        svc.events.add("auth_lockout", f"{address} locked out after repeated failed token checks",
                       address=address)
        log.warning("auth: %s locked out after repeated failed token checks", address)
        return _locked_out(svc.lockout.lockout_s)
    answer, status = error(401, "unauthorized", "the token is not valid (Authorization: Bearer kgw_…)")
    answer.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-gateway", error="invalid_token"'
    return answer, status


def _verify_token(token: str) -> Principal | None:
    tokens = services().tokens
    return tokens.verify(token) if tokens is not None else None


def authenticate(role: str) -> Principal | tuple[Response, int]:
    """The request's principal if it has at least ``role``, else the answer to give (401/403/429)."""
    svc = services()
    address = request.remote_addr or "unknown"
    left = svc.lockout.remaining_s(address)
    if left > 0:
        return _locked_out(left)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        principal = _verify_token(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            return _token_failed(address)
        svc.lockout.succeeded(address)
    else:
        sid = request.cookies.get(SESSION_COOKIE, "")
        principal = svc.sessions.get(sid) if sid else None
        if principal is None:
            answer, status = error(401, "unauthorized", "a token is required (Authorization: Bearer kgw_…)")
            answer.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-gateway"'
            return answer, status
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
            if not svc.sessions.csrf_ok(sid, sent):
                return error(403, "csrf_failed", "this form is missing its CSRF token; reload the page")
    if not principal.may(role):
        return error(403, "forbidden", f"this needs the {role} role; the token has {principal.role}")
    return principal


def require(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: only principals with at least ``role``; ``g.principal`` is set."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            found = authenticate(role)
            if not isinstance(found, Principal):
                return found
            g.principal = found
            return view(*args, **kwargs)
        return wrapped
    return decorate


# -- console sessions --------------------------------------------------------------------------

@bp.post("/console/session")
def console_login() -> Any:
    """Log a console page in with a token: an HttpOnly session cookie and the CSRF token for its forms."""
    svc = services()
    address = request.remote_addr or "unknown"
    left = svc.lockout.remaining_s(address)
    if left > 0:
        return _locked_out(left)
    token = request.form.get("token") if request.form else None
    if token is None:
        token = parse(SessionBody).token
    principal = _verify_token(token)
    if principal is None:
        return _token_failed(address)
    svc.lockout.succeeded(address)
    sid, csrf = svc.sessions.open(principal)
    answer = jsonify({"role": principal.role, "csrf_token": csrf})
    answer.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Strict", secure=request.is_secure,
                      path="/")
    return answer


@bp.get("/console/session")
@require("operator")
def console_whoami() -> Any:
    """The session's role and CSRF token (for a page that was reloaded)."""
    sid = request.cookies.get(SESSION_COOKIE, "")
    principal: Principal = g.principal
    csrf = services().sessions.csrf_token(sid) if sid else None
    return jsonify({"role": principal.role, "csrf_token": csrf})


@bp.delete("/console/session")
@require("operator")
def console_logout() -> Any:
    """End the console session (needs its CSRF token, like every form)."""
    services().sessions.close(request.cookies.get(SESSION_COOKIE, ""))
    answer = jsonify({"logged_out": True})
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer
