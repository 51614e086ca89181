"""The gateway's catalog rollout: ask the platform which catalog bundle this terminal should run, fetch
it, check it (:func:`kiosk.catalog.bundle.read_bundle`, then the catalog's own checks) and make it
active; tell the platform what happened (issue 22).

The platform's answers come through three callables (the gateway wires its platform client in, so
this module stays below the link layer): ``plan()`` → ``{"version": …, "sha256": …}`` (``version``
None: no rollout, keep what runs; ``"packaged"``: back to the packaged catalog), ``download(version)``
→ the bundle's bytes, and ``report(version, status, reason)`` with status ``active`` or ``invalid``.
A platform that cannot be reached changes nothing. A refused bundle is reported ``invalid`` (the
platform's plan stops and rolls back) and not fetched again; the terminal keeps serving its catalog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.catalog.bundle import PACKAGED, BundleError, BundleStore, read_bundle
from kiosk.catalog.loading import Catalog
from kiosk.crypto import VerifyKey, sha256_hex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    """What one look at the platform did: ``action`` is unchanged, installed, activated, refused or
    unreachable; ``detail`` says more (the refusal's reason, the error)."""

    action: str
    version: str = ""
    detail: str = ""


class BundleSync:
    """Polls the platform every ``interval_s`` on its own thread (:meth:`start`), or once (:meth:`sync_once`)."""

    def __init__(self, store: BundleStore, keys: Sequence[VerifyKey], *, plan: Callable[[], dict[str, Any]],
                 download: Callable[[str], bytes], report: Callable[[str, str, str], None],
                 interval_s: float = 300.0, on_installed: Callable[[Catalog], None] | None = None,
                 on_event: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self.keys = list(keys)
        self._plan = plan
        self._download = download
        self._report = report
        self.interval_s = interval_s
        self.on_installed = on_installed
        self.on_event = on_event
        """Told ``(kind, message)`` for the operators' events: catalog_installed, catalog_refused, catalog_rollback."""
        self.last_error = ""
        """The last refusal in words for the operator (kept after a rollback: it says why)."""
        self.last_checked: float | None = None
        self._refused: dict[tuple[str, str], str] = {}
        self._unreported: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BundleSync:
        self._thread = threading.Thread(target=self._run, name="catalog-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while True:
            try:
                self.sync_once()
            except Exception:
                log.exception("catalog rollout: unexpected failure; trying again later")
            if self._stop.wait(self.interval_s):
                return

    def sync_once(self) -> SyncOutcome:
        """Ask the platform once and act on its answer."""
        with self._lock:
            self._send_reports()
            try:
                answer = self._plan()
            except Exception as exc:  # noqa: BLE001 - the platform client's errors are the link layer's
                return SyncOutcome("unreachable", detail=str(exc) or type(exc).__name__)
            self.last_checked = time.time()
            wanted = answer.get("version")
            if not isinstance(wanted, str) or not wanted or wanted == self.store.version():
                return SyncOutcome("unchanged", self.store.version())
            expected = answer.get("sha256") if isinstance(answer.get("sha256"), str) else ""
            if wanted == PACKAGED:
                self.store.deactivate()
                log.warning("catalog rollout: back to the packaged catalog, as the platform's plan says")
                self._tell("catalog_rollback", "back to the packaged catalog, as the platform's plan says")
                self._queue_report(wanted, "active", "")
                return SyncOutcome("activated", wanted)
            if (wanted, str(expected)) in self._refused:
                return SyncOutcome("refused", wanted, self._refused[(wanted, str(expected))])
            if wanted in self.store.installed() and self.store.activate(wanted):
                log.warning("catalog rollout: catalog %s active again (already here, checked)", wanted)
                self._tell("catalog_rollback", f"catalog {wanted} active again, as the platform's plan says")
                self._queue_report(wanted, "active", "")
                return SyncOutcome("activated", wanted)
            try:
                data = self._download(wanted)
            except Exception as exc:  # noqa: BLE001 - as above
                return SyncOutcome("unreachable", wanted, str(exc) or type(exc).__name__)
            try:
                if expected and sha256_hex(data) != expected:
                    raise BundleError(f"the download's SHA-256 is not the platform's ({len(data)} bytes: "
                                      "truncated or altered in transit)")
                bundle = read_bundle(data, self.keys)
                if bundle.version != wanted:
                    raise BundleError(f"the bundle says version {bundle.version}, the plan {wanted}")
                catalog = self.store.install(bundle)
            except BundleError as exc:
                reason = str(exc)
                self._refused[(wanted, str(expected))] = reason
                self.last_error = f"catalog {wanted} refused: {reason}"
                log.error("catalog rollout: %s; catalog %s keeps serving", self.last_error, self.store.version())
                self._tell("catalog_refused", f"{self.last_error}; catalog {self.store.version()} keeps serving")
                self._queue_report(wanted, "invalid", reason)
                return SyncOutcome("refused", wanted, reason)
            log.warning("catalog rollout: catalog %s installed (%d items); the app shows it from its next "
                        "attract screen", wanted, len(catalog))
            if self.on_installed is not None:
                self.on_installed(catalog)
            self._tell("catalog_installed", f"catalog {wanted} installed ({len(catalog)} items); the screen shows "
                       "it from its next attract screen")
            self._queue_report(wanted, "active", "")
            return SyncOutcome("installed", wanted)

    def _tell(self, kind: str, message: str) -> None:
        if self.on_event is not None:
            self.on_event(kind, message)

    def _queue_report(self, version: str, status: str, reason: str) -> None:
        self._unreported.append((version, status, reason))
        self._send_reports()

    def _send_reports(self) -> None:
        while self._unreported:
            try:
                self._report(*self._unreported[0])
            except Exception as exc:  # noqa: BLE001 - sent again at the next look
                log.warning("catalog rollout: cannot report to the platform yet (%s)", exc)
                return
            self._unreported.pop(0)
