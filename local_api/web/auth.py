"""Who is asking: the checks every door makes, and the console pages' log-in.

- :func:`is_loopback`: the kiosk app's own door answers this machine only: the peer address is
  the socket's, and a request that came through a proxy (``gateway.trusted_proxies``,
  :class:`local_api.web.door.TrustedProxies`) is never loopback;
- :func:`require`: a view for operators or technicians; the request carries a bearer token or a
  console session cookie (plus the CSRF token on a state-changing request); a session holds only
  while the token it was opened with does (:mod:`local_api.web.credentials` keeps the tokens and
  sessions). A failed token check marks the request (:func:`token_check_failed`) so that
  :mod:`local_api.web.limits` counts it; a valid token is never refused for others' failures;
- ``/console/session``: a console page logs in with a token and gets an HttpOnly session cookie
  (``Secure`` whenever the gateway listens beyond loopback) and the CSRF token for its forms; a
  log-in posted from another origin (login CSRF) is refused; it can ask who it is, and log out.
  A token that needs a second factor (``gateway.second_factor`` for its role, or a TOTP secret
  enrolled for it) logs in only with its current TOTP code as well (401 ``totp_required`` asks for
  it, a wrong one is 401 ``totp_wrong`` and counts as a failed check: lock-out as for tokens; such a
  log-in is never exempt from the failure limits, its token alone being half the credential).
  Bearer tokens (scripts, Prometheus) are one factor: give them the operator role.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, jsonify, request

from kiosk.settings import LOOPBACK_HOSTS
from local_api.timestamps import iso
from local_api.web.bodies import SessionBody, parse
from local_api.web.credentials import EXPIRED, SESSION_COOKIE, Principal
from local_api.web.errors import error
from local_api.web.services import services

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_ENDPOINT = "auth.console_login"
FAILED_FLAG = "token_check_failed"
VIA_PROXY = "kiosk.via_proxy"
"""WSGI environ key: the request carried forwarding headers (set by ``local_api.web.door.TrustedProxies``)."""

bp = Blueprint("auth", __name__)


def ip_of(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``raw`` as an address (an IPv4-mapped IPv6 address as the IPv4 one), or None if it is none."""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback() -> bool:
    """Whether the request came from this machine, and not through a proxy on it (a TLS-terminating
    proxy on the terminal connects from loopback on behalf of someone elsewhere)."""
    return request.remote_addr in LOOPBACK and not request.environ.get(VIA_PROXY)


def presented_token() -> str | None:
    """The token a request presents: its bearer header's, or the one a console log-in posts; None
    when it presents none (no header, a session cookie, the kiosk door)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else header
    if request.endpoint != LOGIN_ENDPOINT or request.method != "POST":
        return None
    try:
        if request.form:
            return str(request.form.get("token", ""))
        body = request.get_json(force=True, silent=True)
    except Exception:  # noqa: BLE001  # e.g. nesting too deep to parse: no token presented
        return None
    return str(body.get("token", "")) if isinstance(body, dict) else None


def token_is_valid(token: str) -> bool:
    """Whether ``token`` is a current token (records no use) and, at the console log-in, one without a
    second factor (its one-time codes must not be tried without limit)."""
    tokens = services().tokens
    principal = tokens.check(token)[0] if tokens is not None else None
    if principal is None:
        return False
    return not (request.endpoint == LOGIN_ENDPOINT and needs_second_factor(principal))


def needs_second_factor(principal: Principal) -> bool:
    """Whether a console log-in with this principal's token needs a TOTP code too."""
    svc = services()
    policy = svc.settings.gateway.second_factor
    return (policy == "all" or (policy == "technician" and principal.role == "technician")
            or svc.totp.enrolled(principal.token_id))


def token_check_failed() -> bool:
    """Whether this request failed a token check (a wrong or unknown token; not an expired one)."""
    return bool(g.get(FAILED_FLAG))


def _token_failed(reason: str, token: str) -> tuple[Response, int]:
    svc = services()
    if reason == EXPIRED and svc.tokens is not None:
        token_id = token[4:].partition(".")[0]
        answer, status = error(401, "token_expired", f"this token expired at {iso(svc.tokens.expires_at(token_id))}; "
                               "a technician can create a new one")
        answer.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-gateway", error="invalid_token"'
        return answer, status
    g.setdefault(FAILED_FLAG, True)
    svc.metrics.auth_failures.inc()
    answer, status = error(401, "unauthorized", "the token is not valid (Authorization: Bearer kgw_…)")
    answer.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-gateway", error="invalid_token"'
    return answer, status


def _verify_token(token: str) -> tuple[Principal | None, str]:
    tokens = services().tokens
    if tokens is None:
        return None, "unknown"
    principal, reason = tokens.check(token)
    if principal is not None:
        tokens.used(principal.token_id)
    return principal, reason


def authenticate(role: str) -> Principal | tuple[Response, int]:
    """The request's principal if it has at least ``role``, else the answer to give (401/403)."""
    svc = services()
    header = request.headers.get("Authorization", "")
    if header:
        token = presented_token() or ""
        principal, reason = _verify_token(token) if header.lower().startswith("bearer ") else (None, "unknown")
        if principal is None:
            return _token_failed(reason, token)
    else:
        sid = request.cookies.get(SESSION_COOKIE, "")
        principal, why = svc.sessions.check(sid) if sid else (None, "")
        if principal is None:
            answer, status = error(401, "unauthorized", why or "a token is required (Authorization: Bearer kgw_…)")
            answer.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-gateway"'
            if sid:
                answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=secure_cookies())
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

def _own_origin() -> str:
    return request.host_url.rstrip("/")


def _cross_origin_login() -> str | None:
    """Why a log-in looks posted by another site's page (login CSRF), or None. Browsers send
    ``Sec-Fetch-Site`` and ``Origin`` on every POST and a page cannot forge them; another port on
    this machine is another origin (but the same site, with the same cookies). A client that is
    not a browser (curl, the tests) sends neither and is not refused."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"the log-in came from a {site} page"
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if origin == _own_origin() else f"the log-in came from another origin ({origin[:80]})"
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        if f"{parts.scheme}://{parts.netloc}" != _own_origin():
            return "the log-in came from a page on another origin"
    return None


def secure_cookies() -> bool:
    """Whether session cookies get ``Secure``: over TLS, and whenever the gateway listens on an
    address other than loopback (``gateway.host``), so a cookie never crosses a network in clear."""
    if request.is_secure:
        return True
    host = services().settings.gateway.host.strip("[]")
    if host in LOOPBACK_HOSTS:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name other than localhost: reachable from elsewhere


@bp.post("/console/session")
def console_login() -> Any:
    """Log a console page in with a token: an HttpOnly session cookie and the CSRF token for its forms."""
    svc = services()
    why = _cross_origin_login()
    if why is not None:
        log.warning("console log-in refused: %s", why)
        return error(403, "cross_origin_login", f"{why}; log in from the console page itself ({_own_origin()}/console)")
    token = request.form.get("token") if request.form else None
    code = request.form.get("totp") if request.form else None
    if token is None:
        body = parse(SessionBody)
        token, code = body.token, body.totp
    principal, reason = svc.tokens.check(token) if svc.tokens is not None else (None, "unknown")
    if principal is None:
        return _token_failed(reason, token)
    if needs_second_factor(principal):
        refused = _second_factor_refused(principal, code)
        if refused is not None:
            return refused
        g.audit_detail = "second factor: TOTP"
    assert svc.tokens is not None
    svc.tokens.used(principal.token_id)
    sid, csrf = svc.sessions.open(principal)
    answer = jsonify({"role": principal.role, "csrf_token": csrf})
    answer.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Strict", secure=secure_cookies(), path="/")
    return answer


def _second_factor_refused(principal: Principal, code: str | None) -> tuple[Response, int] | None:
    """None when ``code`` is the token's current TOTP code, else the answer (the token was right)."""
    svc = services()
    if not svc.totp.enrolled(principal.token_id):
        return error(403, "totp_not_enrolled", f"this {principal.role} token needs a one-time code (TOTP) but none is "
                     f"enrolled for it: on the terminal run `kiosk totp enrol {principal.token_id}`")
    if not code:
        return error(401, "totp_required", "enter the 6-digit code of this token from the authenticator app (TOTP)")
    if not svc.totp.check(principal.token_id, code):
        g.setdefault(FAILED_FLAG, True)  # counted like a wrong token: lock-out as for tokens
        svc.metrics.auth_failures.inc()
        return error(401, "totp_wrong", "the one-time code is not right (or was used already); wait for the next one")
    return None


@bp.get("/console/session")
@require("helper")
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
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=secure_cookies())
    return answer
