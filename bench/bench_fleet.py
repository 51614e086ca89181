"""FLEET: what monitoring a fleet costs, measured on a real one (tests/ops/fleet_rig.py): N real gateways
(`kiosk gateway` processes) scraped by a real Prometheus configured by `kiosk fleet targets`.

- ``FLEET-scrape``: one terminal's scrape as Prometheus times it (``scrape_duration_seconds``, median over
  every target and scrape of a minute); anchor: the same ``/metrics`` fetched by a plain client, one at a time.
- ``FLEET-series``: series per terminal (``scrape_samples_scraped``).
- ``FLEET-prom-mem``: Prometheus' resident memory per terminal: the growth from SMALL to N terminals (the
  configuration reloaded with more per-terminal jobs), divided by the terminals added.
- ``FLEET-1k`` / ``FLEET-10k``: Prometheus memory extrapolated linearly (base + per terminal × N), with the
  ingestion rate at the shipped 30 s interval in the note.
- ``FLEET-gw-mem``: one gateway's resident memory (what the fleet test's 50 cost this machine).

The rig scrapes every second (the fleet test's pace) so a minute holds many scrapes; at the shipped 30 s
Prometheus holds the same series (memory is per series, not per scrape).

    .venv/bin/python -m bench.run --only FLEET
"""

from __future__ import annotations

import signal
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench.common import Figure, median, percentile

N = 50
SMALL = 10
SETTLE_S = 45
MIB = 2**20


def _prom_rss(rig: object) -> int:
    from tests.ops.fleet_rig import rss_bytes  # lazy: the rig is test code, loaded only for this figure

    return rss_bytes(rig.prometheus.pid)  # type: ignore[attr-defined]


def run(quick: bool) -> list[Figure]:
    from tests.ops.fleet_rig import FleetRig, wait_for  # lazy: see above

    n = 20 if quick else N
    small = 5 if quick else SMALL
    settle = 20 if quick else SETTLE_S
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        rig = FleetRig(Path(tmp), n=n)
        try:
            rig.start_platform()
            rig.start_gateways()
            rig.start_heartbeats()
            for t in rig.terminals:
                rig.submit(t)
            everyone = rig.terminals
            rig.terminals = everyone[:small]  # Prometheus first watches SMALL terminals
            rig.start_monitoring(with_alertmanager=False)
            wait_for("small fleet scraped", lambda: rig.scalar('count(up{job="kiosk"} == 1)') == small, 120)
            time.sleep(settle)
            rss_small = statistics.median(_prom_rss(rig) for _ in range(5))
            series_small = rig.scalar('count({__name__=~".+"})') or 0.0
            rig.terminals = everyone  # the inventory grows to N: regenerate and reload (SIGHUP)
            rig.write_inventory()
            rig.provision_tokens_for(everyone[small:])
            done = rig.kiosk("fleet", "targets", "--inventory", str(rig.root / "fleet.yml"), "--out",
                             str(rig.root / "prometheus"), "--tokens", str(rig.root / "prometheus" / "tokens"),
                             "--rules", str(rig.root / "prometheus" / "kiosk-alerts.yml"), "--scrape-interval", "1s",
                             "--evaluation-interval", "1s", "--scrape-timeout", "1s")
            assert done.returncode == 0, done.stderr
            rig.prometheus.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
            wait_for("whole fleet scraped", lambda: rig.scalar('count(up{job="kiosk"} == 1)') == n, 120)
            time.sleep(settle)
            rss_n = statistics.median(_prom_rss(rig) for _ in range(5))
            durations = [float(v[1]) for s in rig.query('scrape_duration_seconds{job="kiosk"}[60s]')
                         for v in s["values"]]
            samples = rig.scalar('avg(scrape_samples_scraped{job="kiosk"})') or 0.0
            series_n = rig.scalar('count({__name__=~".+"})') or 0.0
            t = rig.terminals[0]
            token = (rig.root / "prometheus" / "tokens" / f"{t.id}.token").read_text().strip()
            direct = []
            for _ in range(20 if quick else 100):
                started = time.perf_counter()
                requests.get(t.url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
                direct.append(time.perf_counter() - started)
            gw_mem = rig.memory()["gateways"] / n
        finally:
            rig.close()
    per_terminal = max(0.0, (rss_n - rss_small) / (n - small))
    base = rss_n - per_terminal * n

    def at(count: int) -> float:
        return (base + per_terminal * count) / 2**30

    ingest = samples / 30.0
    return [
        Figure("FLEET-scrape", f"One terminal's scrape as Prometheus times it ({n} gateways, 1 s interval)",
               round(median(durations) * 1000, 1), "ms", "informational", None,
               anchor="GET /metrics one at a time", anchor_value=round(median(direct) * 1000, 1),
               ratio=round(median(durations) / median(direct), 1) if direct else None,
               note=f"p95 {percentile(durations, 95) * 1000:.1f} ms over {len(durations)} scrapes; 2 CPUs shared "
                    f"by {n} gateways, Prometheus and the heartbeats"),
        Figure("FLEET-series", "Series per terminal (samples per scrape)", round(samples, 0), "series",
               "informational", None, note=f"Prometheus head series {series_small:.0f} at {small}, "
                                           f"{series_n:.0f} at {n} terminals"),
        Figure("FLEET-prom-mem", "Prometheus memory per terminal (RSS growth from "
               f"{small} to {n} terminals)", round(per_terminal / MIB, 2), "MiB", "informational", None,
               note=f"RSS {rss_small / MIB:.0f} MiB at {small}, {rss_n / MIB:.0f} MiB at {n}"),
        Figure("FLEET-1k", "Prometheus memory for 1,000 terminals (extrapolated)", round(at(1000), 2), "GiB",
               "informational", None, note=f"{1000 * ingest:.0f} samples/s at the shipped 30 s interval"),
        Figure("FLEET-10k", "Prometheus memory for 10,000 terminals (extrapolated)", round(at(10000), 2), "GiB",
               "informational", None, note=f"{10000 * ingest:.0f} samples/s at 30 s; 10,000 per-terminal jobs"),
        Figure("FLEET-gw-mem", "One gateway process's resident memory", round(gw_mem / MIB, 0), "MiB",
               "informational", None, note=f"{n} gateways measured together"),
    ]
