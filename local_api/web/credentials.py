"""Who may use the operator and technician doors (TARGETS S3, issue 17): tokens and console sessions.

- Tokens with roles: ``operator`` reads health, status, metrics, events and the outbox;
  ``technician`` also reads device settings, starts device tests, requeues parked
  submissions and manages tokens. A token is ``kgw_<id>.<secret>``; only a salted hash of
  the secret is kept, in ``tokens.json`` (mode 0600) in the data folder, with its optional
  expiry (``expires_at``) and its last use (``last_used_at``, in memory at once, on disk at most
  once a minute). A ``tokens.json`` from before expiry and last use loads as it is.
- The first token: when no token exists at start, the gateway creates one with the role of
  ``gateway.first_token_role`` and writes it to ``first-token.txt`` (0600) in the data folder
  for the technician on site; the file is deleted after the first successful use of that token.
- Browser consoles log in once (``POST /console/session``) and get an HttpOnly, SameSite=Strict
  session cookie plus a CSRF token; every state-changing request authenticated by that cookie
  must echo the token in ``X-CSRF-Token`` (or a ``csrf_token`` form field). Requests with an
  ``Authorization: Bearer`` header are not open to CSRF (a browser never adds it on its own).
  A session remembers the token it came from and the role it had: every request on it checks
  that token again, so revoking, expiring or changing the role of a token ends its sessions at once.
- Failed token checks are throttled per source address and per token id by Flask-Limiter
  (:mod:`local_api.web.limits`), not here.
- A second factor for console log-ins (GB/T 22239-2019 8.1.4.1 d, issue 27): a TOTP code (RFC 6238:
  HMAC-SHA1, 6 digits, 30 s steps, what every authenticator app reads) from a secret enrolled per token
  with ``kiosk totp enrol <token id>`` into ``totp.json`` (0600; the secret must be kept in clear to
  compute codes, like the outbox key next to it). :class:`TotpStore` reads the file at each check, so an
  enrolment counts at once; a code is accepted one step either side (clock drift) and only once (a
  step at or before the last one used is refused: no replay). ``gateway.second_factor`` says which
  roles must have one. TOTP is ~20 lines over the standard library's ``hmac`` (checked against the RFC
  4226 and RFC 6238 test vectors) rather than ``pyotp``: no new dependency for one function.

Hand-written rather than Flask-Login/Flask-WTF: bearer tokens, roles and a double-submit CSRF
check are ~150 lines, and neither library stores API tokens hashed.

This module keeps the credentials (no Flask); :mod:`local_api.web.auth` checks a request against them.
"""

from __future__ import annotations

import base64
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
from urllib.parse import quote

from kiosk import crypto
from local_api.files import write_atomically

log = logging.getLogger(__name__)

ROLES = {"helper": 0, "operator": 1, "technician": 2}
TOKENS_FILE_NAME = "tokens.json"
TOTP_FILE_NAME = "totp.json"
TOTP_STEP_S = 30
TOTP_DIGITS = 6
TOTP_ISSUER = "gov-kiosk"
FIRST_TOKEN_FILE_NAME = "first-token.txt"
TOKEN_PREFIX = "kgw_"
SESSION_COOKIE = "kgw_session"
SESSION_TTL_S = 8 * 3600.0
LAST_USE_SAVE_S = 60.0
"""A token's last use is written to ``tokens.json`` at most this often (a scrape every 15 s must
not rewrite the file each time); the listing shows the exact time from memory."""

# Why a token is not accepted (:meth:`TokenStore.check`); "" when it is.
UNKNOWN = "unknown"
EXPIRED = "expired"


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
    return crypto.hmac_sha256(bytes.fromhex(salt), secret.encode("utf-8")).hex()


class TokenStore:
    """Tokens with roles, kept hashed in a JSON file. Thread-safe."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = wall_clock
        self._lock = threading.Lock()
        self._tokens: list[dict[str, Any]] = self._load()
        self._last_used: dict[str, float] = {}  # newer than tokens.json's last_used_at
        self._first: tuple[str, Path] | None = None  # the token in first-token.txt, until it is used

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

    def _entry(self, token_id: str) -> dict[str, Any] | None:
        return next((t for t in self._tokens if t["id"] == token_id), None)

    def create(self, role: str, label: str = "", *, expires_at: float | None = None) -> str:
        """Add a token with ``role`` (valid until ``expires_at``, Unix seconds, if given) and return it
        in clear (the only time it exists in clear)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if expires_at is not None and expires_at <= self._now():
            raise ValueError("the expiry must be in the future")
        token_id, secret, salt = secrets.token_hex(4), secrets.token_urlsafe(32), secrets.token_hex(16)
        entry = {"id": token_id, "role": role, "label": label[:80], "salt": salt, "hash": _hash(salt, secret),
                 "created_at": self._now()}
        if expires_at is not None:
            entry["expires_at"] = float(expires_at)
        with self._lock:
            self._tokens.append(entry)
            self._save()
        log.info("created %s token %s (%s)%s", role, token_id, label or "no label",
                 "" if expires_at is None else f", valid until {time.strftime('%Y-%m-%d %H:%M', time.localtime(expires_at))}")
        return f"{TOKEN_PREFIX}{token_id}.{secret}"

    def revoke(self, token_id: str) -> bool:
        """Remove a token; False if there was none with this id."""
        with self._lock:
            kept = [t for t in self._tokens if t["id"] != token_id]
            if len(kept) == len(self._tokens):
                return False
            self._tokens = kept
            self._last_used.pop(token_id, None)
            self._save()
        log.info("revoked token %s", token_id)
        if self._first is not None and self._first[0] == token_id:
            self._drop_first_file("its token was revoked")
        return True

    def set_role(self, token_id: str, role: str) -> bool:
        """Give a token another role (its console sessions end); False if there is no token with this id."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self._lock:
            entry = self._entry(token_id)
            if entry is None:
                return False
            before, entry["role"] = entry["role"], role
            if before != role:
                self._save()
        if before != role:
            log.info("token %s changed from %s to %s", token_id, before, role)
        return True

    def listing(self) -> list[dict[str, Any]]:
        """Every token's id, role, label, creation time, expiry and last use (Unix seconds or None);
        never a secret or a hash."""
        with self._lock:
            return [{"id": t["id"], "role": t["role"], "label": t.get("label", ""), "created_at": t.get("created_at"),
                     "expires_at": t.get("expires_at"),
                     "last_used_at": self._last_used.get(t["id"], t.get("last_used_at"))} for t in self._tokens]

    def check(self, token: str) -> tuple[Principal | None, str]:
        """``(principal, "")`` for a current token in clear, else ``(None, UNKNOWN or EXPIRED)``.
        Records nothing (see :meth:`verify`)."""
        if not token.startswith(TOKEN_PREFIX) or "." not in token:
            return None, UNKNOWN
        token_id, _, secret = token[len(TOKEN_PREFIX):].partition(".")
        with self._lock:
            entry = self._entry(token_id)
            entry = dict(entry) if entry is not None else None
        if entry is None or not crypto.equal(_hash(entry["salt"], secret), entry["hash"]):
            return None, UNKNOWN
        if entry.get("expires_at") is not None and entry["expires_at"] <= self._now():
            return None, EXPIRED
        return Principal(entry["id"], entry["role"], entry.get("label", "")), ""

    def verify(self, token: str) -> Principal | None:
        """The principal of a token in clear, or None if it is not a current token. A success is a use
        of the token: its last use is recorded, and ``first-token.txt`` goes after its token's first use."""
        principal, _reason = self.check(token)
        if principal is not None:
            self.used(principal.token_id)
        return principal

    def current(self, token_id: str) -> tuple[Principal | None, str]:
        """The token with this id as it is now (a console session's token): ``(principal, "")``, or
        ``(None, UNKNOWN)`` when revoked, ``(None, EXPIRED)`` when expired."""
        with self._lock:
            entry = self._entry(token_id)
            entry = dict(entry) if entry is not None else None
        if entry is None:
            return None, UNKNOWN
        if entry.get("expires_at") is not None and entry["expires_at"] <= self._now():
            return None, EXPIRED
        return Principal(entry["id"], entry["role"], entry.get("label", "")), ""

    def expires_at(self, token_id: str) -> float | None:
        """When the token with this id expires (None: never, or no such token)."""
        with self._lock:
            entry = self._entry(token_id)
            return None if entry is None else entry.get("expires_at")

    def used(self, token_id: str) -> None:
        """Record a use of the token now (written to the file at most every :data:`LAST_USE_SAVE_S`)."""
        now = self._now()
        with self._lock:
            self._last_used[token_id] = now
            entry = self._entry(token_id)
            if entry is not None and now - (entry.get("last_used_at") or 0.0) >= LAST_USE_SAVE_S:
                entry["last_used_at"] = now
                try:
                    self._save()
                except OSError as exc:  # the use stands; the listing still has it from memory
                    log.warning("last use of token %s not saved to %s: %s", token_id, self.path, exc.strerror)
        if self._first is not None and self._first[0] == token_id:
            self._drop_first_file("its token has been used")

    def _drop_first_file(self, why: str) -> None:
        first, self._first = self._first, None
        if first is None:
            return
        try:
            first[1].unlink(missing_ok=True)
        except OSError as exc:
            log.error("could not delete %s (%s): delete it by hand; it holds token %s", first[1], exc.strerror,
                      first[0])
            return
        log.warning("deleted %s (token %s): %s", first[1], first[0], why)

    def ensure_first(self, role: str, folder: Path) -> Path | None:
        """With no token at all, create one with ``role`` and write it to ``first-token.txt`` (0600).

        The file is deleted after the first successful use of that token (also when it was written
        before a restart); returns its path when it was written now."""
        path = folder / FIRST_TOKEN_FILE_NAME
        if role not in ROLES or len(self):
            self._remember_first(path)
            return None
        token = self.create(role, "first token, created at start")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (token + "\n").encode("ascii"))
        finally:
            os.close(fd)
        self._first = (token[len(TOKEN_PREFIX):].partition(".")[0], path)
        log.warning("no operator token existed: a %s token was written to %s; it is deleted after its first use "
                    "(read it, keep it safe)", role, path)
        return path

    def _remember_first(self, path: Path) -> None:
        """A ``first-token.txt`` left from an earlier start: delete it once its token is used (or gone)."""
        try:
            text = path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return
        token_id = text[len(TOKEN_PREFIX):].partition(".")[0] if text.startswith(TOKEN_PREFIX) else ""
        with self._lock:
            known = self._entry(token_id) is not None
        self._first = (token_id, path)
        if not known:
            self._drop_first_file("its token no longer exists")


class ConsoleSessions:
    """Browser sessions of the console pages: cookie id → (token id, role), with a CSRF token each.

    A session is only as good as the token it came from: :meth:`check` asks ``tokens`` again on
    every request and ends the session when the token was revoked, has expired or has another role.
    """

    def __init__(self, tokens: TokenStore | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens = tokens
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

    def check(self, sid: str) -> tuple[Principal | None, str]:
        """``(principal, "")`` for a live session whose token still holds, else ``(None, why)`` in
        plain words (the session is ended when its token no longer holds)."""
        with self._lock:
            found = self._sessions.get(sid)
        if found is None or found[1] <= self._clock():
            return None, "the console session has ended; log in again"
        principal = found[0]
        if self._tokens is None:
            return principal, ""
        now, reason = self._tokens.current(principal.token_id)
        why = ""
        if now is None:
            why = (f"the token this session was opened with ({principal.token_id}) has expired; log in with a "
                   "current token" if reason == EXPIRED else
                   f"the token this session was opened with ({principal.token_id}) was revoked; log in again")
        elif now.role != principal.role:
            why = (f"the role of the token this session was opened with ({principal.token_id}) changed to "
                   f"{now.role}; log in again")
        if why:
            self.close(sid)
            log.info("console session of token %s ended: %s", principal.token_id, why.split(";")[0])
            return None, why
        self._tokens.used(principal.token_id)
        return principal, ""

    def get(self, sid: str) -> Principal | None:
        """The principal of a live session whose token still holds, else None."""
        return self.check(sid)[0]

    def close(self, sid: str) -> None:
        """End a session (log out)."""
        with self._lock:
            self._sessions.pop(sid, None)

    def close_token(self, token_id: str) -> int:
        """End every session opened with the token ``token_id``; how many there were."""
        with self._lock:
            ended = [sid for sid, (p, _) in self._sessions.items() if p.token_id == token_id]
            for sid in ended:
                del self._sessions[sid]
        return len(ended)

    def csrf_token(self, sid: str) -> str:
        """The session's CSRF token: an HMAC of its id, so nothing more needs storing."""
        return crypto.hmac_sha256(self._key, sid.encode()).hex()

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        """Whether ``token`` is the session's CSRF token."""
        return bool(token) and crypto.equal(self.csrf_token(sid), str(token))


# -- the second factor: TOTP (RFC 6238) ----------------------------------------------------------------

def hotp(secret: bytes, counter: int, *, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 HOTP: the code of ``counter`` (dynamic truncation of an HMAC)."""
    macs = {"sha1": crypto.hmac_sha1, "sha256": crypto.hmac_sha256}
    if digest not in macs:
        raise ValueError(f"TOTP digest {digest!r}: sha1 (what authenticator apps use) or sha256")
    mac = macs[digest](secret, counter.to_bytes(8, "big"))
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def totp(secret: bytes, at: float, *, step: int = TOTP_STEP_S, digits: int = TOTP_DIGITS,
         digest: str = "sha1") -> str:
    """RFC 6238 TOTP: the code at Unix time ``at``."""
    return hotp(secret, int(at // step), digits=digits, digest=digest)


def totp_uri(secret_b32: str, token_id: str, kiosk_id: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (Key Uri Format)."""
    label = quote(f"{TOTP_ISSUER}:{kiosk_id}-{token_id}", safe="")
    return (f"otpauth://totp/{label}?secret={secret_b32}&issuer={TOTP_ISSUER}&algorithm=SHA1"
            f"&digits={TOTP_DIGITS}&period={TOTP_STEP_S}")


class TotpStore:
    """TOTP secrets by token id in ``totp.json`` (0600), read at each use. Thread-safe within a process;
    the enrolment command and the gateway write it atomically."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = wall_clock
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TokenFileError(f"{self.path}: cannot be read as a TOTP file ({exc}); enrol again after moving "
                                 "it aside") from exc
        secrets_ = data.get("secrets") if isinstance(data, dict) else None
        return {k: v for k, v in secrets_.items() if isinstance(v, dict)} if isinstance(secrets_, dict) else {}

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        write_atomically(self.path, json.dumps({"version": 1, "secrets": entries}, indent=1).encode("utf-8"))

    def enrolled(self, token_id: str) -> bool:
        """Whether the token has a TOTP secret."""
        with self._lock:
            return token_id in self._load()

    def enrol(self, token_id: str) -> str:
        """A new secret for the token (replacing one it had), base32 for the authenticator app."""
        secret = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
        with self._lock:
            entries = self._load()
            entries[token_id] = {"secret": secret, "enrolled_at": self._now(), "last_step": -1}
            self._save(entries)
        log.info("TOTP secret enrolled for token %s", token_id)
        return secret

    def remove(self, token_id: str) -> bool:
        """Forget the token's secret; False if it had none."""
        with self._lock:
            entries = self._load()
            if entries.pop(token_id, None) is None:
                return False
            self._save(entries)
        log.info("TOTP secret removed for token %s", token_id)
        return True

    def check(self, token_id: str, code: str) -> bool:
        """Whether ``code`` is the token's current code (one step either side), not used before; a
        success uses its step up."""
        code = code.strip()
        if len(code) != TOTP_DIGITS or not code.isdigit():
            return False
        with self._lock:
            entries = self._load()
            entry = entries.get(token_id)
            if entry is None:
                return False
            try:
                secret = base64.b32decode(str(entry["secret"]), casefold=True)
            except (KeyError, ValueError):
                return False
            now_step = int(self._now() // TOTP_STEP_S)
            last = int(entry.get("last_step", -1))
            for step in (now_step - 1, now_step, now_step + 1):
                if step > last and crypto.equal(hotp(secret, step), code):
                    entry["last_step"] = step
                    self._save(entries)
                    return True
        return False
