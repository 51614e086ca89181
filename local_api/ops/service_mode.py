"""The out-of-service switch: operators and technicians take the kiosk out of service with a
message for residents, and put it back.

The state is kept in ``<data_dir>/service.json`` (written atomically), so a terminal taken out of
service stays out of service across a reboot until someone puts it back. The kiosk app learns
the state from the answer to each heartbeat, field ``service`` (see :meth:`ServiceSwitch.view`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from local_api.files import write_atomically
from local_api.timestamps import iso

log = logging.getLogger(__name__)

SERVICE_FILE_NAME = "service.json"
DEFAULT_MESSAGE = "本机暂停服务，请到服务窗口办理。This terminal is out of service; please go to the service desk."
MAX_MESSAGE_CHARS = 200


class ServiceBody(BaseModel):
    """A switch request: ``in_service`` false takes the kiosk out of service with ``message``."""

    model_config = ConfigDict(extra="forbid")
    in_service: StrictBool
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)


class ServiceSwitch:
    """In or out of service, with the residents' message; persisted. Thread-safe."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = wall_clock
        self._lock = threading.Lock()
        self._state = self._load()

    def _load(self) -> dict[str, Any]:
        fresh = {"in_service": True, "message": "", "since": None, "by": None}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return fresh
        except (OSError, ValueError) as exc:
            # Out of service is the safe reading of a damaged switch file: a person must look.
            log.error("%s unreadable (%s): the kiosk stays out of service until someone sets the switch",
                      self.path, exc)
            return {"in_service": False, "message": DEFAULT_MESSAGE, "since": self._now(), "by": None}
        if not isinstance(data, dict) or not isinstance(data.get("in_service"), bool):
            return fresh
        return {k: data.get(k, fresh[k]) for k in fresh}

    def set(self, in_service: bool, message: str, by: dict[str, Any]) -> dict[str, Any]:
        """Switch; ``by`` is ``{token_id, role}``. Returns :meth:`view`. Raises OSError if not saved."""
        with self._lock:
            text = "" if in_service else (message.strip() or DEFAULT_MESSAGE)
            state = {"in_service": in_service, "message": text, "since": self._now(),
                     "by": {"token_id": by.get("token_id"), "role": by.get("role")}}
            write_atomically(self.path, json.dumps(state, ensure_ascii=False).encode("utf-8"))
            self._state = state
        log.warning("kiosk %s by %s token %s", "back in service" if in_service else "taken out of service",
                    by.get("role"), by.get("token_id"))
        return self.view()

    def state(self) -> dict[str, Any]:
        """``{in_service, message, since}`` with ``since`` in Unix seconds (None: never switched)."""
        with self._lock:
            return {k: self._state[k] for k in ("in_service", "message", "since")}

    def view(self) -> dict[str, Any]:
        """``{in_service, message, since, by}`` — the heartbeat answer's ``service`` field."""
        with self._lock:
            state = dict(self._state)
        return {"in_service": state["in_service"], "message": state["message"], "since": iso(state["since"]),
                "by": state["by"]}
