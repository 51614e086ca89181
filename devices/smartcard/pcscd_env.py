"""A private pcscd with vsmartcard's vpcd virtual reader, for tests and the simulator mode.

pcscd 1.9.9 always puts its socket at ``/run/pcscd/pcscd.comm`` (it ignores
``PCSCLITE_CSOCK_NAME``; only the client library honours it). To run one next to a system pcscd
without touching it, the private pcscd gets its own mount namespace (``unshare --mount``):

- a tmpfs over ``/run`` and our work folder bind-mounted at ``/run/pcscd``, so its socket and pid
  file land in the work folder and the system's ``/run/pcscd`` is never seen, let alone replaced;
- a tmpfs over ``/usr/lib/pcsc/drivers``, so it finds no USB driver bundles and never claims a
  real reader that the system pcscd is using; the vpcd driver is bind-mounted into the work
  folder first and named by absolute path in a private ``reader.conf.d``;
- vpcd listens on a port pair chosen free at start (vpcd opens one TCP port per slot, two slots),
  so a system vpcd on 35963/35964 is not disturbed either.

Clients reach it by setting ``PCSCLITE_CSOCK_NAME`` to :attr:`PcscdEnvironment.socket_path`.
libpcsclite reads that variable once, at a process's first PC/SC call, and keeps it: set it
(:meth:`PcscdEnvironment.use_in_this_process`) before anything in the process talks PC/SC.

Needs root (``unshare --mount`` needs CAP_SYS_ADMIN), ``pcscd`` and ``vsmartcard-vpcd``.
Nothing here runs at import; every process started has its owner (:class:`PcscdEnvironment`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from devices.base import DeviceNotFound, DeviceTimeout

VPCD_DRIVER_DIR = Path("/usr/lib/pcsc/drivers/serial")
VPCD_DRIVER_NAME = "libifdvpcd.so"
PCSC_DRIVERS_DIR = Path("/usr/lib/pcsc/drivers")
CSOCK_ENV = "PCSCLITE_CSOCK_NAME"
DEFAULT_FRIENDLY_NAME = "Kiosk Virtual PCD"
VPCD_SLOTS = 2  # Debian builds vpcd with its default of two slots: ports p and p + 1

# Runs inside the new mount namespace; "$1" is the work folder, "$2" the USB driver folder.
_NAMESPACE_SCRIPT = r"""
set -e
mount -t tmpfs -o mode=0755 kiosk-pcscd-run /run
mkdir -p /run/pcscd
mount --bind "$1/run" /run/pcscd
mount --bind "$2/serial" "$1/driver"
mount -t tmpfs -o mode=0755 kiosk-pcscd-drivers "$2"
exec pcscd --foreground --config "$1/reader.conf.d" $3
"""


class PcscdUnavailable(DeviceNotFound):
    """A private pcscd cannot be started here (a missing package, or not root)."""


def missing_prerequisites() -> list[str]:
    """What is missing to run a private pcscd, in plain words; empty when all is there."""
    problems = []
    if shutil.which("pcscd") is None:
        problems.append("pcscd is not installed (apt-get install pcscd)")
    if not (VPCD_DRIVER_DIR / VPCD_DRIVER_NAME).exists():
        problems.append(f"the vpcd driver {VPCD_DRIVER_DIR / VPCD_DRIVER_NAME} is missing "
                        "(apt-get install vsmartcard-vpcd)")
    for tool in ("unshare", "mount"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not installed (apt-get install util-linux mount)")
    if os.geteuid() != 0:
        problems.append("a private pcscd needs its own mount namespace, which needs root")
    return problems


def _port_free(port: int) -> bool:
    # vpcd binds INADDR_ANY, so probe the same address.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port p with p and p + 1 both free (vpcd listens on one port per slot)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port: int = s.getsockname()[1]
        if port < 65535 and all(_port_free(port + i) for i in range(VPCD_SLOTS)):
            return port
    raise PcscdUnavailable("no pair of free TCP ports for the virtual reader: free some ports and retry")


def _listening(port: int) -> bool:
    """True when something listens on TCP ``port`` (read from /proc, so no connection is made:
    vpcd would take a probing connection for an inserted card)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


class PcscdEnvironment:
    """A private pcscd + vpcd: :meth:`start` it, point clients at :attr:`socket_path`, :meth:`stop` it.

    :meth:`kill_pcscd` / :meth:`start_pcscd` stop and restart only the daemon (same socket path and
    ports), which is how tests show that readers survive a pcscd restart.
    """

    def __init__(self, *, workdir: Path | None = None, vpcd_port: int | None = None,
                 friendly_name: str = DEFAULT_FRIENDLY_NAME, start_timeout_s: float = 20.0,
                 debug: bool = False) -> None:
        self._own_workdir = workdir is None
        self._workdir = workdir
        self._vpcd_port = vpcd_port
        self.friendly_name = friendly_name
        self.start_timeout_s = start_timeout_s
        self.debug = debug
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- where things are --------------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("the pcscd environment has not been started")
        return self._workdir

    @property
    def socket_path(self) -> Path:
        """The private pcscd's socket; clients set ``PCSCLITE_CSOCK_NAME`` to it."""
        return self.workdir / "run" / "pcscd.comm"

    @property
    def log_path(self) -> Path:
        return self.workdir / "pcscd.log"

    @property
    def vpcd_port(self) -> int:
        """The TCP port of the first virtual reader slot (the second is one above)."""
        if self._vpcd_port is None:
            raise RuntimeError("the pcscd environment has not been started")
        return self._vpcd_port

    def reader_names(self) -> list[str]:
        """The PC/SC names of the virtual readers, slot 0 first."""
        return [f"{self.friendly_name} 00 {slot:02d}" for slot in range(VPCD_SLOTS)]

    def client_env(self) -> dict[str, str]:
        """Environment variables that make a PC/SC client use this pcscd."""
        return {CSOCK_ENV: str(self.socket_path)}

    def use_in_this_process(self) -> None:
        """Point this process's PC/SC client library at the private pcscd.

        Must happen before the process's first PC/SC call: libpcsclite keeps the socket name it
        found first for the life of the process.
        """
        os.environ.update(self.client_env())

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Prepare the work folder and reader configuration, then start pcscd and wait until it
        serves clients and vpcd listens. Raises :class:`PcscdUnavailable` or :class:`DeviceTimeout`."""
        problems = missing_prerequisites()
        if problems:
            raise PcscdUnavailable("cannot start a private pcscd: " + "; ".join(problems))
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="kiosk-pcscd-"))
        if self._vpcd_port is None:
            self._vpcd_port = free_port_pair()
        for sub in ("run", "driver", "reader.conf.d"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "reader.conf.d" / "vpcd").write_text(
            f'FRIENDLYNAME "{self.friendly_name}"\n'
            f"DEVICENAME   /dev/null:0x{self.vpcd_port:04X}\n"
            f"LIBPATH      {self.workdir / 'driver' / VPCD_DRIVER_NAME}\n"
            f"CHANNELID    0x{self.vpcd_port:04X}\n", encoding="ascii")
        # pcscd runs in its own session (a Ctrl-C meant for the owner must not kill it half-way),
        # so it would outlive an owner that exits without stop(): stop it at interpreter exit too.
        atexit.register(self.stop)
        try:
            self.start_pcscd()
        except BaseException:
            self.stop()
            raise
        return self

    def start_pcscd(self) -> None:
        """(Re)start the daemon on the prepared configuration and wait until it is ready."""
        if self.running:
            return
        for stale in ("pcscd.comm", "pcscd.pid"):  # left behind by a killed daemon
            with contextlib.suppress(FileNotFoundError):
                (self.workdir / "run" / stale).unlink()
        env = {k: v for k, v in os.environ.items()
               # pcscd links libsystemd: it must not notify the kiosk's own unit, nor take its sockets.
               if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
        log = open(self.log_path, "ab")  # noqa: SIM115 -- closed in _reap
        self._log = log
        self._proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _NAMESPACE_SCRIPT,
             "kiosk-pcscd", str(self.workdir), str(PCSC_DRIVERS_DIR), "--debug" if self.debug else ""],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                self._reap()
                raise PcscdUnavailable(
                    f"the private pcscd exited at start (status {code}): {self._log_tail()}")
            if self._socket_answers() and all(_listening(self.vpcd_port + i) for i in range(VPCD_SLOTS)):
                return
            time.sleep(0.05)
        self.kill_pcscd()
        raise DeviceTimeout(f"the private pcscd was not ready within {self.start_timeout_s} s: "
                            f"{self._log_tail()}")

    def _socket_answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.socket_path))
            except OSError:
                return False
        return True

    def _log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"

    def kill_pcscd(self, sig: int = signal.SIGKILL, timeout_s: float = 10.0) -> None:
        """Stop the daemon (SIGKILL by default, as a crash would); the configuration stays."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        self._reap()

    def restart_pcscd(self) -> None:
        """Kill the daemon and start it again on the same socket path and ports."""
        self.kill_pcscd()
        self.start_pcscd()

    def _reap(self) -> None:
        self._proc = None
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def stop(self) -> None:
        """Stop pcscd (politely first) and remove the work folder if this object made it."""
        atexit.unregister(self.stop)
        self.kill_pcscd(signal.SIGTERM)
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
