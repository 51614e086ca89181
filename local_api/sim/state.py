"""What the platform simulator holds: its faults, the submissions it received, its counters.

One :class:`SimState` per simulator app, in the app's one extension slot (:func:`state`); tests
read it as ``app.extensions["platform_sim"]``.
"""

from __future__ import annotations

import base64
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from kiosk.crypto import sha256_hex
from local_api.sim.data import ItemInfo, SignInCodes

EXTENSION_KEY = "platform_sim"


@dataclass
class Faults:
    """Misbehaviour to inject into every platform request (``/admin`` excluded)."""

    latency_s: float = 0.0
    """Delay before every answer."""
    error_rate: float = 0.0
    """Share of requests (0..1) answered with ``status`` instead of being served."""
    status: int = 503
    """Status of injected errors (503, 500, 429, 408 ...)."""
    retry_after_s: float | None = None
    """``Retry-After`` sent with injected errors, when set."""
    drop: bool = False
    """Serve the request, then break the connection before the answer is complete."""
    hang_s: float = 0.0
    """Wait this long before serving (longer than the client's timeout: a hung platform)."""
    duplicate: bool = False
    """Serve the request, then answer 503 as if it had failed: the kiosk delivers it again."""
    down_departments: tuple[str, ...] = ()
    """Departments (item code prefixes: ``ga``, ``yb`` …) whose applications are answered 503, as when one
    department's system behind the platform is down; the others are served."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Build from an admin request; ``status`` alone means every request fails with it."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if "status" in values and "error_rate" not in values:
            values["error_rate"] = 1.0
        if "down_departments" in values:
            values["down_departments"] = tuple(str(d) for d in values["down_departments"])
        faults = cls(**values)
        if not 0.0 <= float(faults.error_rate) <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not 100 <= int(faults.status) <= 599:
            raise ValueError("status must be an HTTP status code")
        for name in ("latency_s", "hang_s", "retry_after_s"):
            value = getattr(faults, name)
            if value is not None and float(value) < 0:
                raise ValueError(f"{name} must not be negative")
        return faults


@dataclass
class StoredApplication:
    """One application as the platform holds it."""

    idempotency_key: str
    platform_ref: str
    kind: str
    item_code: str
    kiosk_id: str
    received_at: str
    body_digest: str
    body: dict[str, Any] = field(repr=False)
    deliveries: int = 1

    def summary(self) -> dict[str, Any]:
        """What the platform reports about it: no personal data (field names, not their values)."""
        materials = self.body.get("materials") or []
        return {"idempotency_key": self.idempotency_key, "receipt_no": self.body.get("receipt_no"),
                "platform_ref": self.platform_ref, "kind": self.kind,
                "item_code": self.item_code, "kiosk_id": self.kiosk_id, "received_at": self.received_at,
                "deliveries": self.deliveries, "status": "received",
                "fields": sorted((self.body.get("form") or {}).keys()),
                "applicant_fields": sorted((self.body.get("applicant") or {}).keys()),
                "materials": len(materials) if isinstance(materials, list) else 0,
                **bundle_summary(self.body)}

    def received(self) -> dict[str, Any]:
        """Everything the kiosk sent (for tests at the far end): materials as name, type, size, SHA-256
        and the first bytes in hex (a JPEG starts ``ffd8ff``)."""
        body = dict(self.body)
        pages = [m for m in body.pop("materials", None) or [] if isinstance(m, dict)]
        body["materials"] = []
        for page in pages:
            data = base64.b64decode(page.get("data", ""))
            body["materials"].append({"name": page.get("name"), "content_type": page.get("content_type"),
                                      "bytes": len(data), "sha256": sha256_hex(data),
                                      "head": data[:4].hex()})
        return {**self.summary(), "body": body}


class SimState:
    """The simulator's memory (thread-safe): submissions, bookings, faults, counters."""

    def __init__(self, faults: Faults | None = None, seed: int | None = None,
                 items: dict[str, ItemInfo] | None = None, suite: str = "intl") -> None:
        self.lock = threading.RLock()
        """Held while reading or changing what follows; reentrant, so :meth:`next_serial` works under it."""
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.items: dict[str, ItemInfo] = items or {}
        self.applications: dict[str, StoredApplication] = {}
        self.ratings: dict[str, dict[str, Any]] = {}
        self.help_requests: dict[str, StoredApplication] = {}
        self.reports: dict[str, StoredApplication] = {}
        self.bookings: dict[str, dict[str, Any]] = {}  # idempotency key → booking
        self.booked: dict[str, int] = {}  # slot id → residents booked
        self.identity_default = "verified"
        self.identity_outcomes: dict[str, str] = {}  # sha256 of an ID number → scripted outcome
        self.signin = SignInCodes(suite=suite)  # the app's sign-in codes (issued under /admin, redeemed in /v1)
        self.requests = 0
        self.signed_with: dict[str, int] = {}  # suite (intl, sm) → verified requests signed in it
        # (monotonic time, method, path) of every platform request as it arrived: lets tests
        # prove timing promises such as "no retry before Retry-After".
        self.arrivals: deque[tuple[float, str, str]] = deque(maxlen=10_000)
        self._serial = 0

    def by_receipt(self, receipt_no: str, store: str = "applications") -> StoredApplication | None:
        """The one submission (of ``store``) that carries ``receipt_no``; None when none does."""
        with self.lock:
            held: dict[str, StoredApplication] = getattr(self, store)
            return next((a for a in held.values() if a.body.get("receipt_no") == receipt_no), None)

    def next_serial(self) -> int:
        """A fresh serial number for a reference the simulator hands out."""
        with self.lock:
            self._serial += 1
            return self._serial


def state() -> SimState:
    """The current simulator app's memory."""
    found: SimState = current_app.extensions[EXTENSION_KEY]
    return found


def bundle_summary(body: dict[str, Any]) -> dict[str, str]:
    """一件事: the bundle an application came in (``bundle_id``, ``bundle_code``); {} for a single item."""
    bundle = body.get("bundle")
    if not isinstance(bundle, dict):
        return {}
    return {"bundle_id": str(bundle.get("id", "")), "bundle_code": str(bundle.get("code", ""))}
