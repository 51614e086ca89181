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

The outbox's accept is blocking (an fsync), so it runs on worker threads: the submissions parsed in one
loop tick are committed as one transaction (``Outbox.accept_many`` through
:func:`~local_api.web.submission.store_many`, one worker job per tick), and ticks that overlap share
commits through the outbox's group commit. HTTP/1.1 limits: a head over 16 KiB 431, malformed requests 400, a request's
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
from concurrent.futures import ThreadPoolExecutor
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

    def __init__(self, svc: GatewayServices, max_body: int, *, port_file: Path | None = None,
                 threads: int = 4) -> None:
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
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="fast-door-store")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fast-door", daemon=True)
        self._started = threading.Event()
        self._server: asyncio.Server | None = None
        self._tick: list[tuple[Accept, asyncio.Future[Answer]]] = []

    def start(self) -> FastDoor:
        """Serve in a background thread, then write the port file."""
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
        self._server = self._loop.run_until_complete(asyncio.start_server(self._connection, sock=self._sock))
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._server.wait_closed())
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
        self._pool.shutdown(wait=True)

    # -- one request -----------------------------------------------------------------------------

    async def _answer(self, raw: bytes) -> Answer:
        """The answer to a submission that passed the door (its body read whole)."""
        svc = self.svc
        try:
            accept = prepare_submission(svc, parse_raw(SubmissionBody, raw), len(raw))
        except BadRequest as exc:
            return bad_request_answer(exc)
        if not isinstance(accept, Accept):
            return accept
        return await self._store(accept)

    def _store(self, accept: Accept) -> asyncio.Future[Answer]:
        """Queue ``accept`` for this loop tick's transaction: the first of a tick schedules the commit of
        all that the tick parsed (:meth:`_commit`, run when the loop has handled every ready event)."""
        loop = asyncio.get_running_loop()
        waiting: asyncio.Future[Answer] = loop.create_future()
        self._tick.append((accept, waiting))
        if len(self._tick) == 1:
            loop.call_soon(self._commit)
        return waiting

    def _commit(self) -> None:
        tick, self._tick = self._tick, []
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._pool, store_many, self.svc, [accept for accept, _ in tick])

        def settle(outcome: asyncio.Future[list[Answer]]) -> None:
            failed = outcome.exception()
            for i, (_, waiting) in enumerate(tick):
                if waiting.done():
                    continue
                if failed is not None:
                    waiting.set_exception(failed)
                else:
                    waiting.set_result(outcome.result()[i])

        done.add_done_callback(settle)

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
        with contextlib.suppress(Exception):  # counting must never turn an answer into an error
            self.svc.metrics.requests.labels(method, rule, str(status)).inc()
            self.svc.metrics.fast_door.labels(str(status)).inc()

    async def _send(self, writer: asyncio.StreamWriter, conn: h11.Connection, answer: Answer,
                    *, close: bool = False) -> None:
        status, body = answer
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                   (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
        if status == 405:
            headers.append((b"allow", b"POST"))
        if close or status not in _KEEP_OPEN:
            headers.append((b"connection", b"close"))
        writer.write(b"".join((conn.send(h11.Response(status_code=status, headers=headers)) or b"",
                               conn.send(h11.Data(data=data)) or b"", conn.send(h11.EndOfMessage()) or b"")))
        await writer.drain()

    @staticmethod
    async def _event(reader: asyncio.StreamReader, conn: h11.Connection) -> Any:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await reader.read(65536))

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str((writer.get_extra_info("peername") or ("",))[0])
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        try:
            while await self._one(reader, writer, conn, peer):
                conn.start_next_cycle()
            if conn.their_state is h11.SEND_BODY:  # answered before its body was read (a refusal)
                await self._linger(reader, writer)
        except (ConnectionError, h11.LocalProtocolError, TimeoutError, asyncio.CancelledError):
            pass  # the peer left, a deadline passed, or the door is closing
        except Exception as exc:  # noqa: BLE001 - one connection's fault never stops the door
            frames = "".join(traceback.format_tb(exc.__traceback__))  # frames only: messages can carry form data
            log.error("fast door: unhandled %s\n%s", type(exc).__name__, frames)
            with contextlib.suppress(Exception):
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(writer, conn, error_answer(
                        500, "internal_error", "the gateway hit an unexpected error; the technician log has details"),
                        close=True)
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection,
                   peer: str) -> bool:
        """Serve one request; whether the connection may carry another."""
        if not conn.trailing_data[0]:  # idle between requests: wait longer for the next one's first byte
            try:
                async with asyncio.timeout(IDLE_TIMEOUT_S):
                    first = await reader.read(65536)
            except TimeoutError:
                return False
            if not first:
                return False
            conn.receive_data(first)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):  # a request's head and body, whole
                event = await self._event(reader, conn)
                if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                    return False
                assert isinstance(event, h11.Request)
                headers: dict[bytes, bytes] = {}
                for name, value in event.headers:
                    headers.setdefault(bytes(name), bytes(value))
                if len(event.target) + sum(len(n) + len(v) + 4 for n, v in event.headers) > MAX_HEAD:
                    await self._reply(writer, conn, (431, {"error": "request_header_fields_too_large",
                                                            "message": "the request's head is over 16 KiB"}))
                    return False
                wrong = self._route(event.method, event.target)
                if wrong is not None:
                    method = event.method.decode("ascii", "replace")
                    await self._reply(writer, conn, wrong, method if method in COUNTED_METHODS else "other",
                                      ROUTE if wrong[0] == 405 else "unmatched")
                    return False
                refused = self._refusal(headers, peer)
                if refused is not None:  # answered without reading the body; the connection then closes
                    await self._reply(writer, conn, refused)
                    return False
                if int(headers.get(b"content-length", b"0") or 0) > self.max_body:
                    await self._reply(writer, conn, self._too_large())
                    return False
                parts: list[bytes] = []
                size = 0
                while True:
                    part = await self._event(reader, conn)
                    if isinstance(part, h11.EndOfMessage):
                        break
                    if isinstance(part, h11.ConnectionClosed):
                        return False
                    size += len(part.data)
                    if size > self.max_body:  # chunked bodies are counted as they come
                        await self._reply(writer, conn, self._too_large())
                        return False
                    parts.append(bytes(part.data))
        except h11.RemoteProtocolError as exc:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                status = exc.error_status_hint
                await self._reply(writer, conn, error_answer(
                    status, "bad_request" if status == 400 else "request_header_fields_too_large",
                    "the request is not well-formed HTTP/1.1"))
            return False
        answer = await self._answer(b"".join(parts))
        await self._reply(writer, conn, answer)
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    @staticmethod
    async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Close after a refusal as browsers and curl expect: our side first, then what the client still
        sends is read and dropped (for up to 2 s), so its unread body does not turn into a reset that
        loses the answer on its way."""
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(2.0):
                while await reader.read(65536):
                    pass

    async def _reply(self, writer: asyncio.StreamWriter, conn: h11.Connection, answer: Answer,
                     method: str = "POST", rule: str = ROUTE) -> None:
        """Send ``answer`` and count it as Flask's request counter does (``rule``: ``unmatched`` for another path)."""
        self._count(answer[0], method, rule)
        await self._send(writer, conn, answer)
