"""``kiosk run``: starts the platform simulator (if needed), the gateway and the kiosk app as
child processes, in that order, and keeps them running.

- Start-up is all or nothing: each child must report ready (through a pipe named by
  ``KIOSK_READY_FD``) within its deadline, or everything is stopped and the reason printed.
- After start-up a child that dies is restarted with capped backoff; the others keep running
  (a crashed screen never takes the gateway and its queued submissions with it).
- SIGINT / SIGTERM stop every child, newest first.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from kiosk.settings import Settings

log = logging.getLogger(__name__)

READY_ENV = "KIOSK_READY_FD"
RESTART_MAX_S = 30.0


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
