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


Answer = tuple[int, dict[str, Any]]
"""An answer's status and JSON body, Flask-free (the event-loop submission door sends the same ones)."""


def error_answer(status: int, code: str, message: str, **extra: Any) -> Answer:
    """The status and body ``{error, message, ...}`` of a JSON error answer."""
    return status, {"error": code, "message": message, **extra}


def error(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    """A JSON error answer ``{error, message, ...}``."""
    return respond(error_answer(status, code, message, **extra))


def respond(answer: Answer) -> tuple[Response, int]:
    """An :data:`Answer` as Flask's ``(response, status)``."""
    return jsonify(answer[1]), answer[0]


def store_failed_answer(exc: OutboxError) -> Answer:
    """The answer when the outbox cannot store: nothing was saved, say so."""
    log.error("outbox refused a write: %s", exc)
    if "disk is full" in str(exc):  # SQLITE_FULL: the free-space check was outrun; same answer as that check
        return error_answer(507, "disk_full", "本机存储空间不足，暂停受理新的申报，请联系工作人员 (the terminal's "
                            "disk is full; nothing was saved)", detail=str(exc))
    return error_answer(503, "outbox_unavailable", "本机暂时无法保存，请稍后再试或联系工作人员 "
                        "(the gateway cannot store submissions right now; nothing was saved)", detail=str(exc))


def store_failed(exc: OutboxError) -> tuple[Response, int]:
    """:func:`store_failed_answer` as Flask's answer."""
    return respond(store_failed_answer(exc))


def bad_request_answer(exc: BadRequest) -> Answer:
    """The answer to a :class:`BadRequest`: its status, code and field."""
    return error_answer(exc.status, exc.code, f"{exc.field}: {exc.message}", field=exc.field)


def _bad_request(exc: BadRequest) -> tuple[Response, int]:
    return respond(bad_request_answer(exc))


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
