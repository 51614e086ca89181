"""A measured prototype, not the gateway (issue 25, P6 step 3): the kiosk door's submission route
served from one asyncio event loop instead of waitress + Flask, to see how near the disk that stack
gets with the door's checks kept.

    .venv/bin/python -m bench.proto_async_door            # prints the figures (same load as bench P6)
    .venv/bin/python -m bench.proto_async_door --parser h11   # the same door behind h11's HTTP/1.1 parser

What it keeps of ``POST /api/v1/submissions``: no forwarding headers (403), a loopback peer (403),
``Host`` the loopback name (421), ``Origin`` / ``Sec-Fetch-Site`` (403), the door secret in
``X-Kiosk-Door`` (401), ``application/json`` only (415), the body limit (413), strict JSON
(:func:`local_api.web.jsonio.read_json`), the string cleaning (``clean_json``), the pydantic
``SubmissionBody``, the catalog's item codes, the free-space check (``FreeSpace``) and the
group-committed, sealed, fsync'd ``Outbox.accept_once`` (8 worker threads, as waitress has), with the
real ``Forwarder`` delivering to the platform simulator meanwhile. What it leaves out: every other
route, metrics, the audit hook, Flask-Limiter's per-request pass (no limit applies to this route),
keep-alive limits and timeouts — a real server (uvicorn / hypercorn) would bring those back.

``--parser h11`` puts the same door behind h11 (the well-kept sans-I/O HTTP/1.1 parser uvicorn and
httpcore use) instead of the hand-split request head: strict request lines and headers (400),
headers capped at 16 KiB (431), chunked bodies and pipelining handled by h11, the body limit counted
as it arrives (413), and a 10 s deadline for a request's head and body (slowloris). It measures what a
robust parser costs on this stack.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h11
from pydantic import ValidationError

from bench.bench_gateway import (
    APPLICANT,
    CLIENTS,
    FORM,
    ROOT,
    SECRET,
    cpu_seconds,
    item_code,
    load,
    raw_insert_rate,
)
from bench.common import median, percentile
from local_api.files import FreeSpace
from local_api.link.client import PlatformClient
from local_api.outbox.crypto import KEY_FILE_NAME, Sealer
from local_api.outbox.forwarder import Forwarder
from local_api.outbox.store import Outbox, OutboxError
from local_api.server import catalog_item_codes, start_platform_sim
from local_api.timestamps import iso
from local_api.web.bodies import SubmissionBody, clean_json
from local_api.web.door import write_door_secret
from local_api.web.jsonio import JSONRefused, read_json

MAX_BODY = 16 * 1024 * 1024
MAX_HEAD = 16 * 1024
HEAD_TIMEOUT_S = 10.0
FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded", b"x-real-ip")


def _answer(status: int, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    return (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n").encode() + data


class Door:
    def __init__(self, data: Path, platform_url: str) -> None:
        self.outbox = Outbox(data / "outbox.db", Sealer.from_key_file(data / KEY_FILE_NAME), kiosk_id="BENCH-1")
        self.forwarder = Forwarder(self.outbox, PlatformClient(platform_url, SECRET, "BENCH-1", 10),
                                   retry_max_s=60, idle_probe_s=None)
        self.secret = write_door_secret(data / "kiosk-door.secret").encode()
        self.codes = catalog_item_codes()
        self.free = FreeSpace(data)
        self.pool = ThreadPoolExecutor(8)
        self.port = 0

    def check(self, method: bytes, headers: dict[bytes, bytes], peer: str) -> tuple[int, str] | None:
        if any(h in headers for h in FORWARDED):
            return 403, "via_proxy"
        if peer not in ("127.0.0.1", "::1"):
            return 403, "forbidden"
        hosts = {f"{n}:{self.port}".encode() for n in ("127.0.0.1", "localhost", "[::1]")}
        if headers.get(b"host", b"").lower() not in hosts:
            return 421, "wrong_host"
        origin = headers.get(b"origin")
        if origin is not None and origin.lower() not in {b"http://" + h for h in hosts}:
            return 403, "origin_refused"
        if headers.get(b"sec-fetch-site", b"same-origin") not in (b"same-origin", b"none"):
            return 403, "origin_refused"
        if not hmac.compare_digest(headers.get(b"x-kiosk-door", b""), self.secret):
            return 401, "kiosk_door_secret"
        if headers.get(b"content-type", b"").split(b";")[0].strip() != b"application/json":
            return 415, "unsupported_media_type"
        return None

    async def submit(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = SubmissionBody.model_validate(clean_json(read_json(raw)))
        except (JSONRefused, ValidationError, ValueError) as exc:
            return 400, {"error": "bad_request", "message": type(exc).__name__}
        if self.codes is not None and body.item_code not in self.codes:
            return 400, {"error": "bad_request", "field": "item_code"}
        if self.free.free(8 * 1024 * 1024, 2 * len(raw)) - 2 * len(raw) < 8 * 1024 * 1024:
            return 507, {"error": "disk_full"}
        payload = {"applicant": body.applicant.model_dump(), "form": body.form}
        try:
            record, _ = await asyncio.get_running_loop().run_in_executor(
                self.pool, lambda: self.outbox.accept_once(body.kind, body.item_code, payload))
        except OutboxError:
            return 503, {"error": "outbox_unavailable"}
        self.forwarder.wake()
        return 202, {"receipt_no": record.receipt_no, "state": record.state, "accepted_at": iso(record.accepted_at)}

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername")[0])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head[:-4].split(b"\r\n")
                method, path, _ = lines[0].split(b" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get(b"content-length", b"0"))
                if length > MAX_BODY:
                    writer.write(_answer(413, {"error": "payload_too_large"}))
                    return
                raw = await reader.readexactly(length) if length else b""
                refused = self.check(method, headers, peer)
                if refused is not None:
                    status, body = refused[0], {"error": refused[1]}
                elif method == b"POST" and path == b"/api/v1/submissions":
                    status, body = await self.submit(raw)
                else:
                    status, body = 404, {"error": "not_found"}
                writer.write(_answer(status, body))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _h11_send(self, writer: asyncio.StreamWriter, conn: h11.Connection, status: int,
                        body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                   (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
        if status >= 400 and status not in (401, 403, 404, 409, 421):
            headers.append((b"connection", b"close"))  # 400/413/415/431: the stream may be out of step
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=data)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")

    async def _h11_event(self, reader: asyncio.StreamReader, conn: h11.Connection) -> Any:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await reader.read(65536))

    async def h11_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername")[0])
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        try:
            while True:
                try:
                    async with asyncio.timeout(HEAD_TIMEOUT_S):  # a request's head and body, whole
                        event = await self._h11_event(reader, conn)
                        if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                            return
                        assert isinstance(event, h11.Request)
                        headers = {name: value for name, value in event.headers}
                        if len(event.target) + sum(len(n) + len(v) + 4 for n, v in event.headers) > MAX_HEAD:
                            # h11 caps only a head still incomplete; one that came whole in a read is counted here
                            await self._h11_send(writer, conn, 431, {"error": "request_header_too_large"})
                            return
                        length = int(headers.get(b"content-length", b"0"))
                        if length > MAX_BODY:
                            await self._h11_send(writer, conn, 413, {"error": "payload_too_large"})
                            return
                        parts, size = [], 0
                        while True:
                            part = await self._h11_event(reader, conn)
                            if isinstance(part, h11.EndOfMessage):
                                break
                            if isinstance(part, h11.ConnectionClosed):
                                return
                            size += len(part.data)
                            if size > MAX_BODY:  # chunked bodies are counted as they come
                                await self._h11_send(writer, conn, 413, {"error": "payload_too_large"})
                                return
                            parts.append(part.data)
                except h11.RemoteProtocolError as exc:
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        status = exc.error_status_hint
                        await self._h11_send(writer, conn, status, {"error": "bad_request" if status == 400
                                                                    else "request_header_too_large"})
                    return
                except TimeoutError:
                    return
                refused = self.check(event.method, headers, peer)
                if refused is not None:
                    status, body = refused[0], {"error": refused[1]}
                elif event.method == b"POST" and event.target == b"/api/v1/submissions":
                    status, body = await self.submit(b"".join(parts))
                else:
                    status, body = 404, {"error": "not_found"}
                await self._h11_send(writer, conn, status, body)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.LocalProtocolError):
            pass
        finally:
            writer.close()

    async def serve(self, parser: str = "streams") -> None:
        handler = self.h11_connection if parser == "h11" else self.connection
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.forwarder.start()
        print(f"PORT {self.port}", flush=True)
        async with server:
            await server.serve_forever()


def _drain(db_path: Path) -> None:
    """Wait until the prototype's forwarder has delivered everything (read from its outbox file)."""
    db = sqlite3.connect(db_path, timeout=10)
    try:
        while db.execute("SELECT count(*) FROM submissions WHERE state IN ('queued', 'sending')").fetchone()[0]:
            time.sleep(0.05)
    finally:
        db.close()


def measure(seconds: float = 5.0, parser: str = "streams") -> dict[str, float]:
    """The prototype under bench P6's load, interleaved with the raw fsync'd insert anchor."""
    sim = start_platform_sim(secret=SECRET)
    with tempfile.TemporaryDirectory(prefix="bench-proto-") as tmp:
        folder = Path(tmp)
        body = folder / "submission.json"
        body.write_text(json.dumps({"kind": "application", "item_code": item_code(), "applicant": APPLICANT,
                                    "form": FORM}, ensure_ascii=False), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "bench.proto_async_door", "--serve", str(folder / "door"),
                                 "--platform", sim.url, "--parser", parser], stdout=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{proc.stdout.readline().decode().split()[1]}"
        secret = folder / "door" / "kiosk-door.secret"
        raw, rates, cpu, one, many = [], [], [], [], []
        try:
            load(url, "/api/v1/submissions", body, 1, 0.5, secret_file=secret)
            for _ in range(3):
                raw.append(raw_insert_rate(folder, seconds / 2))
                one += load(url, "/api/v1/submissions", body, 1, seconds / 2, secret_file=secret)[1]
                _drain(folder / "door" / "outbox.db")
                before = cpu_seconds(proc.pid)
                rate, lat = load(url, "/api/v1/submissions", body, CLIENTS, seconds, secret_file=secret)
                _drain(folder / "door" / "outbox.db")  # its delivery included, as bench P6 counts it
                cpu.append((cpu_seconds(proc.pid) - before) / (rate * seconds))
                rates.append(rate)
                many += lat
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            sim.close()
    return {"rate_8": median(rates), "raw": median(raw), "ratio": median(rates) / median(raw),
            "p50_1_ms": median(one) * 1000, "p99_1_ms": percentile(one, 99) * 1000,
            "p99_8_ms": percentile(many, 99) * 1000, "cpu_per_accept_ms": median(cpu) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", default="")
    parser.add_argument("--platform", default="")
    parser.add_argument("--parser", choices=("streams", "h11"), default="streams")
    args = parser.parse_args()
    if args.serve:
        data = Path(args.serve)
        data.mkdir(mode=0o700, exist_ok=True)
        asyncio.run(Door(data, args.platform).serve(args.parser))
    else:
        print(json.dumps(measure(parser=args.parser)))


if __name__ == "__main__":
    os.environ.setdefault("KIOSK_LOGGING__LEVEL", "WARNING")
    main()
