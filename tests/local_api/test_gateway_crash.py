"""kill -9 of a real gateway process at random points during a stream of submissions while the
platform flaps (TARGETS R1, R2, R5, S1): after restarts every accepted submission is at the
platform exactly once, and no test identity is in clear in the data folder or the logs."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from gateway_rig import SECRET, door_request, identities, wait_for

from local_api.outbox.crypto import KEY_FILE_NAME, Sealer
from local_api.outbox.store import Outbox
from local_api.server import ServerHandle
from local_api.sim.app import create_platform_app
from local_api.sim.state import Faults

ROOT = Path(__file__).resolve().parents[2]
FLAPS = [Faults(), Faults(error_rate=0.5, status=503), Faults(drop=True), Faults(duplicate=True),
         Faults(error_rate=1.0, status=429, retry_after_s=0), Faults(latency_s=0.05), Faults()]


def apply_item_code() -> str:
    """An apply item of the packaged catalog (the gateway checks codes against it when it loads)."""
    from kiosk.catalog.loading import Catalog, CatalogError

    try:
        return next(i.code for i in Catalog.load().items if i.kind == "apply")
    except (CatalogError, StopIteration):  # no catalog, or one without an apply item
        return "rs-sydj"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Chaos:
    """A platform simulator that flaps, and a gateway process that is killed and restarted."""

    def __init__(self, data: Path, log_path: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.data, self.log_path = data, log_path
        self.sim_app = create_platform_app(SECRET, seed=seed)
        self.sim_state = self.sim_app.extensions["platform_sim"]
        self.sim = ServerHandle(self.sim_app, name="sim").start()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.kills = 0

    def start_gateway(self) -> None:
        port = free_port()
        env = dict(os.environ, KIOSK_KIOSK__ID="HC-CHAOS-001", KIOSK_GATEWAY__DATA_DIR=str(self.data),
                   KIOSK_GATEWAY__PORT=str(port), KIOSK_GATEWAY__RETRY_MAX_S="0.2", KIOSK_PLATFORM__URL=self.sim.url,
                   KIOSK_PLATFORM__SECRET=SECRET, KIOSK_PLATFORM__TIMEOUT_S="1", KIOSK_LOGGING__LEVEL="DEBUG")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "gateway"], env=env, cwd=ROOT,
                                         stdout=log, stderr=log)
        self.url = f"http://127.0.0.1:{port}"
        proc = self.proc

        def up() -> bool:
            assert proc.poll() is None, f"gateway exited with {proc.returncode}; see {self.log_path}"
            try:
                return requests.get(self.url + "/health", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_for(up, 60, "gateway start")

    def flap(self) -> None:
        while not self.stop.wait(self.rng.uniform(0.05, 0.3)):
            with self.sim_state.lock:
                self.sim_state.faults = self.rng.choice(FLAPS)

    def killer(self, kills: int) -> None:
        while self.kills < kills and not self.stop.wait(self.rng.uniform(0.1, 0.5)):
            with self.lock:  # never while the stream is restarting the gateway
                if self.proc is not None and self.proc.poll() is None:
                    self.proc.kill()  # SIGKILL: no cleanup, no checkpoint
                    self.kills += 1

    def restart_if_dead(self, wait_s: float = 15.0) -> None:
        with self.lock:
            assert self.proc is not None
            try:
                self.proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                return  # alive: the failure was something else; the caller retries
            self.start_gateway()

    def close(self) -> None:
        self.stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sim.close()


def run_chaos(tmp_path: Path, submissions: int, kills: int, seed: int) -> None:
    people = identities(20)
    code = apply_item_code()
    chaos = Chaos(tmp_path / "data", tmp_path / "gateway.log", seed)
    accepted: dict[str, int] = {}  # receipt → n
    unanswered: set[int] = set()  # sent, but no answer came back: stored or not, never told
    threads = [threading.Thread(target=chaos.flap, name="flapper"),
               threading.Thread(target=chaos.killer, args=(kills,), name="killer")]
    try:
        chaos.start_gateway()
        for t in threads:
            t.start()
        for n in range(submissions):
            person = people[n % len(people)]
            body = {"kind": "application", "item_code": code, "applicant": person, "request_id": f"chaos-{seed}-{n:05d}",
                    "form": {"n": n, "备注": person["name"]}}
            for _ in range(5):
                try:
                    answer = door_request(chaos.data, "POST", chaos.url, "/api/v1/submissions", json=body)
                except requests.RequestException:
                    unanswered.add(n)
                    chaos.restart_if_dead()
                    continue
                assert answer.status_code in (200, 202), answer.text  # 200: a resend found it stored
                accepted[answer.json()["receipt_no"]] = n
                unanswered.discard(n)
                break
        chaos.stop.set()
        for t in threads:
            t.join()
        with chaos.sim_state.lock:
            chaos.sim_state.faults = Faults()
        chaos.restart_if_dead(wait_s=0.5)  # the killer may have struck after the last submission
        assert chaos.kills >= min(kills, 1)

        held = chaos.sim_state.applications
        wait_for(lambda: set(accepted) <= {a.body["receipt_no"] for a in list(held.values())}, 120,
                 "every accepted submission at the platform")
        numbers = Counter(app.body["form"]["n"] for app in list(held.values()))
        assert all(count == 1 for count in numbers.values()), "a submission reached the platform twice"
        assert all(numbers[n] == 1 for n in accepted.values())  # 0 lost
        assert set(numbers) <= set(accepted.values()) | unanswered  # nothing the stream did not send
        receipts = list(accepted)
        assert len(set(receipts)) == len(receipts)
    finally:
        chaos.close()

    box = Outbox(chaos.data / "outbox.db", Sealer.from_key_file(chaos.data / KEY_FILE_NAME), kiosk_id="HC-CHAOS-001")
    try:
        box.integrity_check()
        assert box.counts()["queued"] == 0 and box.counts()["sending"] == 0
    finally:
        box.close()
    stored = b"".join(p.read_bytes() for p in chaos.data.iterdir() if p.is_file())
    logs = chaos.log_path.read_bytes()
    assert b"delivered as" in logs  # the scan does read the log
    for person in people:
        for secret in (person["name"], person["id_number"], person["address"]):
            assert secret.encode() not in stored, "personal data in clear in the data folder"
            assert secret.encode() not in logs, "personal data in the gateway log"


def test_kill_9_during_a_stream_with_a_flapping_platform_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    run_chaos(tmp_path, submissions=80, kills=3, seed=7)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_kill_9_soak_1000_submissions(tmp_path: Path) -> None:
    run_chaos(tmp_path, submissions=1000, kills=25, seed=int(time.time()))
