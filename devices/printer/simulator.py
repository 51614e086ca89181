"""A virtual network receipt printer for tests, demos and the kiosk's ``sim://printer``.

It listens on 127.0.0.1 (an ephemeral port by default), records each connection's bytes
as one job, and answers the real-time status query DLE EOT n (``10 04 n``) from a
scriptable state: paper ok / low / out, cover open, or silence. Like a real printer on
port 9100 it serves one connection at a time, and like a real printer it acts on
``10 04 n`` wherever it appears in the stream (ESC/POS real-time commands are not
framed). Status queries are cut out of the recording, so a job is what would be printed.

Faults a test can script: paper that runs out after N more bytes (the rest of the job is
not printed, as on a printer stopped at paper end), a link that drops after N more bytes
(a pulled cable or a power cut mid-job), a printer switched off (connections are closed at
once, as by a print server whose printer is off), silence, and raw status replies (garbage,
extra bytes, or none for some n: a truncated answer).

One thread, started by :meth:`start` and joined by :meth:`stop`.

``sim://printer`` opens :class:`SimulatedPrinterPort` (the registry's handler,
:func:`open_simulated_port`): a virtual printer of its own, started when the adapter opens.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import Self

from devices.base import DeviceNotFound
from kiosk.endpoints import Endpoint

from .connections import NetworkLink
from .escpos_stream import stream_to_png

_POLL_S = 0.05  # how often the server thread looks at its stop flag


class VirtualPrinter:
    """A scriptable ESC/POS printer on TCP; use as a context manager or call start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, paper_mm: int = 80) -> None:
        self._bind = (host, port)
        self.paper_mm = paper_mm
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._jobs: list[bytes] = []
        self._stream = bytearray()
        self._queries: list[int] = []
        self.connections = 0
        self._paper = "ok"
        self._cover_open = False
        self._silent = False
        self._raw_status: dict[int, int | bytes | None] = {}
        self._run_out_after: int | None = None
        self._drop_after: int | None = None
        self._powered = True
        self._lost = 0

    # -- lifecycle

    def start(self) -> Self:
        """Bind and start serving (idempotent)."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self._bind)
        sock.listen(4)
        sock.settimeout(_POLL_S)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"virtual-printer:{self.address[1]}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually listened on."""
        if self._sock is None:
            raise RuntimeError("VirtualPrinter is not started")
        host, port = self._sock.getsockname()[:2]
        return host, port

    @property
    def uri(self) -> str:
        """``tcp://127.0.0.1:PORT`` for :class:`~devices.printer.printer.ReceiptPrinter`."""
        host, port = self.address
        return f"tcp://{host}:{port}"

    # -- scripting

    def set_state(self, paper: str = "ok", cover_open: bool = False, silent: bool = False,
                  raw_status: Mapping[int, int | bytes | None] | None = None, *,
                  run_out_after: int | None = None, drop_after: int | None = None,
                  powered: bool = True) -> None:
        """Script the printer (every call sets the whole state).

        ``paper`` "ok" | "low" | "out"; ``silent`` ignores status queries; ``raw_status``
        {n: reply} overrides single replies: an int is one byte, bytes are sent as they are,
        None is no answer. ``run_out_after`` N: the paper runs out after N more printed bytes.
        ``drop_after`` N: the connection is cut after N more bytes (once). ``powered`` False:
        the current connection is cut and new ones are closed at once.
        """
        if paper not in ("ok", "low", "out"):
            raise ValueError("paper must be 'ok', 'low' or 'out'")
        with self._cond:
            self._paper, self._cover_open, self._silent = paper, cover_open, silent
            self._raw_status = dict(raw_status or {})
            self._run_out_after, self._drop_after, self._powered = run_out_after, drop_after, powered

    @property
    def paper(self) -> str:
        """The paper level now ("ok", "low" or "out"; scripted run-outs included)."""
        with self._cond:
            return self._paper

    def lost_bytes(self) -> int:
        """Bytes received while the printer could not print them (paper out, cover open)."""
        with self._cond:
            return self._lost

    def status_byte(self, n: int) -> int:
        """The reply to DLE EOT ``n`` in the current state (bits 0x12 always set); raw
        overrides are not applied here."""
        with self._cond:
            out, low, cover = self._paper == "out", self._paper == "low", self._cover_open
        byte = 0x12
        if n == 1 and (out or cover):
            byte |= 0x08  # offline while the cover is open or the paper has run out
        elif n == 2:
            byte |= (0x04 if cover else 0) | (0x20 if out else 0)
        elif n == 4:
            byte |= 0x6C if out else (0x0C if low else 0)  # at paper end the near-end sensor is empty too
        return byte

    # -- what was received

    def received(self) -> bytes:
        """Every printable byte received so far, all jobs concatenated."""
        with self._cond:
            return bytes(self._stream)

    def jobs(self) -> list[bytes]:
        """One entry per finished connection that carried printable bytes."""
        with self._cond:
            return list(self._jobs)

    def status_queries(self) -> list[int]:
        """The n of every DLE EOT n received, in order."""
        with self._cond:
            return list(self._queries)

    def clear(self) -> None:
        """Forget what was received."""
        with self._cond:
            self._jobs.clear()
            self._stream.clear()
            self._queries.clear()

    def wait_for_job(self, timeout: float = 2.0, count: int = 1) -> bytes:
        """Block until at least ``count`` jobs were recorded; return the last. Raises TimeoutError."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._jobs) >= count, timeout):
                raise TimeoutError(f"virtual printer got {len(self._jobs)} job(s), expected {count}")
            return self._jobs[-1]

    def render_png(self, path: str | None = None) -> bytes:
        """PNG of the last job as it would come out of the printer; also written to ``path`` if given."""
        jobs = self.jobs()
        png = stream_to_png(jobs[-1] if jobs else b"", self.paper_mm)
        if path is not None:
            with open(path, "wb") as f:
                f.write(png)
        return png

    # -- the server thread

    def _serve(self) -> None:
        assert self._sock is not None
        listener = self._sock
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self.connections += 1
                with self._cond:
                    powered = self._powered
                if powered:
                    self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(_POLL_S)
        job = bytearray()
        pending = b""
        while not self._stop.is_set():
            with self._cond:
                if not self._powered:
                    break
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            data = pending + chunk
            pending = b""
            i = 0
            cut = False
            while i < len(data):
                b = data[i]
                if b == 0x10 and i + 1 < len(data) and data[i + 1] == 0x04:
                    if i + 2 >= len(data):
                        pending = data[i:]  # the query is split across reads: finish it next time
                        break
                    self._answer(conn, data[i + 2])
                    i += 3
                    continue
                if b == 0x10 and i + 1 == len(data):
                    pending = data[i:]
                    break
                if self._take(job, b):
                    cut = True
                    break
                i += 1
            if cut:
                pending = b""
                break
        if pending:
            for b in pending:
                self._take(job, b)
        with self._cond:
            if job:
                self._jobs.append(bytes(job))
                self._stream += job
            self._cond.notify_all()

    def _take(self, job: bytearray, b: int) -> bool:
        """Print one byte if the printer can; True when the scripted link drop happens now."""
        with self._cond:
            if self._drop_after is not None:
                if self._drop_after <= 0:
                    self._drop_after = None
                    return True
                self._drop_after -= 1
            if self._paper == "out" or self._cover_open:
                self._lost += 1
                return False
            job.append(b)
            if self._run_out_after is not None:
                self._run_out_after -= 1
                if self._run_out_after <= 0:
                    self._paper, self._run_out_after = "out", None
        return False

    def _answer(self, conn: socket.socket, n: int) -> None:
        with self._cond:
            self._queries.append(n)
            silent = self._silent
            raw = self._raw_status.get(n, -1)
        if silent or raw is None:
            return
        if isinstance(raw, bytes):
            reply = raw
        elif raw == -1:
            reply = bytes((self.status_byte(n),))
        else:
            reply = bytes((raw,))
        try:
            conn.sendall(reply)
        except OSError:
            pass


class SimulatedPrinterPort:
    """The printer port of ``sim://printer``: a :class:`VirtualPrinter` of its own, started by
    :meth:`start` (the adapter's open) and stopped by :meth:`stop` (its close)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.simulator: VirtualPrinter | None = None

    def start(self) -> None:
        """Start the virtual printer (idempotent)."""
        if self.simulator is None:
            self.simulator = VirtualPrinter().start()

    def open_link(self) -> NetworkLink:
        """A connection to the virtual printer; it prints at once, so there is nothing to settle."""
        if self.simulator is None:
            raise DeviceNotFound("sim://printer is not running: call open() first")
        return NetworkLink(*self.simulator.address, self.timeout, settle_s=0.0)

    def stop(self) -> None:
        """Stop the virtual printer (idempotent)."""
        simulator, self.simulator = self.simulator, None
        if simulator is not None:
            simulator.stop()


def open_simulated_port(endpoint: Endpoint, *, timeout: float, baudrate: int) -> SimulatedPrinterPort:
    """The registry's ``sim://`` printer handler (:mod:`devices.endpoints`)."""
    return SimulatedPrinterPort(timeout)
