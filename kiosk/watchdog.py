"""systemd's watchdog: keep-alive pings (``WATCHDOG=1``) from a process's healthy main loop.

With ``WatchdogSec=`` in a unit, systemd sets ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``) and kills
and restarts the service when no ping arrives in time. The pings must come from the loop whose
health they vouch for — never from a thread of their own that would keep pinging while the loop
is stuck — so :class:`Watchdog` sends nothing by itself: the loop calls :meth:`Watchdog.ping_if_due`
on every turn and a ping goes out at most every ``WATCHDOG_USEC / 2`` (sd_watchdog_enabled(3)).

The gateway's main thread is inside waitress's socket loop, which offers no per-turn hook, so
:class:`ServingProbe` pings only after a real request to the gateway's ``/health`` answered: the
ping then proves that the listener, a request thread and the app all still work.

The protocol is sd_notify(3): one datagram per message on the unix socket named by
``NOTIFY_SOCKET`` (``@`` for the abstract namespace). Hand-written rather than a library because it
is a dozen lines, and ``kiosk/supervisor.py`` already speaks it for ``READY=1``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(notify_socket: str) -> str:
    return "\0" + notify_socket[1:] if notify_socket.startswith("@") else notify_socket


class Watchdog:
    """Pings systemd's watchdog when a ping is due; does nothing when the watchdog is off.

    ``environ`` defaults to ``os.environ``; ``pid`` to ``os.getpid()``. The watchdog is on when
    ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` are set and ``WATCHDOG_PID`` (when set) is this
    process: a child of ``kiosk run`` inherits its parent's variables and must stay quiet.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, pid: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if environ is None else environ
        self._clock = clock
        self._socket_name = env.get("NOTIFY_SOCKET", "")
        self.interval_s: float | None = None
        """Seconds between pings (half the watchdog timeout), or None when the watchdog is off."""
        try:
            usec = int(env.get("WATCHDOG_USEC", "0"))
            owner = int(env["WATCHDOG_PID"]) if env.get("WATCHDOG_PID") else None
        except ValueError:
            log.warning("watchdog: WATCHDOG_USEC or WATCHDOG_PID is not a number; watchdog pings are off")
            usec, owner = 0, None
        mine = owner is None or owner == (os.getpid() if pid is None else pid)
        if self._socket_name and usec > 0 and mine:
            self.interval_s = usec / 2 / 1_000_000
        self._next = 0.0  # the first call pings at once: start-up may have used part of the timeout
        self._sock: socket.socket | None = None
        self.pings = 0
        """Pings sent so far (for the technician's status and the tests)."""

    @property
    def enabled(self) -> bool:
        """Whether systemd expects pings from this process."""
        return self.interval_s is not None

    def ping_if_due(self) -> bool:
        """Call on every turn of the main loop: pings when half the timeout has passed since the
        last ping. Returns whether a ping was sent."""
        if self.interval_s is None:
            return False
        now = self._clock()
        if now < self._next:
            return False
        if self.notify("WATCHDOG=1"):
            self._next = now + self.interval_s
            self.pings += 1
            return True
        return False

    def notify(self, message: str) -> bool:
        """Send one sd_notify message (``WATCHDOG=1``, ``STATUS=…``, ``STOPPING=1``); False when
        there is no socket or it refused (systemd gone: nothing to do but carry on)."""
        if not self._socket_name:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto(message.encode(), _address(self._socket_name))
            return True
        except OSError as exc:
            log.warning("watchdog: could not notify systemd (%s)", exc.strerror or type(exc).__name__)
            return False

    def close(self) -> None:
        """Close the socket (pings after this open it again)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def gateway_alive(url: str, timeout_s: float) -> bool:
    """True when ``url``/health answers 200 within ``timeout_s`` (the gateway serves requests)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class ServingProbe:
    """Pings the watchdog for a server whose main loop has no hook of its own (waitress).

    Its thread asks ``check()`` (e.g. :func:`gateway_alive`) every half interval and pings only
    when the check passed, so a server that stops answering stops the pings and systemd restarts
    it. The owner calls :meth:`start` once serving and :meth:`stop` before shutting down.
    """

    def __init__(self, watchdog: Watchdog, check: Callable[[], bool]) -> None:
        self.watchdog = watchdog
        self._check = check
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        """Checks that failed in a row (reset by a passing check)."""

    def start(self) -> None:
        """Start probing; nothing happens when the watchdog is off."""
        if not self.watchdog.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="watchdog-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Checks run twice per ping interval, so one slow answer does not cost a whole interval.
        pause = (self.watchdog.interval_s or 1.0) / 2
        while True:
            if self._check():
                self.failures = 0
                self.watchdog.ping_if_due()
            else:
                self.failures += 1
                log.warning("watchdog: the server did not answer its health check (%d in a row); "
                            "systemd restarts it if this goes on", self.failures)
            if self._stop.wait(pause):
                return

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop probing and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.watchdog.close()
