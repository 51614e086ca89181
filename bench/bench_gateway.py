"""P6: a submission accepted durably (fsync'd) → HTTP answer, over real HTTP on 127.0.0.1.

    .venv/bin/python -m bench.run --only P6 [--quick]

Figures: accept latency p50 and p99 (one client, keep-alive, sequential), and the sustained
accept rate with 8 concurrent clients, against the anchor measured in the same run on the same
disk: raw SQLite inserts (WAL, synchronous=FULL, one commit per insert, a 1 KiB blob like a
sealed submission) from one thread. The platform simulator answers 503 throughout, so the
forwarder keeps its backoff and the figures are the accept path alone.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bench.common import Figure, median, percentile
from kiosk.settings import DOOR_SECRET_FILE_NAME
from local_api.client import GatewayClient

SECRET = "bench-secret-0123456789"
APPLICANT = {"name": "张三", "id_number": "11010519491231002X", "address": "厦门市海沧区测试路1号"}
FORM = {"reason": "合同到期", "phone": "13912345678", "备注": "x" * 300}
CLIENTS = 8


def _raw_insert_rate(folder: Path, seconds: float) -> float:
    db = sqlite3.connect(folder / "anchor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY AUTOINCREMENT, receipt TEXT, payload BLOB)")
    blob = os.urandom(1024)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (receipt, payload) VALUES (?, ?)", (f"R{n}", blob))
        db.execute("COMMIT")
        n += 1
    rate = n / (time.perf_counter() - start)
    db.close()
    return rate


def _gateway(folder: Path) -> tuple[object, subprocess.Popen[bytes], str]:
    """The platform simulator here, the gateway in its own process (`kiosk gateway`), as deployed:
    the benchmark's clients must not share the gateway's interpreter lock."""
    from local_api.server import start_platform_sim
    from local_api.sim.state import Faults

    sim = start_platform_sim(secret=SECRET, faults=Faults(status=503, error_rate=1.0, retry_after_s=3600))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, KIOSK_GATEWAY__DATA_DIR=str(folder / "gw"), KIOSK_GATEWAY__PORT=str(port),
               KIOSK_PLATFORM__SECRET=SECRET, KIOSK_PLATFORM__URL=sim.url, KIOSK_LOGGING__LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "gateway"], env=env, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).resolve().parents[1])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return sim, proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            sim.close()  # type: ignore[attr-defined]
            raise RuntimeError("the gateway did not start for the benchmark")
        time.sleep(0.05)


def _item_code() -> str:
    """An apply item of the packaged catalog (the gateway refuses codes the catalog lacks)."""
    from kiosk.catalog.loading import Catalog, CatalogError

    try:
        return next(i.code for i in Catalog.load().items if i.kind == "apply")
    except (CatalogError, StopIteration):  # no catalog, or one without an apply item
        return "rs-sydj"


def _door(url: str, folder: Path) -> GatewayClient:
    """A connection to the kiosk door as the kiosk app has it (the secret the gateway wrote at start)."""
    return GatewayClient(url, 30, door_secret_file=folder / "gw" / DOOR_SECRET_FILE_NAME)


def _latencies(url: str, folder: Path, n: int) -> list[float]:
    session = _door(url, folder)
    body = {"kind": "application", "item_code": _item_code(), "applicant": APPLICANT, "form": FORM}
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        answer = session.send("POST", "/api/v1/submissions", json=body)
        samples.append(time.perf_counter() - start)
        assert answer.status_code == 202, answer.text
    session.close()
    return samples


def _rate(worker: Callable[[], Callable[[], bool]], seconds: float) -> float:
    """Successes per second of CLIENTS threads, each repeating its own ``worker()`` call until time is up."""
    counts = [0] * CLIENTS
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        once = worker()  # per thread: e.g. its own HTTP session
        while time.perf_counter() < stop:
            counts[i] += bool(once())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def _sustained_rate(url: str, folder: Path, seconds: float) -> float:
    body = {"kind": "application", "item_code": _item_code(), "applicant": APPLICANT, "form": FORM}

    def worker() -> Callable[[], bool]:
        session = _door(url, folder)
        return lambda: session.send("POST", "/api/v1/submissions", json=body).status_code == 202

    return _rate(worker, seconds)


def _store_rate(folder: Path, seconds: float) -> float:
    """The outbox alone (seal + group-committed fsync'd insert), CLIENTS threads, no HTTP: where the
    gateway's time goes when the HTTP rate misses its target."""
    from local_api.outbox.crypto import Sealer
    from local_api.outbox.store import Outbox

    outbox = Outbox(folder / f"store-{time.monotonic_ns()}.db", Sealer(os.urandom(32)), kiosk_id="BENCH-1")
    payload = {"applicant": APPLICANT, "form": FORM}
    try:
        return _rate(lambda: lambda: outbox.accept_once("application", "bench-item", payload)[1], seconds)
    finally:
        outbox.close()


def run(quick: bool) -> list[Figure]:
    """Measure P6; see the module docstring."""
    seconds, n = (2.0, 200) if quick else (5.0, 1000)
    with tempfile.TemporaryDirectory(prefix="bench-gw-", dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        anchors, rates, lat, stores = [], [], [], []
        sim, proc, url = _gateway(folder)
        try:
            _latencies(url, folder, 20)  # warm up connections and code paths
            for _ in range(3):  # interleaved: the anchor and the gateway see the same disk and load
                anchors.append(_raw_insert_rate(folder, seconds / 2))
                lat += _latencies(url, folder, n // 3)
                rates.append(_sustained_rate(url, folder, seconds))
                stores.append(_store_rate(folder, seconds / 2))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            sim.close()  # type: ignore[attr-defined]
    p50, p99 = median(lat) * 1000, percentile(lat, 99) * 1000
    anchor, rate = median(anchors), median(rates)
    return [
        Figure("P6", "gateway accept latency p50 (HTTP, fsync'd)", p50, "ms", "≤ 5 ms", p50 <= 5.0,
               note=f"{len(lat)} sequential submissions, keep-alive"),
        Figure("P6", "gateway accept latency p99 (HTTP, fsync'd)", p99, "ms", "≤ 20 ms", p99 <= 20.0),
        Figure("P6", f"gateway sustained accept rate ({CLIENTS} clients)", rate, "/s",
               "≥ 0.5 × raw fsync'd SQLite inserts", rate / anchor >= 0.5, anchor="raw fsync'd inserts/s",
               anchor_value=anchor, ratio=rate / anchor,
               note="group commit: concurrent accepts share an fsync; bound by Python HTTP handling, see next row"),
        Figure("P6", f"outbox alone: sealed, fsync'd accepts ({CLIENTS} threads, no HTTP)", median(stores), "/s",
               "—", None, anchor="raw fsync'd inserts/s", anchor_value=anchor, ratio=median(stores) / anchor,
               note="the durable store without the HTTP layer, same disk, same run"),
    ]


if __name__ == "__main__":
    for figure in run(quick=True):
        print(figure)
