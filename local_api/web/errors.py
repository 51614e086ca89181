"""The gateway's error answers: every error is JSON ``{error, message, ...}``, never an HTML page.

Views answer with :func:`error` (or :func:`store_failed` when the outbox cannot store) or raise
:class:`BadRequest` naming the field; :func:`register_error_handlers` turns what a view raises
into the same shape (400 for a bad request, the HTTP status of a werkzeug error, 500 for
anything else, logged without its message).
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from local_api.outbox.records import OutboxError

log = logging.getLogger(__name__)


class BadRequest(Exception):
    """A request that is not what the route expects; ``field`` names where (a body field, a query
    parameter, or ``body``). Answered 400 ``invalid_request`` unless ``status`` and ``code`` say otherwise
    (a body over its size limit: 413 ``payload_too_large``)."""

    def __init__(self, field_name: str, message: str, *, status: int = 400, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
        self.status = status
        self.code = code


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


def _bad_request(exc: BadRequest) -> tuple[Response, int]:
    return error(exc.status, exc.code, f"{exc.field}: {exc.message}", field=exc.field)


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    name = (exc.name or "error").lower().replace(" ", "_")
    extra = {"field": "body"} if exc.code == 413 else {}
    answer, status = error(exc.code or 500, name, exc.description or name, **extra)
    allowed = getattr(exc, "valid_methods", None)  # a 405 names the methods the route has
    if exc.code == 405 and allowed:
        answer.headers["Allow"] = ", ".join(allowed)
    return answer, status


def _unexpected(exc: Exception) -> tuple[Response, int]:
    # Traceback frames only, not the message: an exception's text can carry form contents.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.path, frames)
    return error(500, "internal_error", "the gateway hit an unexpected error; the technician log has details")


def register_error_handlers(app: Flask) -> None:
    """Answer every error of ``app`` as JSON."""
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
