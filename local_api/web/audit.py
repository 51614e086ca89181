"""The events audit: who did what, and when, to this terminal (issue 10). Append-only.

Each record is one JSON line in ``<data_dir>/audit.jsonl`` (mode 0600), written with ``O_APPEND``
and fsync'd before the request that caused it is answered, so a record survives a power cut the
moment the operator sees the result. Nothing in the gateway rewrites or deletes a line: the file
is only ever opened for appending or reading (rotate it, if ever, with ``logrotate``'s
``copytruncate`` off-line; the sequence numbers then say where a gap is).

What a record holds: ``seq``, ``at`` (Unix seconds), ``action``, ``outcome`` (``ok`` or the
refusal's error code), ``actor`` (``{"token_id", "role"}`` for an operator or technician, the
token id a failed login *claimed*, the caller's address, or ``{"kind": "kiosk"}`` for the kiosk
app's own maintenance mode), ``target`` (a device name, a receipt number, a token id) and a short
``detail``. Never a token's secret, never personal data: the views that feed it pass only setting
names and values, switch states, receipt numbers and device names.

Why a JSON-lines file rather than an SQLite table: one ``write()`` of one line on an ``O_APPEND``
descriptor is the whole write path, there is no UPDATE or DELETE to forget to forbid, and
``tail``/``jq`` read it on site without the gateway.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response, current_app, g, request

from local_api.web.auth import SESSION_COOKIE

log = logging.getLogger(__name__)

AUDIT_FILE_NAME = "audit.jsonl"
EXTENSION_KEY = "kiosk_audit"
MAX_DETAIL_CHARS = 300
_TOKEN_ID = re.compile(r"^kgw_([0-9a-f]{8})\.")

# What a state-changing request on the operators' door means, by Flask endpoint.
ACTIONS: dict[str, str] = {
    "ops_door.console_login": "login",
    "ops_door.console_logout": "logout",
    "ops_door.outbox_retry": "outbox_retry",
    "ops_door.device_test": "device_test",
    "ops_door.tokens_create": "token_created",
    "ops_door.tokens_revoke": "token_revoked",
    "console.service_set": "service_switch",
    "console.device_settings_put": "settings_changed",
}


class AuditError(Exception):
    """The audit file cannot be written; the message names the file and what to do."""


class AuditLog:
    """Append-only audit records in a JSON-lines file. Thread-safe; opens the file on first use."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = wall_clock
        self._lock = threading.Lock()
        self._seq: int | None = None  # read from the file's last line on first use
        self._torn = False
        self._quiet: dict[str, float] = {}  # address → until when its lock-out is already recorded

    def _last_seq(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                raw = f.read()
        except FileNotFoundError:
            return 0
        # A line torn by a power cut has no newline: start the next record on a line of its own.
        self._torn = bool(raw) and not raw.endswith(b"\n")
        tail = raw.splitlines()
        for line in reversed(tail):
            try:
                return int(json.loads(line)["seq"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a power cut: the one before it counts
        return 0

    def record(self, action: str, *, actor: dict[str, Any], outcome: str = "ok", target: str | None = None,
               detail: str = "") -> dict[str, Any]:
        """Append one record and fsync it; returns the record. Raises :class:`AuditError`."""
        with self._lock:
            if self._seq is None:
                try:
                    self._seq = self._last_seq()
                except OSError as exc:
                    raise AuditError(f"{self.path}: cannot append an audit record ({exc.strerror}); check the "
                                     "data folder's free space and permissions") from exc
            entry = {"seq": self._seq + 1, "at": round(self._now(), 3), "action": action, "outcome": outcome,
                     "actor": actor, "target": target, "detail": detail[:MAX_DETAIL_CHARS]}
            line = (("\n" if self._torn else "") + json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise AuditError(f"{self.path}: cannot append an audit record ({exc.strerror}); check the data "
                                 "folder's free space and permissions") from exc
            self._seq += 1
            self._torn = False
        return entry

    def first_refusal(self, address: str, window_s: float, now: float) -> bool:
        """Whether a locked-out address's refusal is the first in ``window_s`` (only that one is
        recorded: a misconfigured scraper must not fill the audit with one line per scrape)."""
        with self._lock:
            if self._quiet.get(address, 0.0) > now:
                return False
            self._quiet = {a: t for a, t in self._quiet.items() if t > now}
            self._quiet[address] = now + window_s
            return True

    def recent(self, after_seq: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Records with ``seq`` above ``after_seq``, oldest first, at most ``limit``.

        With ``after_seq`` 0 these are the newest ``limit`` records (what a console shows).
        """
        limit = max(1, limit)
        found: deque[dict[str, Any]] | list[dict[str, Any]]
        found = deque(maxlen=limit) if after_seq == 0 else []
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # a torn line is skipped, never "repaired" in place
                    if isinstance(entry, dict) and int(entry.get("seq", 0)) > after_seq:
                        found.append(entry)
                        if isinstance(found, list) and len(found) >= limit:
                            break
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("audit: %s cannot be read (%s)", self.path, exc.strerror)
            return []
        return list(found)


def audit_log() -> AuditLog:
    """The current app's audit log."""
    found: AuditLog = current_app.extensions[EXTENSION_KEY]
    return found


def _claimed_token_id() -> str | None:
    """The token id a request claimed (the part before the secret), if it is well-formed."""
    header = request.headers.get("Authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
    if not token and request.endpoint == "ops_door.console_login":
        token = (request.form.get("token") if request.form else None) or ""
        if not token:
            body = request.get_json(silent=True)
            token = str(body.get("token", "")) if isinstance(body, dict) else ""
    match = _TOKEN_ID.match(token)
    return match.group(1) if match else None


def _refused_principal() -> Any:
    """Who a refused (403) request was authenticated as, though the view never ran: its session
    (a form without its CSRF token) or its bearer token (a role too weak)."""
    header = request.headers.get("Authorization", "")
    if header:
        tokens = current_app.extensions["kiosk"].tokens
        token = header.partition(" ")[2].strip()
        return tokens.verify(token) if tokens is not None and header.lower().startswith("bearer ") else None
    sid = request.cookies.get(SESSION_COOKIE, "")
    return current_app.extensions["kiosk_sessions"].get(sid) if sid else None


def _actor(status: int) -> dict[str, Any]:
    principal = g.get("principal") or (_refused_principal() if status == 403 else None)
    if principal is not None:
        return {"token_id": principal.token_id, "role": principal.role, "via": "cookie" if principal.via_cookie
                else "bearer"}
    return {"token_id": _claimed_token_id(), "address": request.remote_addr}


def audit_request(response: Response) -> None:
    """Record a finished request on the operators' door when it changed something or failed a check.

    Called by the app's ``after_request`` hook, before the principal is dropped. Reads are not
    audited; failed token checks (401) and lock-outs (429) are, with the token id they claimed.
    A view adds detail by setting ``g.audit_detail`` (and ``g.audit_target``). Never raises: an
    audit that cannot be written is logged loudly, and the answer already given stands.
    """
    endpoint = request.endpoint or ""
    if not endpoint or endpoint.startswith("kiosk_door.") or endpoint == "static" \
            or endpoint.startswith("screen."):
        return  # the kiosk app's own door (submissions carry personal data) and static files
    status = response.status_code
    changing = request.method not in ("GET", "HEAD", "OPTIONS")
    if status in (401, 429) and (request.headers.get("Authorization") or endpoint == "ops_door.console_login"):
        action = "locked_out" if status == 429 else (
            "login_failed" if endpoint == "ops_door.console_login" else "auth_failed")
    elif changing and endpoint in ACTIONS:
        action = ACTIONS[endpoint]
    elif changing and status == 403:
        action = "refused"
    else:
        return
    if action == "locked_out":
        window = current_app.extensions["kiosk_lockout"].lockout_s
        if not audit_log().first_refusal(request.remote_addr or "unknown", window, time.monotonic()):
            return
    body = response.get_json(silent=True) if response.is_json else None
    outcome = "ok" if status < 400 else str((body or {}).get("error") or status)
    actor = _actor(status)
    if action == "login" and status == 200 and isinstance(body, dict):
        actor["role"] = body.get("role")
    target = g.get("audit_target") or next(iter((request.view_args or {}).values()), None)
    detail = g.get("audit_detail", "")
    if action == "device_test" and not detail:
        sent = request.get_json(silent=True)
        detail = f"action={sent.get('action', 'self_test')}" if isinstance(sent, dict) else ""
    if action in ("refused", "auth_failed") or (status >= 400 and not detail):
        detail = f"{request.method} {request.path}"
    try:
        audit_log().record(action, actor=actor, outcome=outcome, target=None if target is None else str(target),
                           detail=str(detail))
    except (AuditError, KeyError) as exc:
        log.error("audit: %s", exc)
