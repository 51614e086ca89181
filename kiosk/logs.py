"""Structured logging: one JSON object per record, with its syslog priority for journald (issue 22).

Where a record goes:

- under systemd (stderr is the journal: ``$JOURNAL_STREAM`` names it) with journald's socket at hand:
  straight to the journal over its native protocol (:class:`JournalHandler`), with ``PRIORITY``,
  ``SYSLOG_IDENTIFIER`` (``kiosk-gateway``, ``kiosk-app`` …) and ``KIOSK_ID`` fields, the JSON line as
  ``MESSAGE``: ``journalctl -p err`` shows the errors, ``journalctl KIOSK_ID=HC-XY-001`` one terminal's
  lines on a central store;
- under systemd without the socket: the JSON line on stderr with a ``<N>`` priority prefix
  (sd-daemon(3)), which journald turns into the line's priority;
- elsewhere (a developer's terminal, tests): the JSON line on stderr.

``KIOSK_LOG_TARGET`` = ``journal``, ``prefix`` or ``plain`` chooses one instead of this ``auto`` choice.
The JSON carries ``kiosk_id`` too, wherever it goes.

Personal data never belongs in a log message; as a second line of defence, anything that looks
like a citizen ID number is masked before a record is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import struct
import sys
import time
from typing import TextIO

from kiosk.privacy import mask_id_number

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
JOURNAL_SOCKET = "/run/systemd/journal/socket"
TARGETS = ("auto", "journal", "prefix", "plain")


def _scrub(text: str) -> str:
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)


def syslog_priority(levelno: int) -> int:
    """A logging level as a syslog priority: CRITICAL 2, ERROR 3, WARNING 4, INFO 6, DEBUG 7."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class JsonFormatter(logging.Formatter):
    """``{"ts": …, "level": …, "proc": …, "kiosk_id": …, "logger": …, "msg": …, <extra fields>}``"""

    def __init__(self, process: str, kiosk_id: str = "") -> None:
        super().__init__()
        self.process = process
        self.kiosk_id = kiosk_id

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
            + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "proc": self.process,
            "logger": record.name,
            "msg": _scrub(record.getMessage()),
        }
        if self.kiosk_id:
            out["kiosk_id"] = self.kiosk_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = _scrub(str(value)) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class PrefixedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Each line as ``<N>line`` (sd-daemon(3)): journald files it under syslog priority N."""

    def format(self, record: logging.LogRecord) -> str:
        return f"<{syslog_priority(record.levelno)}>{super().format(record)}"


def journal_fields(fields: dict[str, str]) -> bytes:
    """One entry in journald's native protocol: ``KEY=value`` lines, a value with a newline as
    ``KEY``, newline, its length (64-bit little-endian), the value, newline."""
    out = bytearray()
    for key, value in fields.items():
        data = value.encode("utf-8")
        if b"\n" in data:
            out += key.encode("ascii") + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode("ascii") + b"=" + data + b"\n"
    return bytes(out)


class JournalHandler(logging.Handler):
    """Records straight into the journal over its native socket, with their priority and this terminal's id
    as fields; a record the socket refuses (journald gone, too large) goes to ``fallback`` with a ``<N>``
    prefix instead, never lost and never raising."""

    def __init__(self, process: str, kiosk_id: str = "", *, path: str | None = None,
                 fallback: TextIO | None = None) -> None:
        super().__init__()
        self.identifier = f"kiosk-{process}" if process != "kiosk" else "kiosk"
        self.process = process
        self.kiosk_id = kiosk_id
        self.path = path or JOURNAL_SOCKET
        self.fallback = fallback or sys.stderr
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            fields = {"MESSAGE": line, "PRIORITY": str(syslog_priority(record.levelno)),
                      "SYSLOG_IDENTIFIER": self.identifier, "KIOSK_PROCESS": self.process,
                      "LOGGER": record.name, "CODE_FILE": record.pathname, "CODE_LINE": str(record.lineno),
                      "CODE_FUNC": record.funcName}
            if self.kiosk_id:
                fields["KIOSK_ID"] = self.kiosk_id
            try:
                self._sock.sendto(journal_fields(fields), self.path)
            except OSError:
                self.fallback.write(f"<{syslog_priority(record.levelno)}>{line}\n")
                self.fallback.flush()
        except Exception:  # noqa: BLE001 - logging must never take the process down
            self.handleError(record)

    def close(self) -> None:
        self._sock.close()
        super().close()


def stderr_is_journal(environ: dict[str, str] | None = None) -> bool:
    """Whether stderr is systemd's journal stream (``$JOURNAL_STREAM`` is its ``device:inode``)."""
    value = (environ if environ is not None else os.environ).get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in value.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def choose_target(environ: dict[str, str] | None = None, socket_path: str | None = None) -> str:
    """``journal``, ``prefix`` or ``plain``: ``$KIOSK_LOG_TARGET`` when set, else as the module says."""
    env = environ if environ is not None else os.environ
    wanted = env.get("KIOSK_LOG_TARGET", "auto").strip().lower() or "auto"
    if wanted not in TARGETS:
        wanted = "auto"
    if wanted != "auto":
        return wanted
    if not stderr_is_journal(env):
        return "plain"
    return "journal" if os.path.exists(socket_path or JOURNAL_SOCKET) else "prefix"


def setup_logging(level: str = "INFO", process: str = "kiosk", kiosk_id: str = "") -> None:
    target = choose_target()
    handler: logging.Handler
    if target == "journal":
        handler = JournalHandler(process, kiosk_id, path=JOURNAL_SOCKET)
    elif target == "prefix":
        handler = PrefixedStreamHandler(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process, kiosk_id))
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, JournalHandler):
            old.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("waitress", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
