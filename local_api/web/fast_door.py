"""The kiosk app's submission door on an event loop (issue 25, P6): ``POST /api/v1/submissions`` only.

waitress + Flask spend most of the gateway's CPU per accept (its main loop, werkzeug, the WSGI
plumbing); on a two-core terminal that, not the disk, capped the accept rate. So the one hot route
of the kiosk door is also served here: one asyncio event loop in a thread of the gateway process,
HTTP/1.1 parsed by h11 (the sans-I/O parser uvicorn and httpcore use; already a dependency through
httpx), on its own loopback port, written to ``<data_dir>/kiosk-fast-door.port`` (0600) at start and
removed at stop. The kiosk app's :class:`~local_api.client.GatewayClient` sends submissions there and
falls back to the Flask route when the file or the port is not there. ``gateway.fast_door = false``
turns it off. Every other route of the kiosk door, the operators' door and the console stay Flask.

The same checks as the Flask door, by the same code: :func:`local_api.web.door.door_refusal` (no
forwarding headers, a loopback peer, ``Host``, ``Origin`` / ``Sec-Fetch-Site``, the door secret, JSON
only), the app's body limit (413 as werkzeug's), :func:`local_api.web.bodies.parse_raw` (strict JSON,
clean strings, the pydantic ``SubmissionBody``), :mod:`local_api.web.submission` (item codes, the
materials' size, the assisted mode's staff token, the free-space check, idempotent ``accept_once``,
the accepted / refused / accept-seconds metrics) and the same JSON error answers; the request counter
gets the same labels. Like the Flask route it is not audited (submissions carry personal data), and an
out-of-service kiosk still stores what its app sends (the app stops offering services itself).

Each connection is an :class:`asyncio.Protocol` (:class:`_Connection`) that feeds h11 from the transport's
callbacks: no task, stream or future per request, deadlines as loop timers (profiled in issue 25, the
loop's own per-request machinery cost more CPU than the checks). The outbox's accept is blocking (an
fsync), so it runs on one commit thread: what the loop's ticks handed over since its last commit is
committed as one transaction (``Outbox.accept_many`` through :func:`~local_api.web.submission.store_many`)
and answered in one loop callback; a Flask accept meanwhile shares it through the outbox's group commit.
HTTP/1.1 limits: a head over 16 KiB 431, malformed requests 400, a request's
head and body within 10 s of its first byte, a keep-alive connection closed after 60 s idle, refused
requests answered without reading their body and the connection then closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
from werkzeug.exceptions import RequestEntityTooLarge

from local_api.web.app import COUNTED_METHODS
from local_api.web.auth import LOOPBACK
from local_api.web.bodies import SubmissionBody, parse_raw
from local_api.web.door import FORWARDING_HEADERS, door_refusal
from local_api.web.errors import Answer, BadRequest, bad_request_answer, error_answer
from local_api.web.services import GatewayServices
from local_api.web.submission import Accept, prepare_submission, store_many

log = logging.getLogger(__name__)

ROUTE = "/api/v1/submissions"
MAX_HEAD = 16 * 1024
REQUEST_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 60.0
# What a proxy adds (door.py names them as WSGI keys): as lower-case header names.
_FORWARDED = tuple(name.removeprefix("HTTP_").replace("_", "-").lower().encode() for name in FORWARDING_HEADERS)
_END = h11.EndOfMessage()
_KEEP_OPEN = frozenset({200, 202, 409})  # answers after which the connection stays usable


def write_port_file(path: Path, port: int) -> None:
    """``port`` into ``path`` (0600, replaced atomically) for the kiosk app."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"{port}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class FastDoor:
    """The submission door: bound at construction (port 0 → a free one), served by :meth:`start`."""

    def __init__(self, svc: GatewayServices, max_body: int, *, port_file: Path | None = None) -> None:
        self.svc = svc
        self.max_body = max_body
        self.port_file = port_file
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted sockets only then (no 40 ms delayed-ACK stalls).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # The commits: one thread takes whatever the loop's ticks have handed over since its last commit.
        self._handed: list[tuple[Accept, Callable[[Answer | BaseException], None]]] = []
        self._handed_cv = threading.Condition(threading.Lock())
        self._stopping = False
        self._committer = threading.Thread(target=self._commits, name="fast-door-store", daemon=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fast-door", daemon=True)
        self._started = threading.Event()
        self._server: asyncio.Server | None = None
        self._tick: list[tuple[Accept, Callable[[Answer | BaseException], None]]] = []
        self._connections: set[_Connection] = set()
        self._counters: dict[tuple[str, str, int], tuple[Any, ...]] = {}
        self._heads: dict[tuple[int, int, bool], h11.Response] = {}

    def start(self) -> FastDoor:
        """Serve in a background thread, then write the port file."""
        self._committer.start()
        self._thread.start()
        self._started.wait(10)
        if self.port_file is not None:
            try:
                write_port_file(self.port_file, self.port)
            except OSError:
                self.close()
                raise
        log.info("kiosk submission door (event loop) listening on %s", self.url)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(self._loop.create_server(lambda: _Connection(self),
                                                                             sock=self._sock))
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._server.wait_closed())
            for connection in list(self._connections):
                if connection.transport is not None:
                    connection.transport.abort()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    def close(self, timeout: float = 10.0) -> None:
        """Remove the port file (the app falls back to the Flask route), stop serving, finish the stores in flight."""
        if self.port_file is not None:
            with contextlib.suppress(OSError):
                if self.port_file.read_text(encoding="ascii").strip() == str(self.port):
                    self.port_file.unlink()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        else:
            self._sock.close()
        with self._handed_cv:
            self._stopping = True
            self._handed_cv.notify()
        if self._committer.is_alive():
            self._committer.join(timeout)

    # -- one request -----------------------------------------------------------------------------

    def _answer(self, raw: bytes, answered: Callable[[Answer | BaseException], None]) -> None:
        """Answer a submission that passed the door (its body read whole) through ``answered``: at once
        for a refusal, after this loop tick's commit for an accept."""
        svc = self.svc
        try:
            accept = prepare_submission(svc, parse_raw(SubmissionBody, raw), len(raw))
        except BadRequest as exc:
            answered(bad_request_answer(exc))
            return
        if not isinstance(accept, Accept):
            answered(accept)
            return
        # Queued for this loop tick's transaction: the first of a tick schedules the commit of all that
        # the tick parsed (:meth:`_commit`, run when the loop has handled every ready event).
        self._tick.append((accept, answered))
        if len(self._tick) == 1:
            self._loop.call_soon(self._commit)

    def _commit(self) -> None:
        """Hand this tick's accepts to the commit thread (woken only when it waits for work)."""
        tick, self._tick = self._tick, []
        with self._handed_cv:
            self._handed.extend(tick)
            if len(self._handed) == len(tick):
                self._handed_cv.notify()

    def _commits(self) -> None:
        """The commit thread: everything handed over since its last commit goes into one transaction
        (:func:`~local_api.web.submission.store_many`); the answers go back to the loop in one callback."""
        while True:
            with self._handed_cv:
                while not self._handed and not self._stopping:
                    self._handed_cv.wait()
                batch, self._handed = self._handed, []
            if not batch:
                return  # stopping, and nothing left to store
            answers: list[Answer | BaseException]
            try:
                answers = list(store_many(self.svc, [accept for accept, _ in batch]))
            except Exception as exc:  # noqa: BLE001 - each waiting request gets the failure (a 500)
                answers = [exc] * len(batch)
            with contextlib.suppress(RuntimeError):  # the loop has stopped: nobody waits for these answers
                self._loop.call_soon_threadsafe(self._settle, batch, answers)

    @staticmethod
    def _settle(batch: list[tuple[Accept, Callable[[Answer | BaseException], None]]],
                answers: list[Answer | BaseException]) -> None:
        for (_, answered), answer in zip(batch, answers, strict=True):
            answered(answer)

    def _refusal(self, headers: dict[bytes, bytes], peer: str) -> Answer | None:
        via_proxy = any(name in headers for name in _FORWARDED)

        def header(name: str) -> str | None:
            value = headers.get(name.lower().encode("ascii"))
            return None if value is None else value.decode("latin-1")

        mimetype = (header("Content-Type") or "").split(";")[0].strip().lower()
        refused = door_refusal(via_proxy=via_proxy, loopback=peer in LOOPBACK and not via_proxy, https=False,
                               port=str(self.port), header=header, secret=self.svc.door_secret, method="POST",
                               mimetype=mimetype)
        if refused is None:
            return None
        status, code, message, extra = refused
        return error_answer(status, code, message, **extra)

    def _too_large(self) -> Answer:
        exc = RequestEntityTooLarge()  # the same answer as the Flask door's MAX_CONTENT_LENGTH
        return error_answer(413, (exc.name or "error").lower().replace(" ", "_"), exc.description or "",
                            field="body")

    def _route(self, method: bytes, target: bytes) -> Answer | None:
        path = target.split(b"?", 1)[0]
        if path != ROUTE.encode():
            return error_answer(404, "not_found", "this port is the kiosk app's submission door: it answers "
                                f"POST {ROUTE} only")
        if method != b"POST":
            return error_answer(405, "method_not_allowed", "The method is not allowed for the requested URL.")
        return None

    # -- HTTP/1.1 --------------------------------------------------------------------------------

    def _count(self, status: int, method: str, rule: str) -> None:
        key = (method, rule, status)
        counters = self._counters.get(key)
        if counters is None:
            try:  # the label children once per (method, rule, status), not per request
                metrics = self.svc.metrics
                counters = (metrics.requests.labels(method, rule, str(status)), metrics.fast_door.labels(str(status)))
            except Exception:  # noqa: BLE001 - counting must never turn an answer into an error
                return
            self._counters[key] = counters
        with contextlib.suppress(Exception):
            for counter in counters:
                counter.inc()

    def _response(self, conn: h11.Connection, answer: Answer, *, close: bool = False) -> bytes:
        """The bytes of ``answer`` (h11 keeps the connection's state)."""
        status, body = answer
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        close = close or status not in _KEEP_OPEN
        key = (status, len(data), close)
        head = self._heads.get(key)
        if head is None:  # h11 checks an event's headers when it is made: made once per status and length
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                       (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
            if status == 405:
                headers.append((b"allow", b"POST"))
            if close:
                headers.append((b"connection", b"close"))
            head = h11.Response(status_code=status, headers=headers)
            if len(self._heads) >= 256:  # bounded: the 202s' lengths barely vary
                self._heads.clear()
            self._heads[key] = head
        return b"".join((conn.send(head) or b"", conn.send(h11.Data(data=data)) or b"",
                         conn.send(_END) or b""))


class _Connection(asyncio.Protocol):
    """One connection of the door: h11 fed from the transport's callbacks (no task, stream or future per
    request: the loop's own cost per request is most of the door's CPU). One request at a time: reading
    pauses from a request's end until its answer is written (pipelined requests wait in h11's buffer)."""

    def __init__(self, door: FastDoor) -> None:
        self.door = door
        self.loop = door._loop
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.timer: asyncio.TimerHandle | None = None
        self.headers: dict[bytes, bytes] = {}
        self.parts: list[bytes] = []
        self.size = 0
        self.in_request = False  # a request's first byte has come (its 10 s deadline runs)
        self.busy = False  # a request read whole, its answer not yet written
        self.write_paused = False
        self.closing = False

    # -- transport callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = str((transport.get_extra_info("peername") or ("",))[0])
        self.door._connections.add(self)
        self._deadline(IDLE_TIMEOUT_S)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.door._connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # lingering after a refusal: what the client still sends is dropped
        self.conn.receive_data(data)
        self._advance()

    def eof_received(self) -> bool:
        if self.closing:
            return False  # lingering after a refusal: the client has sent all, the transport closes
        self.conn.receive_data(b"")
        self._advance()
        return True  # we close (an answer in the making is still written)

    def pause_writing(self) -> None:
        self.write_paused = True  # a client that does not read its answers: read no more of its requests
        if self.transport is not None and not self.busy:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.transport is not None and not self.busy and not self.closing:
            self.transport.resume_reading()
        self._advance()

    # -- the request cycle

    def _deadline(self, seconds: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        self.timer = None
        if not self.busy:  # idle too long, or a request's head and body not whole within 10 s
            self._close()

    def _advance(self) -> None:
        self._guarded(self._events)

    def _guarded(self, step: Callable[[], None]) -> None:
        """Run one step of the connection: an HTTP state h11 refuses closes it, any other fault is a 500."""
        try:
            step()
        except h11.LocalProtocolError:
            self._close()
        except Exception as exc:  # noqa: BLE001 - one connection's fault never stops the door
            self._failed(exc)

    def _events(self) -> None:
        """Take h11's events while a request is not waiting for its answer."""
        conn = self.conn
        while not (self.busy or self.closing or self.write_paused):
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = exc.error_status_hint
                    self._reply(error_answer(status, "bad_request" if status == 400
                                             else "request_header_fields_too_large",
                                             "the request is not well-formed HTTP/1.1"))
                self._close()
                return
            if event is h11.NEED_DATA:
                if not self.in_request and conn.trailing_data[0]:
                    self.in_request = True  # the request's first bytes: its head and body within 10 s
                    self._deadline(REQUEST_TIMEOUT_S)
                return
            if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                self._close()
                return
            if not self.in_request:
                self.in_request = True
                self._deadline(REQUEST_TIMEOUT_S)
            if isinstance(event, h11.Request):
                if not self._head(event):
                    return
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size > self.door.max_body:  # chunked bodies are counted as they come
                    self._refuse(self.door._too_large())
                    return
                self.parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.busy = True
                if self.timer is not None:
                    self.timer.cancel()
                    self.timer = None
                assert self.transport is not None
                self.transport.pause_reading()  # the next request waits for this one's answer
                raw, self.parts, self.size = b"".join(self.parts), [], 0
                self.door._answer(raw, self._answered)

    def _head(self, event: h11.Request) -> bool:
        """Check a request's head; False when it was answered (and the connection is closing)."""
        door = self.door
        headers: dict[bytes, bytes] = {}
        for name, value in event.headers:
            headers.setdefault(bytes(name), bytes(value))
        self.headers = headers
        if len(event.target) + sum(len(n) + len(v) + 4 for n, v in event.headers) > MAX_HEAD:
            self._refuse((431, {"error": "request_header_fields_too_large",
                                "message": "the request's head is over 16 KiB"}))
            return False
        wrong = door._route(event.method, event.target)
        if wrong is not None:
            method = event.method.decode("ascii", "replace")
            self._refuse(wrong, method if method in COUNTED_METHODS else "other",
                         ROUTE if wrong[0] == 405 else "unmatched")
            return False
        refused = door._refusal(headers, self.peer)
        if refused is None and int(headers.get(b"content-length", b"0") or 0) > door.max_body:
            refused = door._too_large()
        if refused is not None:  # answered without reading the body; the connection then closes
            self._refuse(refused)
            return False
        return True

    def _answered(self, answer: Answer | BaseException) -> None:
        """The answer to the request read whole (from the tick's commit, or at once for a refusal)."""
        if not self.closing:  # else the client left meanwhile
            self._guarded(lambda: self._send(answer))

    def _send(self, answer: Answer | BaseException) -> None:
        """Reply, then take the next request on a keep-alive connection (or close it)."""
        if isinstance(answer, BaseException):
            raise answer
        self._reply(answer)
        conn = self.conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            self.busy = self.in_request = False
            self._deadline(IDLE_TIMEOUT_S)
            assert self.transport is not None
            if not self.write_paused:
                self.transport.resume_reading()
            self._advance()
        else:
            self._close()

    def _reply(self, answer: Answer, method: str = "POST", rule: str = ROUTE, *, close: bool = False) -> None:
        """Send ``answer`` and count it as Flask's request counter does (``rule``: ``unmatched`` for another path)."""
        self.door._count(answer[0], method, rule)
        assert self.transport is not None
        self.transport.write(self.door._response(self.conn, answer, close=close))

    def _refuse(self, answer: Answer, method: str = "POST", rule: str = ROUTE) -> None:
        self._reply(answer, method, rule)
        self._close()

    def _failed(self, exc: BaseException) -> None:
        frames = "".join(traceback.format_tb(exc.__traceback__))  # frames only: messages can carry form data
        log.error("fast door: unhandled %s\n%s", type(exc).__name__, frames)
        with contextlib.suppress(Exception):
            if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                self._reply(error_answer(500, "internal_error", "the gateway hit an unexpected error; the "
                                         "technician log has details"), close=True)
        self._close()

    def _close(self) -> None:
        """Close; after an answer given before the request's body was read (a refusal), as browsers and
        curl expect: our side first, then what the client still sends is read and dropped (for up to
        2 s), so its unread body does not turn into a reset that loses the answer on its way."""
        if self.closing or self.transport is None:
            return
        self.closing = True
        transport = self.transport
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.conn.their_state is h11.SEND_BODY and transport.can_write_eof():
            with contextlib.suppress(Exception):
                transport.write_eof()
                transport.resume_reading()
                self.timer = self.loop.call_later(2.0, transport.close)
                return
        transport.close()
