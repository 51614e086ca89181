"""A terminal switched from ``security.suite = "intl"`` to ``"sm"`` while residents keep submitting
(issue 27): the gateway (``kiosk gateway``, its own process) restarts with the new suite as ``kiosk run``
would after the settings change, the kiosk app's client resends what got no answer (same request id), and
the platform simulator — which accepts both suites while its kiosks switch — ends up with every submission
exactly once. Rows queued before the switch are delivered from their AES-256-GCM blobs; rows accepted after
it are SM4-GCM, signed HMAC-SM3.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests
from chaos_rig import FlappingPlatform, GatewayProcess, chaos_seed, wait_for

from devices.id_card.identity import sample_cards
from local_api.outbox.crypto import KEYS, Sealer
from local_api.sim.state import Faults

pytestmark = pytest.mark.timeout(240)
SUBMISSIONS = 40


class Submitter:
    """The kiosk app's side: one submission after another, each resent with its request id until the
    gateway answers it (a gateway restarting answers nothing for a moment)."""

    def __init__(self, gateway: GatewayProcess) -> None:
        self.gateway = gateway
        self.accepted: dict[str, str] = {}  # token → receipt number
        self.resends = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="submitter", daemon=True)
        card = sample_cards()[0]
        self.applicant = {"name": card.name, "id_number": card.id_number}

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=180)
        assert not self._thread.is_alive(), "the submitter did not finish"

    def _run(self) -> None:
        for n in range(SUBMISSIONS):
            token = f"rekey-{n:03d}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    answer = self.gateway.submit(token, self.applicant, f"req-{token}", timeout_s=5)
                except requests.RequestException:
                    answer = None
                if answer is not None and answer.status_code in (200, 201, 202):
                    self.accepted[token] = answer.json()["receipt_no"]
                    break
                if answer is not None and answer.status_code < 500:
                    self.errors.append(f"{token}: HTTP {answer.status_code} {answer.text[:200]}")
                    break
                self.resends += 1
                if time.monotonic() > deadline:
                    self.errors.append(f"{token}: no answer for 60 s")
                    break
                time.sleep(0.05)
            time.sleep(0.02)


def sealed_with(data_dir: Path) -> dict[str | None, int]:
    """How many outbox rows each suite's key sealed (delivered rows keep their blob until purged)."""
    with sqlite3.connect(data_dir / "outbox.db") as db:
        rows = [Sealer.suite_of(bytes(blob)) for (blob,) in db.execute("SELECT payload FROM submissions")]
    return {suite: rows.count(suite) for suite in set(rows)}


def test_switching_to_sm_while_submissions_flow_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    seed = chaos_seed(27)
    platform = FlappingPlatform(seed)
    gateway = GatewayProcess(tmp_path / "gateway-data", tmp_path / "gateway.log", platform.url,
                             env={"KIOSK_SECURITY__SUITE": "intl"})
    submitter = Submitter(gateway)
    try:
        gateway.start()
        platform.start_flapping()  # some delivered under intl, some left queued for the new suite to send
        submitter.start()
        wait_for(lambda: len(submitter.accepted) >= SUBMISSIONS // 3, 60, "a third of the submissions accepted")
        platform.set_faults(Faults(error_rate=1.0, status=503))
        platform.calm()
        platform.set_faults(Faults(error_rate=1.0, status=503))  # the intl rows wait across the switch
        gateway.close()  # the settings change: kiosk run restarts the gateway with security.suite = "sm"
        gateway.env["KIOSK_SECURITY__SUITE"] = "sm"
        gateway.start()
        assert (gateway.data_dir / KEYS["sm"].file_name).exists()
        wait_for(lambda: len(submitter.accepted) >= 2 * SUBMISSIONS // 3, 60, "two thirds accepted")
        platform.start_flapping()
        submitter.join()
        platform.calm()
        wait_for(gateway.drained, 90, f"the outbox to drain (seed {seed}; log {gateway.log_path})")

        assert not submitter.errors, submitter.errors
        assert len(submitter.accepted) == SUBMISSIONS
        tokens = [form.get("matter") for form in platform.forms()]
        assert sorted(tokens) == sorted(submitter.accepted), f"lost or duplicated (seed {seed})"
        assert platform.receipts() == set(submitter.accepted.values())
        with platform.state.lock:
            deliveries = [a.deliveries for a in platform.state.applications.values()]
            signed_with = dict(platform.state.signed_with)
        assert len(deliveries) == SUBMISSIONS
        rows = sealed_with(gateway.data_dir)
        assert rows.get("intl", 0) >= SUBMISSIONS // 3 and rows.get("sm", 0) >= SUBMISSIONS // 3, rows
        assert sum(rows.values()) == SUBMISSIONS
        assert signed_with.get("intl") and signed_with.get("sm"), signed_with
        print(f"seed {seed}: rows {rows}, requests signed {signed_with}, resends {submitter.resends}, "
              f"platform flaps {platform.flaps}")
    finally:
        gateway.close()
        platform.close()
