"""The local gateway's HTTP API (Flask app factory).

Two doors, one app (contract: ``docs/gateway-openapi.yaml``):

- the kiosk app's internal door, loopback only (:mod:`local_api.web.api_kiosk`): submissions,
  ratings, help requests and reports (stored and forwarded), online-only calls proxied to the
  platform (documents, queries, identity checks, appointments, progress), heartbeats;
- the operator and technician door, token-authenticated (:mod:`local_api.web.api_ops`): health,
  readiness, status, metrics, events, the outbox, device settings and tests, tokens.

Views reach the outbox, forwarder and platform clients through ``current_app.extensions``
(a :class:`GatewayServices`), never module globals, so tests and the server build apps with
their own services. Every error is JSON.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from kiosk.settings import Settings
from local_api.web.audit import audit_request
from local_api.web.auth import ConsoleSessions, Lockout, TokenStore
from local_api.ops.events import EventLog, KioskPresence
from local_api.outbox.forwarder import Forwarder
from local_api.web.metrics import GatewayMetrics
from local_api.outbox.store import Outbox, OutboxError
from local_api.link.client import PlatformClient

log = logging.getLogger(__name__)

MB = 1024 * 1024
FORM_ALLOWANCE_BYTES = 2 * MB  # the form and the applicant, beside the materials
EXTENSION_KEY = "kiosk"
RATING_DIRECTION = "gbt39046"  # GB/T 39046-2020: 1 = 非常满意 … 5 = 非常不满意
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})

_M = TypeVar("_M", bound=BaseModel)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gov-kiosk")
    except Exception:  # running from a source tree that was never installed
        return "0.0.0+source"


@dataclass
class GatewayServices:
    """What the gateway's views use; built by ``local_api.server`` or by tests."""

    outbox: Outbox
    forwarder: Forwarder
    platform: PlatformClient
    started_at: float = field(default_factory=time.time)
    proxy: PlatformClient | None = None
    """Client for online-only calls (short timeout); ``platform`` when None."""
    tokens: TokenStore | None = None
    """Operator and technician tokens; None: those doors answer 401 to everyone."""
    item_codes: frozenset[str] | None = None
    """The catalog's item codes; submissions for other codes are refused (None: not checked)."""
    events: EventLog = field(default_factory=EventLog)
    presence: KioskPresence | None = None
    version: str = field(default_factory=_version)

    def __post_init__(self) -> None:
        if self.presence is None:
            self.presence = KioskPresence(self.events)

    @property
    def online(self) -> PlatformClient:
        """The client for online-only calls."""
        return self.proxy or self.platform


def services() -> GatewayServices:
    """The current app's services."""
    found: GatewayServices = current_app.extensions[EXTENSION_KEY]
    return found


def settings() -> Settings:
    """The current app's settings."""
    found: Settings = current_app.config["KIOSK_SETTINGS"]
    return found


def metrics() -> GatewayMetrics:
    """The current app's metrics."""
    found: GatewayMetrics = current_app.extensions["kiosk_metrics"]
    return found


def is_loopback() -> bool:
    """Whether the request came from this machine (waitress is told to trust no proxy header)."""
    return request.remote_addr in LOOPBACK


class BadRequest(Exception):
    """A request body that is not what the route expects; ``field`` names where."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def parse(model: type[_M]) -> _M:
    """The request's JSON body as ``model``, or :class:`BadRequest` naming the first bad field."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise BadRequest("body", "the body must be a JSON object (Content-Type: application/json)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required field is missing"
        elif first["type"] == "extra_forbidden":
            message = "unknown field"
        raise BadRequest(where, message) from None


def error(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    """A JSON error answer ``{error, message, ...}``."""
    return jsonify({"error": code, "message": message, **extra}), status


def store_failed(exc: OutboxError) -> tuple[Response, int]:
    """The answer when the outbox cannot store: nothing was saved, say so."""
    log.error("outbox refused a write: %s", exc)
    if "disk is full" in str(exc):  # SQLITE_FULL: the free-space check was outrun; same answer as that check
        return error(507, "disk_full", "本机存储空间不足，暂停受理新的申报，请联系工作人员 (the terminal's disk is "
                     "full; nothing was saved)", detail=str(exc))
    return error(503, "outbox_unavailable", "本机暂时无法保存，请稍后再试或联系工作人员 "
                 "(the gateway cannot store submissions right now; nothing was saved)", detail=str(exc))


# -- errors ------------------------------------------------------------------------------------

def _bad_request(exc: BadRequest) -> Any:
    return error(400, "invalid_request", f"{exc.field}: {exc.message}", field=exc.field)


def _http_error(exc: HTTPException) -> Any:
    name = (exc.name or "error").lower().replace(" ", "_")
    extra = {"field": "body"} if exc.code == 413 else {}
    answer, status = error(exc.code or 500, name, exc.description or name, **extra)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        answer.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return answer, status


def _unexpected(exc: Exception) -> Any:
    # Traceback frames only, not the message: an exception's text can carry form contents.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.path, frames)
    return error(500, "internal_error", "the gateway hit an unexpected error; the technician log has details")


def _count_request(response: Response) -> Response:
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    try:
        metrics().requests.labels(request.method, rule, str(response.status_code)).inc()
    except Exception:  # counting must never turn an answer into an error
        pass
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    audit_request(response)  # before the principal is dropped: the audit records who
    g.pop("principal", None)
    return response


def create_app(settings: Settings, services: GatewayServices) -> Flask:
    """Build the gateway app around ready services (the caller owns and stops them)."""
    from local_api.web.api_kiosk import bp as kiosk_bp
    from local_api.web.api_ops import bp as ops_bp
    from local_api.web.console import register_console

    app = Flask(__name__)
    # Materials travel base64-encoded (4/3 of their size) beside the form.
    max_body = int(settings.gateway.max_materials_mb * MB * 4 / 3) + FORM_ALLOWANCE_BYTES
    app.config.update(MAX_CONTENT_LENGTH=max_body, KIOSK_SETTINGS=settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in answers
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = services
    app.extensions["kiosk_metrics"] = GatewayMetrics(services, lambda: settings.data_path)
    app.extensions["kiosk_lockout"] = Lockout(settings.gateway.auth_max_failures, settings.gateway.auth_lockout_s)
    app.extensions["kiosk_sessions"] = ConsoleSessions()
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(ops_bp)
    register_console(app, settings)  # console pages, screen picture, out-of-service switch, audit
    app.after_request(_count_request)
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app
