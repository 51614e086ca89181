"""The P6 load: a lean client process (one asyncio loop, raw streams, HTTP/1.1 keep-alive) that keeps
``--clients`` connections busy posting the same request for ``--seconds`` and prints one JSON line:
``{"ok": n, "failed": n, "elapsed": s, "latencies": [s, ...]}`` (latencies of the answers that were the
expected status).

    python -m bench.gw_load --url http://127.0.0.1:PORT --path /api/v1/submissions \
        --body-file body.json [--secret-file kiosk-door.secret] --clients 8 --seconds 5 --status 202

It runs in its own process so the clients never share the server's interpreter lock, and it is
small enough (no HTTP library, no threads) that its own CPU stays a fraction of the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit


def _request(host: str, port: int, path: str, body: bytes, secret: str) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Connection: keep-alive"]
    if secret:
        head.append(f"X-Kiosk-Door: {secret}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code (the body is read and dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _client(host: str, port: int, request: bytes, expect: int, stop: float,
                  latencies: list[float], counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            writer.write(request)
            status = await _answer(reader)
            if status == expect:
                latencies.append(time.perf_counter() - start)
                counts[0] += 1
            else:
                counts[1] += 1
    finally:
        writer.close()


async def _main(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    secret = Path(args.secret_file).read_text(encoding="ascii").strip() if args.secret_file else ""
    request = _request(host, port, args.path, Path(args.body_file).read_bytes(), secret)
    latencies: list[float] = []
    counts = [0, 0]
    start = time.perf_counter()
    stop = start + args.seconds
    await asyncio.gather(*(_client(host, port, request, args.status, stop, latencies, counts)
                           for _ in range(args.clients)))
    return {"ok": counts[0], "failed": counts[1], "elapsed": time.perf_counter() - start, "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--path", default="/api/v1/submissions")
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--secret-file", default="")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--status", type=int, default=202)
    print(json.dumps(asyncio.run(_main(parser.parse_args()))))


if __name__ == "__main__":
    main()
