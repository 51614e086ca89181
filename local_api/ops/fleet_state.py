"""What a fleet compares across terminals beyond one gateway's own state: which catalog and which
settings each terminal runs, how far its clock is from the platform's, and when a resident last used it.

- ``catalog_version``: ``sha256:`` and the first 12 hex digits of a digest over the catalog's TOML
  files (name and bytes, sorted by name) — the same catalog gives the same version on every terminal.
  When a signed catalog bundle (issue 22) is active, :attr:`FleetState.catalog_version` is
  the bundle's own version instead.
- ``settings_version``: the same kind of digest over the settings in force (secrets left out) and the
  technician's local layer (``kiosk.local.toml``), read again only when that file changes.
- ``clock_offset_s``: the platform's clock minus this terminal's, from the ``Date`` of its last answer
  (:attr:`local_api.link.client.PlatformClient.on_clock`); None until one was heard.

Nothing here holds personal data.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk import crypto
from kiosk.settings import Settings

SECRET_KEYS = ("secret", "pin_hash", "key", "password", "token")


def _digest(chunks: list[bytes]) -> str:
    framed = b"".join(len(chunk).to_bytes(8, "big") + chunk for chunk in chunks)
    return "sha256:" + crypto.sha256_hex(framed)[:12]


def catalog_version(path: str | None) -> str:
    """The digest of the catalog folder (or file) ``path``; the packaged catalog when empty. ``unknown``
    when it cannot be read."""
    chunks: list[bytes] = []
    try:
        if not path:
            folder = resources.files("config").joinpath("catalog")
            for entry in sorted((e for e in folder.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name):
                chunks += [entry.name.encode(), entry.read_bytes()]
        else:
            where = Path(path)
            for p in sorted(where.glob("*.toml")) if where.is_dir() else [where]:
                chunks += [p.name.encode(), p.read_bytes()]
    except OSError:
        return "unknown"
    return _digest(chunks) if chunks else "unknown"


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("-" if any(s in k for s in SECRET_KEYS) else _without_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


class FleetState:
    """Versions, clock offset and last session of one gateway. Thread-safe."""

    def __init__(self, settings: Settings, local_settings: Path) -> None:
        self._lock = threading.Lock()
        self._packaged_version = catalog_version(settings.kiosk.catalog or None)
        self.bundle_version: Callable[[], str] | None = None
        """The active signed catalog bundle's version (``packaged``: none), set by the gateway's wiring."""
        self._settings_json = json.dumps(_without_secrets(settings.model_dump(mode="json")), sort_keys=True).encode()
        self._local = local_settings
        self._local_seen: tuple[float, str] | None = None
        self.clock_offset_s: float | None = None
        self.clock_heard_at: float | None = None

    @property
    def catalog_version(self) -> str:
        """The catalog this terminal serves: the active signed bundle's version, else the packaged
        catalog's digest (see the module's text)."""
        bundle = self.bundle_version() if self.bundle_version is not None else "packaged"
        return self._packaged_version if bundle == "packaged" else bundle

    def settings_version(self) -> str:
        """The digest of the settings in force and the local layer (re-read when its mtime changes)."""
        try:
            mtime = self._local.stat().st_mtime
        except OSError:
            mtime = -1.0
        with self._lock:
            if self._local_seen is not None and self._local_seen[0] == mtime:
                return self._local_seen[1]
        try:
            local = self._local.read_bytes() if mtime >= 0 else b""
        except OSError:
            local = b""
        version = _digest([self._settings_json, local])
        with self._lock:
            self._local_seen = (mtime, version)
        return version

    def clock_heard(self, offset_s: float) -> None:
        """The platform's clock is ``offset_s`` ahead of this terminal's (negative: behind)."""
        with self._lock:
            self.clock_offset_s, self.clock_heard_at = offset_s, time.time()

    def clock(self) -> dict[str, Any]:
        """``{offset_s, heard_at}`` (both None before the platform answered with a date)."""
        with self._lock:
            offset, at = self.clock_offset_s, self.clock_heard_at
        return {"offset_s": None if offset is None else round(offset, 3), "heard_at": at}
