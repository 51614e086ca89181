"""The events audit: who did what, when, where and with what outcome, to this terminal (issues 10, 27).
Append-only and hash-chained.

Each record is one JSON line in ``<data_dir>/audit.jsonl`` (mode 0600), written with ``O_APPEND``
and fsync'd before the request that caused it is answered, so a record survives a power cut the
moment the operator sees the result. Nothing in the gateway rewrites or deletes a line: the file
is only ever opened for appending or reading. It is capped (issue 17: forged or runaway records
must not fill the disk): a record that would take it past ``max_bytes`` (``gateway.audit_max_mb``)
first renames it to ``audit.jsonl.1`` (``.1`` to ``.2`` …) with a warning in the log, keeping ``keep``
(``gateway.audit_keep``) older files. The disk budget, ``max_bytes`` × (``keep`` + 1), always holds (a
flood of records cannot fill the disk); the retention, ``retention_s`` (``gateway.audit_retention_days``,
at least 180 days: GB/T 22239-2019 8.1.4.3 and the Cybersecurity Law's six months), is checked against
it: deleting a file that still holds records inside retention is an error in the log, and
:meth:`AuditLog.retention_short` (the metric ``kiosk_gateway_audit_retention_short``, alert
``KioskAuditRetentionShort``) says so before it happens, so operators size the budget.
One record is at most :data:`MAX_TARGET_CHARS` + :data:`MAX_DETAIL_CHARS` characters of text.

What a record holds: ``seq``, ``at`` (Unix seconds) and ``time`` (the same, ISO 8601 UTC): *when*;
``action``: *what*; ``outcome`` (``ok`` or the refusal's error code); ``actor`` (``{"token_id",
"role"}`` for an operator or technician, the token id a failed login *claimed*, or ``{"kind":
"kiosk"}`` for the kiosk app's own maintenance mode, ``{"kind": "gateway"}`` for the gateway's own
notes such as the clock offset): *who*; ``where`` (``{"kiosk": id, "from": address}``, ``from`` the
caller's address or ``terminal`` for the touchscreen); ``target`` (a device name, a receipt number, a
token id) and a short ``detail``. Never a token's secret, never personal data: the views that feed it
pass only setting names and values, switch states, receipt numbers and device names.

Protected against change (GB/T 22239-2019 8.1.4.3 c): every record carries ``prev``, the hash
(:func:`chain_hash`: SHA-256, or SM3 under ``security.suite = "sm"``) of the line before it, across rotated files, so an edited, deleted,
inserted or moved line breaks the chain at the next one; ``audit.head`` (written atomically after
each record) names the last record's ``seq`` and hash, so the last line is covered too.
:func:`verify_audit` (``kiosk audit verify``) walks the chain. A hash chain without a key proves
the order and content against anyone who does not rewrite every later line and the head; against
root on the terminal the copy that counts is the one shipped off it (operators' log collection).

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk import crypto
from local_api.files import write_atomically

log = logging.getLogger(__name__)

AUDIT_FILE_NAME = "audit.jsonl"
HEAD_FILE_NAME = "audit.head"
MAX_DETAIL_CHARS = 300
MAX_TARGET_CHARS = 200
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_RETENTION_S = 180 * 86400.0
GENESIS = "0" * 64
"""``prev`` of the first record of a chain."""
CLOCK_STEP_S = 2.0
"""A change of the platform clock offset by this much (seconds) is recorded at once."""
CLOCK_EVERY_S = 24 * 3600.0
"""The platform clock offset is recorded at least this often while it is heard."""
CLOCK_TOLERANCE_S = 5.0
"""An offset beyond this is recorded with outcome ``clock_off``."""


SM3_PREFIX = "sm3:"
"""``prev`` / head hashes made under ``security.suite = "sm"`` carry this prefix (plain hex: SHA-256)."""


def chain_hash(line: bytes, suite: str = "intl") -> str:
    """The hash one audit line is chained by: SHA-256 hex under the intl suite, ``sm3:`` + SM3 hex under
    sm (GB/T 39786: the national hash for integrity). The one place the audit's hash function is named."""
    if suite == "sm":
        return SM3_PREFIX + crypto.sm3(line).hex()
    return crypto.sha256_hex(line)


def _same_kind(expected: object, line: bytes) -> str:
    """``line``'s chain hash made the way ``expected`` was (its prefix says which suite), so a chain that
    runs across a switch of ``security.suite`` still verifies."""
    return chain_hash(line, "sm" if isinstance(expected, str) and expected.startswith(SM3_PREFIX) else "intl")


class AuditError(Exception):
    """The audit file cannot be written; the message names the file and what to do."""


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rotated_number(path: Path, name: str) -> int | None:
    suffix = path.name[len(name) + 1:]
    return int(suffix) if path.name.startswith(name + ".") and suffix.isdigit() else None


def audit_files(path: Path) -> list[Path]:
    """The audit's files, oldest first: ``audit.jsonl.N`` … ``.1``, then ``audit.jsonl`` (if present)."""
    rotated = sorted(((n, p) for p in path.parent.glob(path.name + ".*")
                      if (n := _rotated_number(p, path.name)) is not None), reverse=True)
    return [p for _, p in rotated] + ([path] if path.exists() else [])


def _last_record(path: Path) -> tuple[bytes, dict[str, Any]] | None:
    """The last whole record line of ``path`` (bytes without the newline) and its JSON, or None."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            step = 8192
            while True:
                start = max(0, size - step)
                f.seek(start)
                raw = f.read(size - start)
                lines = raw.split(b"\n")
                candidates = lines if start == 0 else lines[1:]
                for line in reversed(candidates):
                    entry = _parse(line)
                    if entry is not None:
                        return line, entry
                if start == 0:
                    return None
                step *= 4
    except FileNotFoundError:
        return None


def _parse(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("seq"), int) else None


class AuditLog:
    """Append-only, hash-chained audit records in a JSON-lines file. Thread-safe; opens the file on first use."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time,
                 max_bytes: int = DEFAULT_MAX_BYTES, keep: int = 4, retention_s: float = DEFAULT_RETENTION_S,
                 kiosk_id: str = "", suite: str = "intl") -> None:
        self.path = Path(path)
        self.suite = suite  # security.suite: the chain's hash (chain_hash)
        self.head_path = self.path.with_name(HEAD_FILE_NAME)
        self.max_bytes = max_bytes
        self.keep = max(1, keep)
        self.retention_s = retention_s
        self.kiosk_id = kiosk_id
        self._now = wall_clock
        self._lock = threading.Lock()
        self._seq: int | None = None  # read from the file's last line on first use
        self._prev = GENESIS
        self._torn = False
        self._quiet: dict[str, float] = {}  # address → until when its lock-out is already recorded
        self._clock_noted: tuple[float, float] | None = None  # (offset recorded, monotonic when)

    def _open_chain(self) -> None:
        """Where the chain stands: the last whole record of the newest file that has one (lock held)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 1))
                # A line torn by a power cut has no newline: start the next record on a line of its own.
                last_byte = f.read()
                self._torn = bool(last_byte) and last_byte != b"\n"
        except FileNotFoundError:
            self._torn = False
        for candidate in reversed(audit_files(self.path)):
            found = _last_record(candidate)
            if found is not None:
                self._seq, self._prev = int(found[1]["seq"]), chain_hash(found[0], self.suite)
                return
        self._seq, self._prev = 0, GENESIS

    def record(self, action: str, *, actor: dict[str, Any], outcome: str = "ok", target: str | None = None,
               detail: str = "", where: str | None = None) -> dict[str, Any]:
        """Append one record and fsync it; returns the record. ``where`` is the caller's address
        (``terminal`` for the kiosk app's own records). Raises :class:`AuditError`."""
        with self._lock:
            if self._seq is None:
                try:
                    self._open_chain()
                except OSError as exc:
                    raise AuditError(f"{self.path}: cannot append an audit record ({exc.strerror}); check the "
                                     "data folder's free space and permissions") from exc
            assert self._seq is not None
            at = round(self._now(), 3)
            origin = where or ("terminal" if actor.get("kind") in ("kiosk", "gateway") else None)
            entry: dict[str, Any] = {
                "seq": self._seq + 1, "at": at, "time": _utc(at), "action": action, "outcome": outcome,
                "actor": actor, "where": {"kiosk": self.kiosk_id, "from": origin},
                "target": None if target is None else target[:MAX_TARGET_CHARS],
                "detail": detail[:MAX_DETAIL_CHARS], "prev": self._prev}
            if self._torn:
                entry["after_torn"] = True  # the line before is a power cut's torn write, not a record
            body = json.dumps(entry, ensure_ascii=False).encode("utf-8")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._rotate_before(len(body) + 2)  # a torn line rotated away is still declared
                line = (b"\n" if self._torn else b"") + body + b"\n"
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._seq += 1
                self._prev = chain_hash(body, self.suite)
                self._torn = False
                write_atomically(self.head_path, json.dumps(
                    {"seq": self._seq, "hash": self._prev, "file": self.path.name}).encode("utf-8"))
            except OSError as exc:
                raise AuditError(f"{self.path}: cannot append an audit record ({exc.strerror}); check the data "
                                 "folder's free space and permissions") from exc
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
        older = [p for p in audit_files(self.path) if p != self.path]  # oldest first
        for p in older:
            n = _rotated_number(p, name)
            assert n is not None
            p.rename(self.path.with_name(f"{name}.{n + 1}"))
        self.path.rename(self.path.with_name(f"{name}.1"))
        self._torn = False
        self._drop_expired()
        log.warning("audit: %s reached %d kB (gateway.audit_max_mb is %d kB); rotated to %s.1 (seq %d onwards in "
                    "the new file)", self.path, size // 1024, self.max_bytes // 1024, name, (self._seq or 0) + 1)

    def _drop_expired(self) -> None:
        """Delete rotated files beyond ``keep`` (the disk budget holds, even against a flood of records);
        one that still holds records inside retention is said loudly: the budget is too small (lock held)."""
        cutoff = self._now() - self.retention_s
        for p in audit_files(self.path):
            n = _rotated_number(p, self.path.name)
            if n is None or n <= self.keep:
                break
            last = _last_record(p)
            p.unlink()
            if last is not None and float(last[1].get("at", 0)) > cutoff:
                log.error("audit: deleted %s although it held records from the last %d days "
                          "(gateway.audit_retention_days): the disk budget gateway.audit_max_mb x (audit_keep + 1) is "
                          "too small for the retention; raise it", p.name, int(self.retention_s // 86400))
            else:
                log.warning("audit: deleted %s (beyond gateway.audit_keep, older than the retention)", p.name)

    def retention_short(self) -> bool:
        """Whether the audit is at its file budget (``keep`` rotated files) while its oldest record is
        younger than the retention: records inside retention have been or will soon be deleted."""
        files = audit_files(self.path)
        if sum(1 for p in files if p != self.path) < self.keep:
            return False
        first = _first_record(files[0]) if files else None
        return first is not None and float(first.get("at", 0)) > self._now() - self.retention_s

    def clock_heard(self, offset_s: float, source: str = "platform") -> None:
        """Note how far ``source``'s clock (the platform's ``Date``) is ahead of this terminal's: recorded
        the first time, when it moved by :data:`CLOCK_STEP_S` or more since the last note, and at least
        every :data:`CLOCK_EVERY_S`. Never raises (called on a request's thread)."""
        now = time.monotonic()
        with self._lock:
            noted = self._clock_noted
            if noted is not None and abs(offset_s - noted[0]) < CLOCK_STEP_S and now - noted[1] < CLOCK_EVERY_S:
                return
            self._clock_noted = (offset_s, now)
        outcome = "ok" if abs(offset_s) <= CLOCK_TOLERANCE_S else "clock_off"
        try:
            self.record("clock_offset", actor={"kind": "gateway"}, outcome=outcome, target=source,
                        detail=f"offset_s={offset_s:+.3f} ({source} clock minus this terminal's)")
        except AuditError as exc:
            log.error("audit: %s", exc)

    def usage(self) -> tuple[int, float | None]:
        """``(bytes, oldest record's Unix time or None)`` over every audit file (for the metrics)."""
        total, oldest = 0, None
        for p in audit_files(self.path):
            try:
                total += p.stat().st_size
            except OSError:
                continue
            if oldest is None:
                first = _first_record(p)
                if first is not None:
                    oldest = float(first.get("at", 0))
        return total, oldest

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

        With ``after_seq`` 0 these are the newest ``limit`` records (what a console shows). Rotated files
        are read, newest first, until they reach back far enough.
        """
        limit = max(1, limit)
        current: list[dict[str, Any]] = []
        for p in reversed(audit_files(self.path)):
            current = self._entries(p, after_seq) + current
            reaches_back = bool(current) and int(current[0].get("seq", 0)) <= after_seq + 1
            if (len(current) >= limit if after_seq == 0 else reaches_back):
                break
        return current[-limit:] if after_seq == 0 else current[:limit]

    def _entries(self, path: Path, after_seq: int) -> list[dict[str, Any]]:
        """The records in one file with ``seq`` above ``after_seq`` (torn lines skipped, never repaired)."""
        found: list[dict[str, Any]] = []
        try:
            with open(path, "rb") as f:
                for line in f:
                    entry = _parse(line)
                    if entry is not None and int(entry["seq"]) > after_seq:
                        found.append(entry)
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("audit: %s cannot be read (%s)", path, exc.strerror)
            return []
        return found


def _first_record(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            for line in f:
                entry = _parse(line.rstrip(b"\n"))
                if entry is not None:
                    return entry
    except OSError:
        return None
    return None


# -- verification (``kiosk audit verify``) -----------------------------------------------------------

@dataclass
class Verdict:
    """What :func:`verify_audit` found: ``problem`` (None when the chain holds) names the first bad
    line as ``file:line``; ``notes`` are what holds but is worth saying (torn lines, legacy records)."""

    records: int = 0
    files: list[str] = field(default_factory=list)
    first_seq: int | None = None
    last_seq: int | None = None
    problem: str | None = None
    where: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes without the newline, whether it ended with one)``."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            yield number, raw.rstrip(b"\n"), raw.endswith(b"\n")


def verify_audit(path: Path) -> Verdict:
    """Walk the hash chain of the audit at ``path`` (and its rotated files, oldest first) and its head.

    The first line that breaks it is named with why: a line that is not a record (and not a power
    cut's torn write the next record declares), a ``seq`` that does not follow (a line deleted or
    moved), a ``prev`` that is not the hash of the line before (that line was changed), a chained
    record after which an unchained one follows, or a last line that does not match ``audit.head``.
    Records from before the chain (no ``prev``) are counted as such in the notes."""
    verdict = Verdict()
    files = audit_files(Path(path))
    verdict.files = [p.name for p in files]
    prev_line: bytes | None = None
    prev_entry: dict[str, Any] | None = None
    prev_where = ""
    pending_torn: str | None = None
    legacy = 0

    def fail(where: str, why: str) -> Verdict:
        verdict.problem, verdict.where = why, where
        return verdict

    for p in files:
        for number, line, ended in _lines(p):
            where = f"{p.name}:{number}"
            if not line.strip():
                continue
            entry = _parse(line)
            if entry is None:
                if pending_torn is not None:
                    return fail(pending_torn, "not an audit record (edited, or torn and not declared by the "
                                "next record)")
                pending_torn = where
                if not ended:
                    verdict.notes.append(f"{where}: the last line is torn (a power cut while it was written)")
                continue
            seq = int(entry["seq"])
            if pending_torn is not None:
                if not entry.get("after_torn"):
                    return fail(pending_torn, "not an audit record, and the next record does not declare a torn "
                                "write before it (edited)")
                verdict.notes.append(f"{pending_torn}: a torn write (power cut), declared by the next record")
                pending_torn = None
            if "prev" not in entry:
                if prev_entry is not None and "prev" in prev_entry:
                    return fail(where, f"record {seq} has no hash chain after chained records (inserted or "
                                "edited)")
                legacy += 1
            elif prev_entry is None:
                if verdict.records == 0 and entry["prev"] != GENESIS:
                    verdict.notes.append(f"{where}: the chain starts at seq {seq}; older files were removed after "
                                         "retention")
            else:
                expected = int(prev_entry["seq"]) + 1
                if seq != expected:
                    if seq > expected:
                        why = (f"record {seq} follows record {expected - 1}: record(s) {expected}"
                               f"{'' if seq == expected + 1 else f'–{seq - 1}'} were deleted")
                    else:
                        why = f"record {seq} follows record {expected - 1}: lines were moved or repeated"
                    return fail(where, why)
                assert prev_line is not None
                if entry["prev"] != _same_kind(entry["prev"], prev_line):
                    return fail(prev_where, f"record {prev_entry['seq']} was changed after it was written (the "
                                f"hash record {seq} holds of it does not match)")
            if verdict.first_seq is None:
                verdict.first_seq = seq
            verdict.last_seq = seq
            verdict.records += 1
            prev_line, prev_entry, prev_where = line, entry, where
    if pending_torn is not None and not any(n.startswith(pending_torn) for n in verdict.notes):
        return fail(pending_torn, "not an audit record (edited)")
    if legacy:
        verdict.notes.append(f"{legacy} record(s) from before the hash chain (not verifiable)")
    head_path = Path(path).with_name(HEAD_FILE_NAME)
    if prev_entry is not None and "prev" in prev_entry:
        try:
            head = json.loads(head_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return fail(prev_where, f"{HEAD_FILE_NAME} is missing: the last record cannot be checked (deleted?)")
        except (OSError, ValueError) as exc:
            return fail(prev_where, f"{HEAD_FILE_NAME} cannot be read ({exc})")
        assert prev_line is not None
        head_seq = head.get("seq") if isinstance(head, dict) else None
        head_hash = head.get("hash") if isinstance(head, dict) else None
        last_seq = int(prev_entry["seq"])
        if head_seq == last_seq and head_hash != _same_kind(head_hash, prev_line):
            return fail(prev_where, f"record {last_seq}, the last, was changed after it was written (it does not "
                        f"match {HEAD_FILE_NAME})")
        if isinstance(head_seq, int) and head_seq > last_seq:
            return fail(prev_where, f"{HEAD_FILE_NAME} says the last record is {head_seq}, the file ends at "
                        f"{last_seq}: the last record(s) were deleted")
        if head_seq == last_seq - 1 and head_hash == prev_entry.get("prev"):
            verdict.notes.append(f"{HEAD_FILE_NAME} is one record behind (a power cut after the last write)")
        elif head_seq != last_seq:
            return fail(prev_where, f"{HEAD_FILE_NAME} (seq {head_seq}) does not match the last record ({last_seq})")
    return verdict
