"""P6: a submission accepted durably (fsync'd) → HTTP answer, over real HTTP on 127.0.0.1.

    .venv/bin/python -m bench.run --only P6 [--quick]

The gateway runs in its own process (``kiosk gateway``) and the load comes from another
(``bench/gw_load.py``: one asyncio loop, raw streams, keep-alive), so no client shares the
gateway's interpreter lock. The platform simulator accepts everything: the forwarder delivers
while the load runs, as it does on a busy terminal.

The load goes where the kiosk app sends its submissions: the gateway's event-loop submission door
(``local_api/web/fast_door.py``, its port read from ``kiosk-fast-door.port`` in the data folder, as
``GatewayClient`` does); the Flask door's route is loaded too, for the before/after in the same run.

Figures: accept latency p50/p99 with one client (sequential), the sustained accept rate and its
p99 with 8 concurrent clients, the gateway's own CPU per accept with its delivery
(``/proc/<pid>/stat`` over the 8-client run and until the forwarder has delivered the backlog it
left) and the forwarder's delivery rate on a backlog (accepted by 8 clients while the platform answers
503, then drained: the pace after an outage, when deliveries go in batches). Two anchors, measured in the same run on the same disk and
interleaved with the gateway's runs:

- raw SQLite inserts (WAL, synchronous=FULL, one commit per insert, a 1 KiB blob like a sealed
  submission) from one thread: the disk's floor;
- the smallest Flask app served by waitress as the gateway is (``bench/gw_anchor_app.py``: parse
  the JSON body, answer 202, store nothing), loaded by the same client: the stack's ceiling.
"""

from __future__ import annotations

import json
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
from kiosk.settings import DOOR_SECRET_FILE_NAME, FAST_DOOR_PORT_FILE_NAME

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789"
APPLICANT = {"name": "张三", "id_number": "11010519491231002X", "address": "厦门市海沧区测试路1号"}
FORM = {"reason": "合同到期", "phone": "13912345678", "备注": "x" * 300}
CLIENTS = 8


def raw_insert_rate(folder: Path, seconds: float) -> float:
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
    """The platform simulator here (accepting: the forwarder delivers), the gateway in its own process
    (`kiosk gateway`), as deployed."""
    from local_api.server import start_platform_sim

    sim = start_platform_sim(secret=SECRET)
    port = _free_port()
    env = dict(os.environ, KIOSK_GATEWAY__DATA_DIR=str(folder / "gw"), KIOSK_GATEWAY__PORT=str(port),
               KIOSK_PLATFORM__SECRET=SECRET, KIOSK_PLATFORM__URL=sim.url, KIOSK_LOGGING__LEVEL="WARNING",
               # the platform's outage below ends within a second of the forwarder's next try
               KIOSK_GATEWAY__RETRY_MAX_S="1")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "gateway"], env=env, stderr=subprocess.DEVNULL,
                            cwd=ROOT)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flask_anchor() -> tuple[subprocess.Popen[bytes], str]:
    """The smallest Flask + waitress endpoint, in its own process (``bench/gw_anchor_app.py``)."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.gw_anchor_app"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().split()
    if len(line) != 2 or line[0] != "PORT":
        proc.kill()
        raise RuntimeError("the Flask anchor did not start for the benchmark")
    return proc, f"http://127.0.0.1:{line[1]}"


def item_code() -> str:
    """An apply item of the packaged catalog (the gateway refuses codes the catalog lacks)."""
    from kiosk.catalog.loading import Catalog, CatalogError

    try:
        return next(i.code for i in Catalog.load().items if i.kind == "apply")
    except (CatalogError, StopIteration):  # no catalog, or one without an apply item
        return "rs-sydj"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (``/proc/<pid>/stat`` utime and stime, every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, path: str, body: Path, clients: int, seconds: float, *, secret_file: Path | None = None,
          status: int = 202) -> tuple[float, list[float]]:
    """Run the lean client process (``bench/gw_load.py``); (answers/s, latencies in s)."""
    args = [sys.executable, "-m", "bench.gw_load", "--url", url, "--path", path, "--body-file", str(body),
            "--clients", str(clients), "--seconds", str(seconds), "--status", str(status)]
    if secret_file is not None:
        args += ["--secret-file", str(secret_file)]
    out = subprocess.run(args, capture_output=True, check=True, cwd=ROOT, timeout=seconds + 60)
    result = json.loads(out.stdout)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} answers were not {status} during the benchmark")
    return result["ok"] / result["elapsed"], result["latencies"]


def pending(url: str) -> int:
    """Submissions the forwarder has still to deliver (``/health``'s outbox counts, given to loopback)."""
    counts = requests.get(url + "/health", timeout=10).json()["outbox"]
    return int(counts.get("queued", 0)) + int(counts.get("sending", 0))


def drain(url: str, limit_s: float = 300.0) -> float:
    """Wait until the forwarder has delivered everything; seconds it took."""
    start = time.perf_counter()
    while pending(url) and time.perf_counter() - start < limit_s:
        time.sleep(0.05)
    return time.perf_counter() - start


def drain_rate(url: str, limit_s: float = 300.0) -> float:
    """Submissions delivered per second while a backlog drains: from the first drop of the pending count
    (the forwarder's first try after the outage has gone through) until nothing is pending."""
    start = time.perf_counter()
    first = pending(url)
    while (left := pending(url)) >= first and time.perf_counter() - start < limit_s:
        time.sleep(0.01)
    t0 = time.perf_counter()
    while pending(url) and time.perf_counter() - start < limit_s:
        time.sleep(0.01)
    took = time.perf_counter() - t0
    return left / took if took > 0 and left else float("nan")


def _platform_down(sim_url: str, down: bool) -> None:
    faults = {"error_rate": 1.0, "status": 503} if down else {}
    requests.post(sim_url + "/admin/faults", json=faults, timeout=10).raise_for_status()


def _rate(worker: Callable[[], Callable[[], bool]], seconds: float) -> float:
    """Successes per second of CLIENTS threads, each repeating its own ``worker()`` call until time is up."""
    counts = [0] * CLIENTS
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        once = worker()  # per thread
        while time.perf_counter() < stop:
            counts[i] += bool(once())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


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
    seconds = 2.0 if quick else 5.0
    with tempfile.TemporaryDirectory(prefix="bench-gw-", dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        body = folder / "submission.json"
        body.write_text(json.dumps({"kind": "application", "item_code": item_code(), "applicant": APPLICANT,
                                    "form": FORM}, ensure_ascii=False), encoding="utf-8")
        raw, flask, one, rates, cpu, stores, delivery, old_rates = [], [], [], [], [], [], [], []
        left: list[int] = []
        seq_lat: list[float] = []
        many_lat: list[float] = []
        old_lat: list[float] = []
        sim, proc, flask_url = _gateway(folder)
        anchor_proc, anchor_url = _flask_anchor()
        secret = folder / "gw" / DOOR_SECRET_FILE_NAME
        port_file = folder / "gw" / FAST_DOOR_PORT_FILE_NAME
        # Where the app sends submissions: the event-loop door when the gateway has one (as GatewayClient).
        url = f"http://127.0.0.1:{int(port_file.read_text())}" if port_file.exists() else flask_url
        try:
            load(url, "/api/v1/submissions", body, 1, 0.5, secret_file=secret)  # warm up code paths
            load(flask_url, "/api/v1/submissions", body, 1, 0.5, secret_file=secret)
            load(anchor_url, "/noop", body, 1, 0.5)
            for _ in range(3):  # interleaved: the anchors and the gateway see the same disk and load
                raw.append(raw_insert_rate(folder, seconds / 2))
                flask.append(load(anchor_url, "/noop", body, CLIENTS, seconds)[0])
                rate, lat = load(url, "/api/v1/submissions", body, 1, seconds / 2, secret_file=secret)
                one.append(rate)
                seq_lat += lat
                drain(flask_url)  # the 1-client run's backlog is not this run's
                before = cpu_seconds(proc.pid)
                rate, lat = load(url, "/api/v1/submissions", body, CLIENTS, seconds, secret_file=secret)
                backlog = pending(flask_url)
                drain(flask_url)
                cpu.append((cpu_seconds(proc.pid) - before) / (rate * seconds))
                left.append(backlog)
                # The forwarder's own pace: a backlog accepted while the platform is down, then drained.
                _platform_down(sim.url, True)  # type: ignore[attr-defined]
                load(url, "/api/v1/submissions", body, CLIENTS, seconds / 2, secret_file=secret)
                _platform_down(sim.url, False)  # type: ignore[attr-defined]
                delivery.append(drain_rate(flask_url))
                rates.append(rate)
                many_lat += lat
                if url != flask_url:  # the Flask door's route under the same load: before/after in one run
                    rate, lat = load(flask_url, "/api/v1/submissions", body, CLIENTS, seconds, secret_file=secret)
                    drain(flask_url)
                    old_rates.append(rate)
                    old_lat += lat
                stores.append(_store_rate(folder, seconds / 2))
        finally:
            anchor_proc.terminate()
            proc.terminate()
            anchor_proc.wait(timeout=30)
            proc.wait(timeout=30)
            sim.close()  # type: ignore[attr-defined]
    p50, p99 = median(seq_lat) * 1000, percentile(seq_lat, 99) * 1000
    p99_many = percentile(many_lat, 99) * 1000
    anchor, rate, ceiling = median(raw), median(rates), median(flask)
    per_accept = median(cpu) * 1000
    door = "the event-loop submission door" if old_rates else "the Flask door (gateway.fast_door off)"
    before: list[Figure] = []
    if old_rates:
        old_rate, old_p99 = median(old_rates), percentile(old_lat, 99) * 1000
        before = [
            Figure("P6", f"gateway sustained accept rate ({CLIENTS} clients) through the Flask door's route",
                   old_rate, "/s", "— (before: waitress + Flask)", None, anchor="raw fsync'd inserts/s",
                   anchor_value=anchor, ratio=old_rate / anchor,
                   note=f"p99 {old_p99:.1f} ms; the same gateway and load, POST /api/v1/submissions on its Flask door"),
        ]
    return [
        Figure("P6", "gateway accept latency p50 (HTTP, fsync'd, 1 client)", p50, "ms", "≤ 5 ms", p50 <= 5.0,
               note=f"{len(seq_lat)} sequential submissions, keep-alive, the forwarder delivering"),
        Figure("P6", "gateway accept latency p99 (HTTP, fsync'd, 1 client)", p99, "ms", "≤ 20 ms", p99 <= 20.0),
        Figure("P6", f"gateway accept latency p99 ({CLIENTS} clients, the forwarder delivering)", p99_many, "ms",
               "≤ 20 ms", p99_many <= 20.0, note=f"{len(many_lat)} submissions from {CLIENTS} keep-alive connections"),
        Figure("P6", f"gateway sustained accept rate ({CLIENTS} clients)", rate, "/s",
               "≥ 0.5 × raw fsync'd SQLite inserts", rate / anchor >= 0.5, anchor="raw fsync'd inserts/s",
               anchor_value=anchor, ratio=rate / anchor,
               note=f"through {door}; load from a separate asyncio client process (bench/gw_load.py); the "
                    "forwarder delivers meanwhile"),
        Figure("P6", f"gateway sustained accept rate ({CLIENTS} clients) against Flask + waitress", rate, "/s",
               "— (the stack's ceiling)", None, anchor="no-op Flask + waitress answers/s", anchor_value=ceiling,
               ratio=rate / ceiling,
               note=f"the no-op endpoint itself reaches {ceiling / anchor:.2f}× raw fsync'd inserts"),
        Figure("P6", "gateway CPU per accept, its delivery included (8 clients)", per_accept, "ms", "—", None,
               note="utime + stime of the gateway process over the 8-client run and the delivery of its backlog, "
                    "/ accepts"),
        Figure("P6", "forwarder delivery rate (a backlog left by a platform outage, drained)", median(delivery), "/s",
               "—", None,
               note=f"submissions accepted by {CLIENTS} clients while the platform answered 503, then delivered "
                    "(batches of up to 50, POST /v1/submissions/batch) / time from the first delivery until the outbox "
                    f"is drained; the platform simulator in the benchmark's process; backlog left by the {CLIENTS}-client "
                    f"run itself: {median([float(x) for x in left]):.0f}"),
        Figure("P6", f"outbox alone: sealed, fsync'd accepts ({CLIENTS} threads, no HTTP)", median(stores), "/s",
               "—", None, anchor="raw fsync'd inserts/s", anchor_value=anchor, ratio=median(stores) / anchor,
               note="the durable store without the HTTP layer, same disk, same run"),
        *before,
    ]


if __name__ == "__main__":
    for figure in run(quick=True):
        print(figure)
