"""The kiosk door's guard (issue 17): only the kiosk app on this machine gets in.

Loopback alone is not enough: any web page open on the terminal can send requests to
``127.0.0.1``, and any local process can too. So every request to the kiosk door
(:mod:`local_api.web.api_kiosk`, the frame post in :mod:`local_api.web.screen`, the kiosk's audit
records and service switch in :mod:`local_api.web.console`) passes :func:`kiosk_door_refusal`:

1. not through a proxy (no ``X-Forwarded-For`` / ``Forwarded``: the app never uses one) — 403 ``via_proxy``;
2. from a loopback socket, and not on the operators' TLS door (``gateway.tls_cert``) — 403 ``forbidden``;
3. ``Host`` is the gateway's loopback name (``127.0.0.1:<port>``, ``localhost:<port>``,
   ``[::1]:<port>``), which defeats DNS rebinding — 421 ``wrong_host``;
4. ``Origin`` absent or the gateway's own, and no ``Sec-Fetch-Site`` from another site — 403 ``origin_refused``;
5. the per-start secret in ``X-Kiosk-Door``: the gateway writes a random one at every start to
   ``<data_dir>/kiosk-door.secret`` (0600; the app runs as the same user and reads it with the
   same settings) — 401 ``kiosk_door_secret``;
6. a body only as ``application/json`` (the frame: ``image/png``), which no page can send
   cross-origin without a CORS preflight this gateway never grants — 415 ``unsupported_media_type``.

:class:`TrustedProxies` is the WSGI middleware that lets only ``gateway.trusted_proxies`` say who
the client is (werkzeug's ``ProxyFix`` for them; forwarding headers from anyone else are dropped)
and marks every request that carried such headers, so :func:`local_api.web.auth.is_loopback` and
the kiosk door know it came through a proxy.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from kiosk import crypto
from local_api.client import DOOR_HEADER
from local_api.web.auth import SAFE_METHODS, VIA_PROXY, ip_of, is_loopback
from local_api.web.errors import error
from local_api.web.services import services

log = logging.getLogger(__name__)

JSON_ONLY = ("application/json",)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# What a proxy adds; the kiosk app never sends any of them.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                      "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_X_FORWARDED_BY",
                      "HTTP_FORWARDED", "HTTP_X_REAL_IP")
PROXY_HEADERS_CHECKED = "KIOSK_PROXY_HEADERS_CHECKED"
"""``app.config`` flag: the app's own middleware decides about proxy headers (the server must not drop them)."""


def write_door_secret(path: Path) -> str:
    """A new random secret for the kiosk door, written to ``path`` (mode 0600, replaced atomically).

    When it cannot be written (a full disk), the secret already in the file stays in use, so the
    gateway still starts and the kiosk app still gets in; without one either, the door stays shut
    (an empty secret) and the log says why."""
    try:
        return _write_new_secret(path)
    except OSError as exc:
        try:
            kept = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            kept = ""
        if kept:
            log.error("kiosk door: cannot write a new secret to %s (%s); the previous one stays in use", path,
                      exc.strerror)
        else:
            log.error("kiosk door: cannot write its secret to %s (%s): the kiosk app cannot use the gateway "
                      "until the data folder is writable and the gateway restarted", path, exc.strerror)
        return kept


def _write_new_secret(path: Path) -> str:
    secret = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover may have another mode; O_EXCL makes ours
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secret + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    log.info("kiosk door: a new secret was written to %s (0600, for the kiosk app)", path)  # never the secret
    return secret


class TrustedProxies:
    """WSGI middleware: forwarding headers count only from ``trusted`` addresses (werkzeug's ProxyFix,
    one hop); from anyone else they are dropped. Either way the request is marked as having come
    through a proxy (``environ[VIA_PROXY]``)."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        self.networks = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of the trusted proxies (an IPv4-mapped IPv6 address counts as IPv4)."""
        ip = ip_of(address)
        return ip is not None and any(ip in net for net in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        present = [name for name in FORWARDING_HEADERS if name in environ]
        if not present:
            return self.app(environ, start_response)
        environ[VIA_PROXY] = True
        if self.trusts(str(environ.get("REMOTE_ADDR", ""))):
            return self.fixed(environ, start_response)
        for name in present:
            del environ[name]
        return self.app(environ, start_response)


@functools.lru_cache(maxsize=16)
def own_hosts(port: str) -> frozenset[str]:
    """The ``Host`` values a door on loopback ``port`` answers to."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == "80":
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)


@functools.lru_cache(maxsize=16)
def _own_origins(port: str) -> frozenset[str]:
    return frozenset(f"http://{h}" for h in own_hosts(port))


def door_refusal(*, via_proxy: bool, loopback: bool, https: bool, port: str, header: Callable[[str], str | None],
                 secret: str, method: str, mimetype: str,
                 media_types: tuple[str, ...] = JSON_ONLY) -> tuple[int, str, str, dict[str, str]] | None:
    """Why a request is refused at the kiosk door: ``(status, code, message, extra)``, or None when it may
    pass (see above). Flask-free, so both doors (this Flask one and the event-loop submission door,
    :mod:`local_api.web.fast_door`) apply the same checks: ``header(name)`` reads a request header
    (None when absent), ``port`` is the port the request came in on, ``secret`` the gateway's current one."""
    if via_proxy:
        return (403, "via_proxy", ("the kiosk door does not answer requests that came through a proxy "
                "(X-Forwarded-For or Forwarded was sent); the kiosk app calls it directly on loopback"), {})
    if not loopback:
        return 403, "forbidden", "this endpoint is the kiosk app's own and answers on loopback only", {}
    if https:
        return (403, "forbidden", ("this endpoint is the kiosk app's own and answers on the gateway's plain "
                "loopback door only, not on the operators' TLS door"), {})
    hosts = own_hosts(port)
    host = (header("Host") or "").lower()
    if host not in hosts:
        return (421, "wrong_host", (f"this endpoint answers only to its own loopback name (Host: "
                f"127.0.0.1:{port}, localhost or [::1] with that port); the Host header named another"), {})
    origin = header("Origin")
    if origin is not None and origin.lower() not in _own_origins(port):
        return (403, "origin_refused", ("this endpoint is the kiosk app's own: a web page from another "
                "origin may not call it"), {})
    if (header("Sec-Fetch-Site") or "same-origin") not in ("same-origin", "none"):
        return (403, "origin_refused", ("this endpoint is the kiosk app's own: a web page from another "
                "site may not call it"), {})
    sent = header(DOOR_HEADER) or ""
    if not secret or not crypto.equal(sent.encode("utf-8", "replace"), secret.encode("ascii")):
        return (401, "kiosk_door_secret", (f"this endpoint is the kiosk app's own: the {DOOR_HEADER} "
                "header is missing or not this gateway's current secret (the kiosk app reads it from "
                "kiosk-door.secret in the data folder)"), {})
    if method not in SAFE_METHODS and mimetype not in media_types:
        return (415, "unsupported_media_type", (f"send the body as Content-Type: {media_types[0]} "
                f"(got {mimetype or 'no content type'})"), {"field": "body"})
    return None


def kiosk_door_refusal(media_types: tuple[str, ...] = JSON_ONLY) -> tuple[Response, int] | None:
    """The answer that refuses this request at the kiosk door, or None when it may pass (see above)."""
    refused = door_refusal(via_proxy=bool(request.environ.get(VIA_PROXY)), loopback=is_loopback(),
                           https=request.environ.get("wsgi.url_scheme") == "https",
                           port=str(request.environ.get("SERVER_PORT", "")), header=request.headers.get,
                           secret=services().door_secret, method=request.method, mimetype=request.mimetype,
                           media_types=media_types)
    if refused is None:
        return None
    status, code, message, extra = refused
    return error(status, code, message, **extra)
