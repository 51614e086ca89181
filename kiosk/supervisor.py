"""``kiosk run``: starts the platform simulator (if needed), the gateway and the kiosk app as
child processes, in that order, and keeps them running.

- Start-up is all or nothing: each child must report ready (through a pipe named by
  ``KIOSK_READY_FD``) within its deadline, or everything is stopped and the reason printed.
- After start-up a child that dies is restarted with capped backoff; the others keep running
  (a crashed screen never takes the gateway and its queued submissions with it).
- SIGINT / SIGTERM stop every child, newest first.

Settings that make running unsafe (a malformed settings file, a device target that is not allowed, an
outbox key that cannot be read) stop the start — but not into a restart loop: :func:`wait_until_fixed`
says in plain words what to fix, serves a stand-in ``/health`` on the gateway's address answering 503
with the problems (:class:`ProblemDoor`), checks again every few seconds and starts once they are fixed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

from kiosk.settings import Settings
from kiosk.watchdog import Watchdog

log = logging.getLogger(__name__)

READY_ENV = "KIOSK_READY_FD"
RESTART_MAX_S = 30.0
RECHECK_S = 5.0  # how often settings problems are checked again while they keep the kiosk from starting
T = TypeVar("T")


def notify_ready(detail: str = "") -> None:
    """Tell the supervisor (and systemd, when present) that this process is ready."""
    fd = os.environ.pop(READY_ENV, None)
    if fd:
        try:
            os.write(int(fd), f"ready {detail}\n".encode())
            os.close(int(fd))
        except OSError:
            pass
    notify_socket = os.environ.get("NOTIFY_SOCKET")
    if notify_socket:
        addr = "\0" + notify_socket[1:] if notify_socket.startswith("@") else notify_socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(b"READY=1", addr)
            except OSError:
                pass


class StartupError(Exception):
    """A child did not come up; the message says which and why."""


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    ready_timeout_s: float
    process: subprocess.Popen[bytes] | None = None
    detail: str = ""
    restarts: int = 0
    restart_at: float = 0.0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        """Start the child and wait until it reports ready; raise StartupError otherwise."""
        read_fd, write_fd = os.pipe()
        env = {**os.environ, **self.env, READY_ENV: str(write_fd)}
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "kiosk", *self.args], env=env,
                                            pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        self.started_at = time.monotonic()
        try:
            line = _read_line(read_fd, self.ready_timeout_s, self.process)
        finally:
            os.close(read_fd)
        if not line.startswith("ready"):
            code = self.process.poll()
            self.stop()
            why = f"exited with status {code}" if code is not None else \
                f"did not report ready within {self.ready_timeout_s:.0f} s"
            raise StartupError(f"{self.name} {why} (its messages are above)")
        self.detail = line[len("ready"):].strip()

    def stop(self, timeout_s: float = 8.0) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_line(fd: int, timeout_s: float, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + timeout_s
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break  # the child closed the pipe: it exited or never will report
            data += chunk
            if b"\n" in data:
                return data.split(b"\n", 1)[0].decode(errors="replace")
        elif proc.poll() is not None:
            break
    return data.decode(errors="replace")


def port_problem(host: str, port: int) -> str | None:
    """A plain sentence when ``host:port`` cannot be listened on, else None."""
    if port == 0:
        return None
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return (f"cannot listen on {host}:{port} ({exc.strerror}): is another kiosk already running? "
                    "Stop it, or choose another port in the settings.")
    return None


class Supervisor:
    """Runs the kiosk's processes; see the module docstring."""

    def __init__(self, settings: Settings, config: str | None, *, fullscreen: bool = False,
                 headless: bool = False) -> None:
        self.settings = settings
        self.children: list[Child] = []
        self._stopping = False
        common = ["--config", config] if config else []
        if not settings.platform.url:
            self.children.append(Child("platform simulator", ["platform-sim", *common], {}, 15))
        self.children.append(Child("gateway", ["gateway", *common], {}, 20))
        app_args = ["app", *common]
        if fullscreen:
            app_args.append("--fullscreen")
        if headless:
            app_args.append("--headless")
        self.children.append(Child("kiosk app", app_args, {}, 30))

    def preflight(self) -> list[str]:
        s = self.settings
        gw = s.gateway
        problems = [port_problem("127.0.0.1" if gw.tls else gw.host, gw.port)]
        if gw.tls:
            problems.append(port_problem(gw.host, gw.tls_port))
        if not s.platform.url:
            problems.append(port_problem("127.0.0.1", s.platform.sim_port))
        return [p for p in problems if p]

    def start(self) -> None:
        started: list[Child] = []
        try:
            for child in self.children:
                self._wire(child)
                child.start()
                started.append(child)
                log.info("%s ready %s", child.name, child.detail)
                if child.name == "gateway":
                    print(f"kiosk: gateway listening on {child.detail} (health: {child.detail}/health)",
                          flush=True)
        except BaseException:
            for child in reversed(started):
                child.stop()
            raise

    def _wire(self, child: Child) -> None:
        """Pass each child the addresses its predecessors reported."""
        by_name = {c.name: c for c in self.children}
        sim = by_name.get("platform simulator")
        if child.name in ("gateway", "kiosk app") and sim is not None:
            # The app needs it too: with a simulated platform, the simulated phone asks it for sign-in codes.
            child.env["KIOSK_PLATFORM__URL"] = sim.detail
        if child.name == "kiosk app":
            child.args = [*child.args, "--gateway-url", by_name["gateway"].detail]

    def watch(self) -> int:
        """Restart children that die until told to stop; returns the exit status."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        while not self._stopping:
            now = time.monotonic()
            for child in self.children:
                proc = child.process
                if proc is None or proc.poll() is None:
                    continue
                if child.restart_at == 0.0:
                    backoff = min(RESTART_MAX_S, 2.0 ** min(child.restarts, 5))
                    if now - child.started_at > 60:
                        child.restarts = 0
                        backoff = 1.0
                    child.restart_at = now + backoff
                    log.error("%s exited with status %s; restarting in %.0f s", child.name,
                              proc.returncode, backoff)
                elif now >= child.restart_at:
                    child.restart_at = 0.0
                    child.restarts += 1
                    try:
                        child.start()
                        log.info("%s restarted", child.name)
                    except StartupError as exc:
                        log.error("restart failed: %s", exc)
            time.sleep(0.3)
        self.stop()
        return 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def key_problem(settings: Settings) -> str | None:
    """A plain sentence when an outbox key exists but cannot be used (unreadable, not a key), else None.
    A missing key is no problem: the gateway creates the suite's key on its first start."""
    # lazy: the outbox's crypto module loads `cryptography`; `kiosk config check` must stay quick
    from local_api.outbox.crypto import KEYS

    for spec in KEYS.values():
        path = settings.data_path / spec.file_name
        try:
            size = len(path.read_bytes())
        except FileNotFoundError:
            continue
        except OSError as exc:
            return (f"{path}: the outbox key cannot be read ({exc.strerror}); check its owner (the kiosk user) "
                    "and mode 0600")
        if size != spec.size:
            return (f"{path}: is {size} bytes, not a {spec.size}-byte outbox key; restore the right key file from "
                    "the backup (queued submissions need it) — never delete it while submissions wait")
    return None


class ProblemDoor:
    """A stand-in for the gateway's ``/health`` while settings problems keep the kiosk from starting:
    503 ``{"status": "settings_problem", "problems": [...]}`` (the problems for loopback callers only, as
    the gateway's own details are), 503 for every other path. Closed before the real gateway starts."""

    def __init__(self, host: str, port: int, problems: list[str] | None = None) -> None:
        self.problems: list[str] = list(problems or [])  # set before the first caller can ask
        door = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body: dict[str, object] = {"status": "settings_problem",
                                           "message": "the kiosk is not running: its settings must be fixed"}
                if _loopback(self.client_address[0]):
                    body["problems"] = list(door.problems)
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(503)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Retry-After", str(int(RECHECK_S)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="problem-door", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def wait_until_fixed(check: Callable[[], tuple[T | None, list[str]]], address: tuple[str, int] | None, *,
                     prog: str = "kiosk", interval_s: float = RECHECK_S) -> T | None:
    """``check()`` until it gives a result (returned at once when it does the first time). Meanwhile: say
    on stderr what to fix (again whenever the problems change), serve :class:`ProblemDoor` at ``address``,
    tell systemd (READY with a STATUS line, watchdog pings) so it does not restart a process that is only
    waiting. SIGTERM / SIGINT end the wait: None."""
    result, problems = check()
    if result is not None:
        return result
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _s, _f: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    door: ProblemDoor | None = None
    if address is not None:
        try:
            door = ProblemDoor(*address, problems)
        except OSError as exc:
            print(f"{prog}: (no stand-in /health on {address[0]}:{address[1]}: {exc.strerror})", file=sys.stderr)
    dog = Watchdog()
    try:
        shown: list[str] = []
        next_check = time.monotonic() + interval_s
        while True:
            if problems != shown:
                _say_what_to_fix(prog, problems, door, interval_s)
                if door is not None:
                    door.problems = list(problems)
                first = problems[0] if problems else "settings problem"
                dog.notify(f"READY=1\nSTATUS=not running: fix the settings: {first[:200]}")
                shown = list(problems)
            dog.ping_if_due()
            if stop.wait(min(0.5, max(0.0, next_check - time.monotonic()))):
                print(f"{prog}: stopped while waiting for the settings to be fixed", file=sys.stderr)
                return None
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + interval_s
                result, problems = check()
                if result is not None:
                    print(f"{prog}: the settings are fixed now: starting", file=sys.stderr, flush=True)
                    dog.notify("STATUS=starting")
                    return result
    finally:
        if door is not None:
            door.close()
        dog.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _say_what_to_fix(prog: str, problems: list[str], door: ProblemDoor | None, interval_s: float) -> None:
    print(f"{prog}: not starting: these settings make running unsafe; fix them (the kiosk checks again every "
          f"{interval_s:.0f} s and starts by itself, no restart needed):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if door is not None:
        print(f"{prog}: meanwhile {door.url}/health answers 503 with these problems", file=sys.stderr, flush=True)
