"""Structured logging: one JSON object per line on stderr (journald keeps stderr).

Personal data never belongs in a log message; as a second line of defence, anything that looks
like a citizen ID number is masked before a record is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from kiosk.privacy import mask_id_number

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _scrub(text: str) -> str:
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    """``{"ts": …, "level": …, "logger": …, "msg": …, <extra fields>}``"""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
            + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "proc": self.process,
            "logger": record.name,
            "msg": _scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = _scrub(str(value)) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", process: str = "kiosk") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("waitress", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
