"""The local gateway's HTTP API (Flask app factory).

Two doors, one app (contract: ``docs/gateway-openapi.yaml``):

- the kiosk app's internal door, loopback only and with the per-start door secret
  (:mod:`local_api.web.door` guards it; :mod:`local_api.web.api_kiosk`): submissions,
  ratings, help requests and reports (stored and forwarded), online-only calls proxied to the
  platform (documents, queries, identity checks, appointments, progress), heartbeats;
- the operator and technician door, token-authenticated (:mod:`local_api.web.api_ops`): health,
  readiness, status, metrics, events, the outbox, device settings and tests, tokens; with the
  console pages (:mod:`local_api.web.console`), their log-in (:mod:`local_api.web.auth`) and the
  kiosk's screen picture (:mod:`local_api.web.screen`).

The factory only wires: views reach the outbox, forwarder, platform clients and the rest through
:func:`local_api.web.services.services` (one typed :class:`GatewayServices` in the app's one
extension slot), never module globals, so tests and the server build apps with their own
services. Every error is JSON (:mod:`local_api.web.errors`); request JSON is read strictly and answers
are standard JSON (:mod:`local_api.web.jsonio`).
"""

from __future__ import annotations

import contextlib

from flask import Flask, Response, g, request

from local_api.web.api_kiosk import bp as kiosk_bp
from local_api.web.api_ops import bp as ops_bp
from local_api.web.api_staff import bp as staff_bp
from local_api.web.audit import audit_request
from local_api.web.auth import bp as auth_bp
from local_api.web.console import bp as console_bp
from local_api.web.door import PROXY_HEADERS_CHECKED, TrustedProxies
from local_api.web.errors import register_error_handlers
from local_api.web.helpdesk import install as install_helpdesk
from local_api.web.jsonio import StrictJSONProvider
from local_api.web.limits import install_limits
from local_api.web.screen import bp as screen_bp
from local_api.web.services import GatewayServices, services

MB = 1024 * 1024
FORM_ALLOWANCE_BYTES = 2 * MB  # the form and the applicant, beside the materials


# The request counter's labels stay bounded: a made-up method or an unknown path never adds a child.
COUNTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _count_request(response: Response) -> Response:
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    method = request.method if request.method in COUNTED_METHODS else "other"
    with contextlib.suppress(Exception):  # counting must never turn an answer into an error
        services().metrics.requests.labels(method, rule, str(response.status_code)).inc()
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    audit_request(response)  # before the principal is dropped: the audit records who
    g.pop("principal", None)
    return response


def create_app(services: GatewayServices) -> Flask:
    """Build the gateway app around ready services (the caller owns and stops them)."""
    app = Flask(__name__)  # templates and static files beside this module: local_api/web/
    # Materials travel base64-encoded (4/3 of their size) beside the form.
    max_body = int(services.settings.gateway.max_materials_mb * MB * 4 / 3) + FORM_ALLOWANCE_BYTES
    # Only gateway.trusted_proxies may say who the client is; the server leaves proxy headers to this.
    app.config.update(MAX_CONTENT_LENGTH=max_body, **{PROXY_HEADERS_CHECKED: True})
    app.wsgi_app = TrustedProxies(app.wsgi_app, services.settings.gateway.trusted_proxies)  # type: ignore[method-assign]
    app.json = StrictJSONProvider(app)  # strict reading, standard JSON only in answers, readable Chinese
    services.attach(app)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(console_bp)  # console pages, out-of-service switch, ports, the kiosk's audit
    app.register_blueprint(screen_bp)
    app.register_blueprint(staff_bp)  # assisted mode: staff sign-in (api_staff.py)
    # The remote help desk (issue 21); its queue is in /metrics, so a fleet's helpers see every terminal's.
    services.metrics.watch_helpdesk(install_helpdesk(app).snapshot)
    app.after_request(_count_request)
    register_error_handlers(app)
    install_limits(app, services.settings.gateway)  # after the blueprints and error handlers: its 429 wins
    return app
