"""The events audit: who did what, and when, to this terminal (issue 10). Append-only.

Each record is one JSON line in ``<data_dir>/audit.jsonl`` (mode 0600), written with ``O_APPEND``
and fsync'd before the request that caused it is answered, so a record survives a power cut the
moment the operator sees the result. Nothing in the gateway rewrites or deletes a line: the file
is only ever opened for appending or reading. It is capped (issue 17: forged or runaway records
must not fill the disk): a record that would take it past ``max_bytes`` (``gateway.audit_max_mb``)
first renames it to ``audit.jsonl.1`` (``.1`` to ``.2`` …, keeping ``keep`` old files, the oldest
beyond deleted) with a warning in the log; the sequence numbers run on across files, so a gap shows.
One record is at most :data:`MAX_TARGET_CHARS` + :data:`MAX_DETAIL_CHARS` characters of text.

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
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUDIT_FILE_NAME = "audit.jsonl"
MAX_DETAIL_CHARS = 300
MAX_TARGET_CHARS = 200
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class AuditError(Exception):
    """The audit file cannot be written; the message names the file and what to do."""


class AuditLog:
    """Append-only audit records in a JSON-lines file. Thread-safe; opens the file on first use."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time,
                 max_bytes: int = DEFAULT_MAX_BYTES, keep: int = 4) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = max(1, keep)
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
                     "actor": actor, "target": None if target is None else target[:MAX_TARGET_CHARS],
                     "detail": detail[:MAX_DETAIL_CHARS]}
            line = (("\n" if self._torn else "") + json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._rotate_before(len(line))
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

    def _rotate_before(self, incoming: int) -> None:
        """Start a new file when ``incoming`` bytes would take this one past ``max_bytes`` (lock held)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0 or size + incoming <= self.max_bytes:
            return
        name = self.path.name
        self.path.with_name(f"{name}.{self.keep}").unlink(missing_ok=True)
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{name}.{n}")
            if older.exists():
                older.rename(self.path.with_name(f"{name}.{n + 1}"))
        self.path.rename(self.path.with_name(f"{name}.1"))
        self._torn = False
        log.warning("audit: %s reached %d kB (gateway.audit_max_mb is %d kB); rotated to %s.1, keeping %d "
                    "older files (seq %d onwards in the new file)", self.path, size // 1024,
                    self.max_bytes // 1024, name, self.keep, (self._seq or 0) + 1)

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

        With ``after_seq`` 0 these are the newest ``limit`` records (what a console shows). The newest
        rotated file (``audit.jsonl.1``) is read too when the current one does not reach back far enough.
        """
        limit = max(1, limit)
        current = self._entries(self.path, after_seq)
        reaches_back = bool(current) and int(current[0].get("seq", 0)) <= after_seq + 1
        if (len(current) < limit if after_seq == 0 else not reaches_back):
            current = self._entries(self.path.with_name(self.path.name + ".1"), after_seq) + current
        return current[-limit:] if after_seq == 0 else current[:limit]

    def _entries(self, path: Path, after_seq: int) -> list[dict[str, Any]]:
        """The records in one file with ``seq`` above ``after_seq`` (torn lines skipped, never repaired)."""
        found: list[dict[str, Any]] = []
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # a torn line is skipped, never "repaired" in place
                    if isinstance(entry, dict) and int(entry.get("seq", 0)) > after_seq:
                        found.append(entry)
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("audit: %s cannot be read (%s)", path, exc.strerror)
            return []
        return found
