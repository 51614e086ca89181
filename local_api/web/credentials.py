"""Who may use the operator and technician doors (TARGETS S3): tokens, lock-outs, console sessions.

- Tokens with roles: ``operator`` reads health, status, metrics, events and the outbox;
  ``technician`` also reads device settings, starts device tests, requeues parked
  submissions and manages tokens. A token is ``kgw_<id>.<secret>``; only a salted hash of
  the secret is kept, in ``tokens.json`` (mode 0600) in the data folder.
- The first token: when no token exists at start, the gateway creates one with the role of
  ``gateway.first_token_role`` and writes it to ``first-token.txt`` (0600) in the data folder
  for the technician on site to read and delete (see ``docs/gateway-openapi.yaml``).
- Lock-out: after ``gateway.auth_max_failures`` failed token checks an address is refused for
  ``gateway.auth_lockout_s`` (429 with ``Retry-After``), even with a right token.
- Browser consoles log in once (``POST /console/session``) and get an HttpOnly, SameSite=Strict
  session cookie plus a CSRF token; every state-changing request authenticated by that cookie
  must echo the token in ``X-CSRF-Token`` (or a ``csrf_token`` form field). Requests with an
  ``Authorization: Bearer`` header are not open to CSRF (a browser never adds it on its own).

Hand-written rather than Flask-Login/Flask-WTF: bearer tokens, roles and a double-submit CSRF
check are ~150 lines, and neither library stores API tokens hashed or locks out by address.

This module keeps the credentials (no Flask); :mod:`local_api.web.auth` checks a request against them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_api.files import write_atomically

log = logging.getLogger(__name__)

ROLES = {"operator": 1, "technician": 2}
TOKENS_FILE_NAME = "tokens.json"
FIRST_TOKEN_FILE_NAME = "first-token.txt"
TOKEN_PREFIX = "kgw_"
SESSION_COOKIE = "kgw_session"
SESSION_TTL_S = 8 * 3600.0


class TokenFileError(Exception):
    """The tokens file cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class Principal:
    """Who a request was authenticated as."""

    token_id: str
    role: str
    label: str
    via_cookie: bool = False

    def may(self, role: str) -> bool:
        """Whether this principal has at least ``role``."""
        return ROLES[self.role] >= ROLES[role]


def _hash(salt: str, secret: str) -> str:
    # Tokens are 256-bit random secrets, not passwords: a salted SHA-256 cannot be brute-forced,
    # and a slow KDF would only make every authenticated request (e.g. Prometheus scrapes) slower.
    return hmac.new(bytes.fromhex(salt), secret.encode("utf-8"), hashlib.sha256).hexdigest()


class TokenStore:
    """Tokens with roles, kept hashed in a JSON file. Thread-safe."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = wall_clock
        self._lock = threading.Lock()
        self._tokens: list[dict[str, Any]] = self._load()

    def _load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise TokenFileError(f"{self.path}: cannot be read as a tokens file ({exc}); "
                                 "move it aside to start without tokens") from exc
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list):
            raise TokenFileError(f"{self.path}: no 'tokens' list; move it aside to start without tokens")
        return [t for t in tokens if isinstance(t, dict) and t.get("role") in ROLES]

    def _save(self) -> None:
        write_atomically(self.path, json.dumps({"version": 1, "tokens": self._tokens}, indent=1).encode("utf-8"))

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def create(self, role: str, label: str = "") -> str:
        """Add a token with ``role`` and return it in clear (the only time it exists in clear)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        token_id, secret, salt = secrets.token_hex(4), secrets.token_urlsafe(32), secrets.token_hex(16)
        with self._lock:
            self._tokens.append({"id": token_id, "role": role, "label": label[:80], "salt": salt,
                                 "hash": _hash(salt, secret), "created_at": self._now()})
            self._save()
        log.info("created %s token %s (%s)", role, token_id, label or "no label")
        return f"{TOKEN_PREFIX}{token_id}.{secret}"

    def revoke(self, token_id: str) -> bool:
        """Remove a token; False if there was none with this id."""
        with self._lock:
            kept = [t for t in self._tokens if t["id"] != token_id]
            if len(kept) == len(self._tokens):
                return False
            self._tokens = kept
            self._save()
        log.info("revoked token %s", token_id)
        return True

    def listing(self) -> list[dict[str, Any]]:
        """Every token's id, role, label and creation time (never a hash)."""
        with self._lock:
            return [{k: t[k] for k in ("id", "role", "label", "created_at")} for t in self._tokens]

    def verify(self, token: str) -> Principal | None:
        """The principal of a token in clear, or None if it is not a current token."""
        if not token.startswith(TOKEN_PREFIX) or "." not in token:
            return None
        token_id, _, secret = token[len(TOKEN_PREFIX):].partition(".")
        with self._lock:
            entry = next((t for t in self._tokens if t["id"] == token_id), None)
        if entry is None or not hmac.compare_digest(_hash(entry["salt"], secret), entry["hash"]):
            return None
        return Principal(entry["id"], entry["role"], entry.get("label", ""))

    def ensure_first(self, role: str, folder: Path) -> Path | None:
        """With no token at all, create one with ``role`` and write it to ``first-token.txt`` (0600)."""
        if role not in ROLES or len(self):
            return None
        token = self.create(role, "first token, created at start")
        path = folder / FIRST_TOKEN_FILE_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (token + "\n").encode("ascii"))
        finally:
            os.close(fd)
        log.warning("no operator token existed: a %s token was written to %s; read it, keep it safe and "
                    "delete the file", role, path)
        return path


class Lockout:
    """Counts failed token checks per address; locks an address out after too many. Thread-safe."""

    def __init__(self, max_failures: int, lockout_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def remaining_s(self, address: str) -> float:
        """Seconds the address stays locked out (0: not locked)."""
        with self._lock:
            until = self._locked_until.get(address, 0.0)
            left = until - self._clock()
            if left <= 0 and address in self._locked_until:
                del self._locked_until[address]
            return max(0.0, left)

    def failed(self, address: str) -> bool:
        """Count a failure; True when this one locks the address out."""
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(address, []) if now - t < self.lockout_s] + [now]
            if len(recent) >= self.max_failures:
                self._failures.pop(address, None)
                self._locked_until[address] = now + self.lockout_s
                return True
            self._failures[address] = recent
            if len(self._failures) > 10_000:  # a scan from many addresses must not grow memory forever
                self._failures.pop(next(iter(self._failures)))
            return False

    def succeeded(self, address: str) -> None:
        """A right token: forget earlier failures of the address."""
        with self._lock:
            self._failures.pop(address, None)


class ConsoleSessions:
    """Browser sessions of the console pages: cookie id → principal, with a CSRF token each."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(32)  # per process: a restart logs every console out
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[Principal, float]] = {}

    def open(self, principal: Principal) -> tuple[str, str]:
        """Start a session; returns ``(session id for the cookie, CSRF token)``."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._sessions = {k: v for k, v in self._sessions.items() if v[1] > now}
            self._sessions[sid] = (Principal(principal.token_id, principal.role, principal.label, True),
                                   now + SESSION_TTL_S)
        return sid, self.csrf_token(sid)

    def get(self, sid: str) -> Principal | None:
        """The principal of a live session, else None."""
        with self._lock:
            found = self._sessions.get(sid)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def close(self, sid: str) -> None:
        """End a session (log out)."""
        with self._lock:
            self._sessions.pop(sid, None)

    def csrf_token(self, sid: str) -> str:
        """The session's CSRF token: an HMAC of its id, so nothing more needs storing."""
        return hmac.new(self._key, sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        """Whether ``token`` is the session's CSRF token."""
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), str(token))
