"""Maintenance mode on the touchscreen (issue 10): gesture, PIN with lock-out, pages, pending work.

Pure logic: no pygame, no Flask. ``screens/maintenance.py`` draws :meth:`Maintenance.view` and
``screens/app.py`` feeds touches and calls :meth:`Maintenance.poll` each turn of its loop.

- :class:`CornerGesture`: press and hold the top-left corner for 3 s, let go, then tap the
  top-right corner within 5 s. A resident does not do that by accident; a technician can do it
  with one finger on any touchscreen, even when the out-of-service screen offers no buttons.
- PIN check against a salted scrypt hash (never the PIN itself), lock-out after ``max_attempts``
  wrong PINs for ``lockout_s`` with a countdown; every attempt, lock, exit, test and change is
  audited through the gateway (``POST /api/v1/audit``). A record the gateway does not take is
  kept and retried, never dropped silently; the login itself never waits on the gateway.
- Blocking device work (``kiosk.terminal.device_control.DeviceControl``) runs on an executor this object
  owns; it is shut down on exit and on :meth:`Maintenance.close`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import secrets
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk import crypto
from kiosk.terminal.maintenance_pages import PAGES, MaintenancePages
from local_api.client import GatewayRefused

log = logging.getLogger(__name__)

PIN_MIN, PIN_MAX = 4, 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 0.1 s per check: slows guessing a stolen hash
AUDIT_RETRY_S = 5.0


# -- PIN hashing ---------------------------------------------------------------------------------

def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The settings line's value for ``pin``: ``scrypt$N$r$p$<salt>$<hash>`` (base64), salted.

    scrypt (OpenSSL's, through kiosk.crypto) rather than a hand-rolled KDF; the PIN itself is never stored.
    """
    problem = pin_problem(pin)
    if problem:
        raise ValueError(problem)
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = crypto.scrypt(pin.encode("ascii"), salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode("ascii"), base64.b64encode(digest).decode("ascii")])


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored`` (constant-time compare); a malformed hash matches nothing."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt" or not pin.isdigit():
            return False
        salt, digest = base64.b64decode(salt_b64, validate=True), base64.b64decode(digest_b64, validate=True)
        actual = crypto.scrypt(pin.encode("ascii"), salt, n=int(n), r=int(r), p=int(p), length=len(digest))
    except (ValueError, binascii.Error):
        return False
    return crypto.equal(actual, digest)


def pin_problem(pin: str) -> str:
    """Why ``pin`` cannot be a maintenance PIN, or "" when it can."""
    if not pin.isdigit() or not PIN_MIN <= len(pin) <= PIN_MAX:
        return f"the PIN must be {PIN_MIN} to {PIN_MAX} digits (the touchscreen's keypad has digits only)"
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return "the PIN is too easy to guess (all the same digit, or a run like 1234): choose another"
    return ""


# -- the gesture ---------------------------------------------------------------------------------

class CornerGesture:
    """Hold the top-left corner ``hold_s``, let go, then tap the top-right corner within ``tap_within_s``.

    Positions are device pixels; ``corner_px`` is the side of each square corner zone.
    :meth:`release` answers ``"pass"`` (an ordinary touch: let the screen have it), ``"consumed"``
    (part of the gesture: the screen must not see it) or ``"open"``.
    """

    def __init__(self, width_px: int, corner_px: int, *, hold_s: float = 3.0,
                 tap_within_s: float = 5.0) -> None:
        self.width_px = width_px
        self.corner_px = corner_px
        self.hold_s = hold_s
        self.tap_within_s = tap_within_s
        self._pressed: tuple[tuple[int, int], float] | None = None
        self._armed_until = -1.0

    def _zone(self, pos: tuple[int, int]) -> str:
        x, y = pos
        if y >= self.corner_px:
            return ""
        if x < self.corner_px:
            return "left"
        return "right" if x >= self.width_px - self.corner_px else ""

    def press(self, pos: tuple[int, int], now: float) -> None:
        """A finger went down at ``pos``."""
        self._pressed = (pos, now)

    def release(self, pos: tuple[int, int], now: float) -> str:
        """The finger came up at ``pos``: ``"pass"``, ``"consumed"`` or ``"open"``."""
        pressed, self._pressed = self._pressed, None
        if pressed is None:
            return "pass"
        start, at = pressed
        zone = self._zone(pos)
        if zone != self._zone(start) or not zone:
            self._armed_until = -1.0
            return "pass"
        if zone == "left" and now - at >= self.hold_s:
            self._armed_until = now + self.tap_within_s
            return "consumed"
        if zone == "right" and now <= self._armed_until:
            self._armed_until = -1.0
            return "open"
        self._armed_until = -1.0
        return "pass"

    def reset(self) -> None:
        """Forget a half-done gesture (the screen changed under it)."""
        self._pressed, self._armed_until = None, -1.0


# -- what the controller needs from outside ------------------------------------------------------

class Gateway(Protocol):
    """The gateway client calls maintenance makes (``local_api.client.GatewayClient``)."""

    def audit(self, action: str, outcome: str = "ok", target: str | None = None,
              detail: str = "") -> dict[str, Any]: ...

    def set_service(self, in_service: bool, message: str = "") -> dict[str, Any]: ...


@dataclass(frozen=True)
class MaintenanceConfig:
    """The ``[maintenance]`` settings the controller uses (see ``kiosk.settings.MaintenanceSection``)."""

    pin_hash: str
    max_attempts: int = 5
    lockout_s: float = 300.0
    idle_exit_s: float = 120.0


class Maintenance(MaintenancePages):
    """The maintenance mode's state: closed, PIN, locked, or one of :data:`PAGES` after a login.

    ``control`` returns the app's current ``DeviceControl``; ``gateway`` is a gateway client used
    only on this object's worker thread; ``on_service(in_service, message)`` is called (on the
    worker thread) after the gateway took a service switch, so the app can show it at once;
    ``service_message()`` is the residents' message now ("" while in service); ``camera()`` is the
    face camera or None.
    """

    def __init__(self, config: MaintenanceConfig, *, control: Callable[[], Any], gateway: Gateway,
                 clock: Callable[[], float], on_service: Callable[[bool, str], None] | None = None,
                 service_message: Callable[[], str] = lambda: "",
                 camera: Callable[[], Any] = lambda: None) -> None:
        self.config = config
        self.control = control
        self.gateway = gateway
        self.clock = clock
        self.on_service = on_service or (lambda in_service, message: None)
        self.service_message = service_message
        self.camera = camera
        self.is_open = False
        self.page = "pin"
        self.failures = 0
        self.locked_until = -1.0
        self._pin = ""
        self._last_touch = clock()
        self._lock = threading.Lock()
        self._pending: deque[dict[str, Any]] = deque()
        self._retry_at = -1.0
        self._flushing = False
        self._pool: ThreadPoolExecutor | None = None
        self._old_pools: list[ThreadPoolExecutor] = []
        self._job: tuple[str, Future[Any], Callable[[Any], None]] | None = None
        self._reset_pages()

    # -- opening and closing --

    def open(self) -> None:
        """Show the PIN pad (or the lock-out countdown); the app has ended any session already."""
        if self.is_open:
            return
        self.is_open = True
        self._pin = ""
        self._last_touch = self.clock()
        self._reset_pages()
        self.page = "locked" if self.locked() else "pin"
        self.message = ""

    def exit(self, reason: str = "technician") -> None:
        """Back to the residents' screens; work already started finishes, its audit record is kept."""
        if not self.is_open:
            return
        self._audit("maintenance_exit", reason, None, f"left from the {self.page} page")
        self.is_open = False
        self._pin = ""
        self._reset_pages()  # a camera frame or a probe answer must not outlive the visit
        self._job = None
        self._retire_pool()

    def close(self) -> None:
        """The app is closing: finish queued work, try the audit once more, stop the worker threads."""
        if self.is_open:
            self.exit("app_closed")
        self._retire_pool()
        for pool in self._old_pools:
            pool.shutdown(wait=True)
        self._old_pools.clear()
        self._send_all()  # one last try, on this thread: every worker has stopped
        with self._lock:
            left = list(self._pending)
        for record in left:
            # Not silently: no personal data is ever in these records, so the log may carry them.
            log.warning("maintenance audit record not delivered to the gateway: %s", record)

    def locked(self) -> bool:
        """Whether PIN entry is locked out right now."""
        return self.clock() < self.locked_until

    # -- input --

    def tap(self, target: str) -> None:
        """A touch on one of the maintenance pages' targets."""
        self._last_touch = self.clock()
        if target == "m:exit":
            self.exit("technician")
        elif self.page == "pin":
            self._pin_tapped(target)
        elif self.page in PAGES:
            self._page_tapped(target)

    def _pin_tapped(self, target: str) -> None:
        if self._job is not None:
            return  # the PIN is being checked
        if target.startswith("pin:") and target[4:].isdigit() and len(self._pin) < PIN_MAX:
            self._pin += target[4:]
            self.message = ""
        elif target == "pin:del":
            self._pin = self._pin[:-1]
        elif target == "pin:ok":
            if len(self._pin) < PIN_MIN:
                self._say(f"请输入 {PIN_MIN}–{PIN_MAX} 位数字密码。Enter the {PIN_MIN} to {PIN_MAX} digit PIN.", False)
                return
            pin, self._pin = self._pin, ""
            self._start("checking", lambda: verify_pin(pin, self.config.pin_hash), self._pin_checked)

    def _pin_checked(self, right: bool) -> None:
        if right:
            self.failures = 0
            self._audit("maintenance_login", "ok", None, "PIN accepted")
            self.page = "devices"
            self._say("", True)
            return
        self.failures += 1
        left = self.config.max_attempts - self.failures
        self._audit("maintenance_login_failed", "wrong_pin", None,
                    f"wrong PIN, attempt {self.failures} of {self.config.max_attempts}")
        if left > 0:
            self._say(f"密码不正确，还可再试 {left} 次。Wrong PIN: {left} tries left.", False)
            return
        self.locked_until = self.clock() + self.config.lockout_s
        self.page = "locked"
        self._audit("maintenance_locked", "locked", None,
                    f"{self.config.max_attempts} wrong PINs: locked for {self.config.lockout_s:g} s")
        self._say("", False)

    # -- time --

    def poll(self) -> None:
        """Called each turn of the app's loop: finished work, the lock-out's end, idle exit, audit retries."""
        now = self.clock()
        self._collect()
        if self.is_open:
            if self.page == "locked" and not self.locked():
                self.failures = 0
                self.page = "pin"
                self._say("可以再次输入密码。You may enter the PIN again.", True)
            if self._job is None and now - self._last_touch >= self.config.idle_exit_s:
                self.exit("idle")
            elif self.page in PAGES and now >= self._rows_at:
                self._refresh_rows()
        if self._pending and not self._flushing and now >= self._retry_at:
            self._flush()

    def busy(self) -> bool:
        """Whether device work is under way (the page shows "working…")."""
        return self._job is not None

    def view(self) -> dict[str, Any]:
        """What the maintenance page shows: plain values only, never a PIN digit or personal data."""
        out: dict[str, Any] = {
            "screen": "maintenance", "language": "zh_CN", "page": self.page,
            "pin_length": len(self._pin), "message": self.message, "message_ok": self.message_ok,
            "busy": self._job[0] if self._job else "",
            "attempts_left": self.config.max_attempts - self.failures,
            "locked_left_s": max(0, math.ceil(self.locked_until - self.clock())) if self.page == "locked"
            else 0,
            "audit_pending": len(self._pending),
        }
        if self.page in PAGES:
            out.update(self._page_view())
        return out

    # -- work off the UI thread --

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maintenance")
        return self._pool

    def _retire_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)  # its thread ends once queued work is done
            self._old_pools.append(self._pool)
            self._pool = None

    def _start(self, label: str, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``work`` on the worker thread; ``done(result)`` runs on the UI thread in :meth:`poll`."""
        if self._job is not None:
            return
        self._job = (label, self._executor().submit(work), done)

    def _collect(self) -> None:
        if self._job is None or not self._job[1].done():
            return
        label, future, done = self._job
        self._job = None
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001  the worker's failure is the technician's message, not a crash
            log.warning("maintenance %s failed: %s", label, type(exc).__name__)
            self._say(f"操作失败：{exc}。请重试或检查设备连接。", False)
            return
        done(result)

    def _say(self, message: str, ok: bool) -> None:
        self.message, self.message_ok = message, ok

    # -- the audit: kept in order, sent in the background, retried --

    def _audit(self, action: str, outcome: str, target: str | None, detail: str) -> None:
        """Queue one audit record (thread-safe: work on the worker thread audits its own outcome);
        :meth:`poll` sends it on the next turn of the loop."""
        with self._lock:
            self._pending.append({"action": action, "outcome": outcome, "target": target, "detail": detail})
        self._retry_at = -1.0

    def _flush(self) -> None:
        """Send the queued records on the worker thread (a fresh one after exit, retired at once)."""
        self._flushing = True
        pool = self._pool
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maintenance-audit")
            self._old_pools = [p for p in self._old_pools if not _finished(p)]
            self._old_pools.append(pool)
            pool.submit(self._send_pending)
            pool.shutdown(wait=False)
        else:
            pool.submit(self._send_pending)

    def _send_pending(self) -> None:
        try:
            self._send_all()
        finally:
            self._flushing = False

    def _send_all(self) -> None:
        """Send queued records oldest first; stop at the first one the gateway cannot take now."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                record = self._pending[0]
            try:
                self.gateway.audit(record["action"], record["outcome"], record["target"], record["detail"])
            except GatewayRefused as exc:
                if exc.status >= 500 or exc.status == 429:  # 429: the audit door's rate limit; later
                    if exc.status == 429:
                        log.warning("maintenance audit held back by the gateway's rate limit; will retry")
                    self._retry_at = self.clock() + AUDIT_RETRY_S
                    return
                # The gateway will never take this one (a bad field): say so loudly, keep the others going.
                log.error("maintenance audit record refused by the gateway (%s): %s", exc.message, record)
            except Exception as exc:  # noqa: BLE001  unreachable gateway: keep it, try again later
                log.warning("maintenance audit not delivered yet (%s); will retry", type(exc).__name__)
                self._retry_at = self.clock() + AUDIT_RETRY_S
                return
            with self._lock:
                if self._pending and self._pending[0] is record:
                    self._pending.popleft()


def _finished(pool: ThreadPoolExecutor) -> bool:
    """Whether a retired executor's thread has ended (so it no longer needs joining)."""
    threads = getattr(pool, "_threads", set())
    return all(not t.is_alive() for t in threads)
