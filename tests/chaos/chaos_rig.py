"""Shared pieces of the chaos suites: seeds and sizes from the environment, a platform simulator that
flaps, a gateway in its own process that can be killed with SIGKILL and started again, resource
samplers (threads, file descriptors), a log-line counter and the personal-data scan.

Sizes: each suite has a short default run and a ``soak`` run; ``CHAOS_ROUNDS`` overrides the
number of rounds of either, ``CHAOS_SEED`` the seed. Every suite prints its seed and names it in
its assertion messages, so a failing run can be repeated exactly::

    CHAOS_SEED=1234 .venv/bin/python -m pytest -m soak tests/chaos -k app_kill
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests

from devices.id_card.identity import sample_cards
from kiosk.settings import DOOR_SECRET_FILE_NAME
from local_api.client import GatewayClient
from local_api.server import ServerHandle
from local_api.sim.app import create_platform_app
from local_api.sim.state import Faults

ROOT = Path(__file__).resolve().parents[2]
SECRET = "chaos-secret-0123456789"
KIOSK_ID = "HC-CHAOS-001"
# The platform's moods while it flaps: healthy, failing, dropping answers after serving, serving
# then claiming failure (the gateway delivers again), rate-limiting, slow.
FLAPS = (Faults(), Faults(error_rate=0.5, status=503), Faults(drop=True), Faults(duplicate=True),
         Faults(error_rate=1.0, status=429, retry_after_s=0), Faults(latency_s=0.05), Faults())


def env_int(name: str, default: int) -> int:
    """An integer from the environment (CHAOS_ROUNDS, …), or ``default``."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def chaos_seed(default: int | None) -> int:
    """``CHAOS_SEED`` if set, else ``default`` (short runs: fixed), else a fresh one (soak runs)."""
    seed = env_int("CHAOS_SEED", default if default is not None else int(time.time()) % 1_000_000)
    print(f"chaos seed {seed} (repeat with CHAOS_SEED={seed})")
    return seed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


# -- resources -------------------------------------------------------------------------------------

def thread_count() -> int:
    return threading.active_count()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- log lines -------------------------------------------------------------------------------------

class LogCounter(logging.Handler):
    """Counts the records of some loggers whose message contains a fragment (thread-safe)."""

    def __init__(self, *loggers: str) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[str, int, str]] = []
        self._loggers = [logging.getLogger(name) for name in loggers]
        self._levels = [lg.level for lg in self._loggers]
        for lg in self._loggers:
            lg.setLevel(logging.INFO)
            lg.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.messages.append((record.name, record.levelno, record.getMessage()))

    def count(self, fragment: str, level: int | None = None) -> int:
        with self.lock:  # type: ignore[union-attr]
            return sum(1 for _, lv, m in self.messages if fragment in m and (level is None or lv == level))

    def at_least(self, level: int) -> list[str]:
        with self.lock:  # type: ignore[union-attr]
            return [m for _, lv, m in self.messages if lv >= level]

    def close(self) -> None:
        for lg, level in zip(self._loggers, self._levels):
            lg.removeHandler(self)
            lg.setLevel(level)
        super().close()


# -- personal data ---------------------------------------------------------------------------------

def needles() -> dict[str, list[bytes]]:
    """The simulated reader's test identities (what the app reads from its sample cards): ID number,
    name and address in every encoding they could be written in."""
    out: dict[str, list[bytes]] = {}
    for card in sample_cards():
        for label, text in (("id_number", card.id_number), ("name", card.name), ("address", card.address)):
            out[f"{label} of card …{card.id_number[-4:]}"] = sorted({
                text.encode("utf-8"), text.encode("gb18030"), text.encode("utf-16-le"),
                json.dumps(text).strip('"').encode("ascii")})
    return out


def scan_for_personal_data(paths: Iterable[Path]) -> dict[str, list[str]]:
    """{file: [what was found in clear]} over every file under ``paths``."""
    wanted = needles()
    hits: dict[str, list[str]] = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            data = path.read_bytes()
            found = [label for label, forms in wanted.items() if any(f in data for f in forms)]
            if found:
                hits[str(path)] = found
    return hits


# -- the platform ----------------------------------------------------------------------------------

class FlappingPlatform:
    """The platform simulator on 127.0.0.1 in this process; :meth:`start_flapping` changes its
    faults at random (seeded) intervals on one owned thread until :meth:`calm` or :meth:`close`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.app = create_platform_app(SECRET, seed=seed)
        self.state = self.app.extensions["platform_sim"]
        self.server = ServerHandle(self.app, name="platform-sim").start()
        self.url = self.server.url
        self.flaps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_faults(self, faults: Faults) -> None:
        with self.state.lock:
            self.state.faults = faults

    def start_flapping(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._flap, name="platform-flapper", daemon=True)
        self._thread.start()

    def _flap(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.05, 0.3)):
            self.set_faults(self.rng.choice(FLAPS))
            self.flaps += 1

    def calm(self) -> None:
        """Stop flapping and serve normally from now on."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.set_faults(Faults())

    def forms(self) -> list[dict[str, Any]]:
        """The form of every application the platform holds (one entry per idempotency key)."""
        with self.state.lock:
            return [dict(a.body.get("form") or {}) for a in self.state.applications.values()]

    def receipts(self) -> set[str]:
        """The receipt numbers of the applications the platform holds (one per idempotency key)."""
        with self.state.lock:
            return {str(a.body.get("receipt_no")) for a in self.state.applications.values()}

    def close(self) -> None:
        self.calm()
        self.server.close()


# -- the gateway -----------------------------------------------------------------------------------

class GatewayProcess:
    """``kiosk gateway`` as a child process on a fixed port, so a restarted gateway is found where
    the app expects it. ``wrap`` is put before the Python command (e.g. ``unshare`` for a private
    mount); ``env`` adds ``KIOSK_…`` settings."""

    def __init__(self, data_dir: Path, log_path: Path, platform_url: str, *, wrap: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.wrap = wrap or []
        self.env = dict(os.environ, KIOSK_KIOSK__ID=KIOSK_ID, KIOSK_GATEWAY__DATA_DIR=str(data_dir),
                        KIOSK_GATEWAY__PORT=str(self.port), KIOSK_GATEWAY__RETRY_MAX_S="0.2",
                        KIOSK_PLATFORM__URL=platform_url, KIOSK_PLATFORM__SECRET=SECRET,
                        KIOSK_PLATFORM__TIMEOUT_S="1", KIOSK_PLATFORM__PROXY_TIMEOUT_S="1",
                        KIOSK_GATEWAY__BREAKER_RESET_S="0.5", KIOSK_LOGGING__LEVEL="DEBUG", **(env or {}))
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout_s: float = 60.0) -> None:
        """Start and wait for ``/health``; a port still held by the killed process is retried."""
        deadline = time.monotonic() + timeout_s
        while True:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([*self.wrap, sys.executable, "-m", "kiosk", "gateway"], env=self.env,
                                             cwd=ROOT, stdout=log, stderr=log)
            self.starts += 1
            proc = self.proc

            def up(proc: subprocess.Popen[bytes] = proc) -> bool:
                return proc.poll() is not None or self.healthy()
            wait_for(up, max(1.0, deadline - time.monotonic()), f"the gateway to start (log: {self.log_path})")
            if proc.poll() is None:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the gateway exited with {proc.returncode} at start; see {self.log_path}")
            time.sleep(0.2)  # most likely the port is not free yet: try again

    def healthy(self) -> bool:
        try:
            return requests.get(self.url + "/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def drained(self) -> bool:
        """Nothing left to deliver: no submission queued or in 'sending'."""
        counts = requests.get(self.url + "/health", timeout=10).json()["outbox"]
        return bool(counts["queued"] == 0 and counts["sending"] == 0)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no checkpoint."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.kills += 1

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def submit(self, token: str, applicant: dict[str, str], request_id: str, timeout_s: float = 10) -> requests.Response:
        """POST an application of the packaged catalog's ``zh-bbcs`` carrying ``token``."""
        body = {"kind": "application", "item_code": "zh-bbcs", "applicant": applicant, "request_id": request_id,
                "form": {"matter": token, "mobile": "13950000000"}}
        # As the kiosk app sends it: the door secret, read again once after a restart; a fresh connection.
        door = GatewayClient(self.url, timeout_s, door_secret_file=self.data_dir / DOOR_SECRET_FILE_NAME)
        try:
            return door.send("POST", "/api/v1/submissions", json=body)
        finally:
            door.close()


# -- device events ---------------------------------------------------------------------------------

class EventRecorder:
    """The device events an adapter hands its one ``on_event`` callback, from its own thread."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if event.kind in ("card_read", "ssc_read"):
            event.payload.wipe()  # the receiver owns a read card: nothing personal outlives the test's look
        with self._lock:
            self.items.append(event)

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for e in self.items if e.kind == kind)

    def states(self) -> list[str]:
        """The states entered, in order (from ``state_changed`` events)."""
        with self._lock:
            return [str(getattr(e.payload, "value", e.payload)) for e in self.items if e.kind == "state_changed"]


def settle_resources(threads0: int, fds0: int, fd_slack: int, timeout_s: float = 15.0) -> tuple[int, int]:
    """Wait (a condition, not a sleep) until threads and fds are back within slack of the start; return them.
    Threads that end and sockets the kernel closes late take a moment on a loaded machine."""
    import gc

    deadline = time.monotonic() + timeout_s
    while True:
        gc.collect()
        now = thread_count(), fd_count()
        if (now[0] <= threads0 and now[1] <= fds0 + fd_slack) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)
