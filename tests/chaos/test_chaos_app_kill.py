"""Chaos (TARGETS R1, S1): the kiosk app killed with SIGKILL at random points of its journeys, the
gateway killed too, while the platform flaps.

Real processes at every edge: the app (tests/chaos/app_runner.py: the real KioskApp, headless,
simulated ID card reader and printer, driven by touches) and the gateway (``kiosk gateway``) are
children of this test; the platform simulator serves on 127.0.0.1 and changes its faults every
0.05–0.3 s (errors, 429 with Retry-After, dropped answers, served-then-failed duplicates, latency).

What a resident and an operator would notice, checked after the storm:
- every application whose receipt number the app showed is at the platform, under that receipt
  number, with the form the app typed — exactly once (one application per journey's token);
- nothing reached the platform that no journey sent; the gateway answers ``/health`` after all of it;
- no test identity's ID number, name or address in clear in the gateway's data folder, the app's
  temp folder, the journal or either log; the outbox passes its integrity check with nothing stuck.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from chaos_rig import (
    KIOSK_ID,
    ROOT,
    FlappingPlatform,
    GatewayProcess,
    chaos_seed,
    env_int,
    scan_for_personal_data,
    wait_for,
)

from local_api.outbox.crypto import KEY_FILE_NAME, Sealer
from local_api.outbox.store import Outbox

RUNNER = Path(__file__).with_name("app_runner.py")
MAX_KILL_DELAY_S = 7.0  # an app start plus about two journeys: kills land anywhere in a journey


def journal_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pass  # a line cut short by SIGKILL mid-write: it was never fsync'd, so it never happened
    return events


class AppChaos:
    """The app runner started, killed and started again; the gateway killed once in a while."""

    def __init__(self, tmp: Path, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.tmp = tmp
        self.journal = tmp / "journal.jsonl"
        self.app_tmp = tmp / "app-tmp"
        self.app_tmp.mkdir()
        self.app_log = tmp / "app.log"
        self.platform = FlappingPlatform(seed)
        self.gateway = GatewayProcess(tmp / "gateway-data", tmp / "gateway.log", self.platform.url)
        self.app_kills = 0
        self.app_starts = 0
        self.failed_journeys = 0

    def start_app(self, tag: str, journeys: int = 0) -> subprocess.Popen[bytes]:
        # The gateway's data folder, as under systemd: the app reads the kiosk door's secret there.
        env = dict(os.environ, TMPDIR=str(self.app_tmp), KIOSK_KIOSK__ID=KIOSK_ID,
                   KIOSK_GATEWAY__DATA_DIR=str(self.gateway.data_dir))
        with open(self.app_log, "ab") as log:
            proc = subprocess.Popen([sys.executable, str(RUNNER), "--gateway-url", self.gateway.url,
                                     "--journal", str(self.journal), "--tag", tag, "--journeys", str(journeys)],
                                    cwd=ROOT, env=env, stdout=log, stderr=log)
        self.app_starts += 1
        wait_for(lambda: proc.poll() is not None or any(
            e.get("event") == "ready" and e.get("pid") == proc.pid for e in journal_events(self.journal)),
            90, f"the app to start (seed {self.seed}; log {self.app_log})")
        assert proc.poll() is None, f"the app exited at start with {proc.returncode}; see {self.app_log}"
        return proc

    def round(self, n: int, kill_gateway: bool) -> None:
        proc = self.start_app(f"s{self.seed}r{n:03d}")
        delay = self.rng.uniform(0.0, MAX_KILL_DELAY_S)
        gateway_at = self.rng.uniform(0.0, delay) if kill_gateway else None
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < delay:
            if gateway_at is not None and time.monotonic() - started >= gateway_at:
                self.gateway.kill()
                self.gateway.start()  # as `kiosk run` would, while the app keeps going
                gateway_at = None
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()  # SIGKILL: mid-touch, mid-submit, mid-print — wherever it is
            self.app_kills += 1
        code = proc.wait(timeout=30)
        if code == 3:  # the runner gave up a journey (the gateway was down): allowed, counted
            self.failed_journeys += 1
        else:
            assert code in (0, -9), f"the app ended with {code} (seed {self.seed}); see {self.app_log}"
        if self.gateway.proc is not None and self.gateway.proc.poll() is not None:
            self.gateway.start()

    def close(self) -> None:
        try:
            self.gateway.close()
        finally:
            self.platform.close()


def run_app_chaos(tmp_path: Path, rounds: int, seed: int, gateway_kill_every: int) -> dict[str, Any]:
    chaos = AppChaos(tmp_path, seed)
    ctx = f"seed {seed}"
    try:
        chaos.gateway.start()
        chaos.platform.start_flapping()
        for n in range(rounds):
            chaos.round(n, kill_gateway=n % gateway_kill_every == gateway_kill_every - 1)
        # After the storm a fresh app finishes a journey while the platform still flaps.
        last = chaos.start_app(f"s{seed}final", journeys=1)
        assert last.wait(timeout=120) == 0, f"the app could not finish a journey after the storm ({ctx})"
        chaos.platform.calm()

        events = journal_events(chaos.journal)
        typed = {e["token"] for e in events if e.get("event") == "typed"}
        shown = {e["token"]: e["receipt"] for e in events if e.get("event") == "receipt"}
        assert shown, f"no journey got as far as a receipt ({ctx}); see {chaos.app_log}"
        assert all(receipt.startswith(KIOSK_ID) for receipt in shown.values()), shown
        wait_for(lambda: set(shown.values()) <= chaos.platform.receipts(), 120,
                 f"every receipt the app showed to be at the platform ({ctx})")
        with chaos.platform.state.lock:
            by_receipt = {str(a.body.get("receipt_no")): dict(a.body.get("form") or {})
                          for a in chaos.platform.state.applications.values()}
        for token, receipt in shown.items():
            assert by_receipt[receipt].get("matter") == token, f"{receipt} holds another journey's form ({ctx})"
        at_platform = Counter(form.get("matter") for form in by_receipt.values())
        twice = {token: n for token, n in at_platform.items() if n > 1}
        assert not twice, f"applications at the platform twice: {twice} ({ctx})"
        assert set(at_platform) <= typed, f"the platform holds applications no journey sent ({ctx})"
        assert chaos.gateway.healthy(), f"the gateway is not healthy after the storm ({ctx})"

        wait_for(chaos.gateway.drained, 120, f"the outbox to drain (ratings included) ({ctx})")
    finally:
        chaos.close()

    box = Outbox(chaos.gateway.data_dir / "outbox.db", Sealer.from_key_file(chaos.gateway.data_dir / KEY_FILE_NAME),
                 kiosk_id=KIOSK_ID)
    try:
        box.integrity_check()
    finally:
        box.close()
    hits = scan_for_personal_data([chaos.gateway.data_dir, chaos.app_tmp, chaos.journal,
                                   chaos.gateway.log_path, chaos.app_log])
    assert not hits, f"personal data in clear after the storm ({ctx}): {hits}"
    figures = {"seed": seed, "rounds": rounds, "app_kills": chaos.app_kills, "gateway_kills": chaos.gateway.kills,
               "journeys_with_receipt": len(shown), "journeys_given_up": chaos.failed_journeys,
               "tokens_sent": len(typed), "at_platform": sum(at_platform.values()), "duplicates": len(twice),
               "platform_flaps": chaos.platform.flaps}
    print("app chaos:", json.dumps(figures))
    assert chaos.app_kills >= 1, f"no app was killed mid-run ({ctx}): the test proved nothing"
    return figures


def test_app_killed_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    run_app_chaos(tmp_path, rounds=env_int("CHAOS_ROUNDS", 3), seed=chaos_seed(11), gateway_kill_every=2)


@pytest.mark.soak
@pytest.mark.timeout(3 * 3600)
def test_app_kill_soak(tmp_path: Path) -> None:
    run_app_chaos(tmp_path, rounds=env_int("CHAOS_ROUNDS", 60), seed=chaos_seed(None), gateway_kill_every=3)
