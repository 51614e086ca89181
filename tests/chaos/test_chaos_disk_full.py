"""Chaos (TARGETS R5, R1): a real full disk under the gateway.

The gateway (``kiosk gateway``, a child process) runs in its own mount namespace with its data
folder on a small tmpfs (``unshare --mount`` + ``mount -t tmpfs -o size=…``, the pattern of
devices/smartcard/pcscd_env.py), so the disk really fills — the kernel answers ENOSPC — without
touching the machine's disks. The test reaches that tmpfs through ``/proc/<gateway pid>/root``.

1. Disk below ``gateway.min_free_mb``, then filled to the last byte: new submissions are refused
   with 507 ``disk_full`` and a message that says so (never a 500), nothing half-stored (the refused
   request id is new when sent again later); the gateway stays up and its own writes (delivery
   bookkeeping) failing on ENOSPC do not kill it; everything accepted before is delivered exactly
   once; once space is freed, new submissions are accepted again.
2. ``min_free_mb = 0`` (no safety margin): the accept path itself meets ENOSPC inside SQLite. Every
   answer is a stored submission (202) or the same clear refusal (507 ``disk_full``), never a
   500; what was refused left nothing behind; what was stored is delivered after space is freed.

Needs root (a private mount). Not root: skipped with a reason saying the check did NOT run.
"""

from __future__ import annotations

import base64
import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from chaos_rig import FlappingPlatform, GatewayProcess, chaos_seed, env_int, scan_for_personal_data, wait_for

from devices.id_card.identity import sample_cards
from kiosk.settings import DOOR_SECRET_FILE_NAME
from local_api.client import GatewayClient
from local_api.sim.state import Faults

MB = 1024 * 1024
LEAVE_BYTES = 16 * 1024  # the free-space check lets a small submission through …
MATERIAL_BYTES = 2 * 1024  # … but its WAL frames (a 4 KB page each for the row and every index) need more
NAMESPACE = 'mount -t tmpfs -o "size=$1" kiosk-chaos-disk "$0" && shift && exec "$@"'


def applicant(n: int) -> dict[str, str]:
    card = sample_cards()[n % len(sample_cards())]
    return {"name": card.name, "id_number": card.id_number, "address": card.address}


def material(size: int) -> list[dict[str, str]]:
    return [{"name": "page-1", "content_type": "image/jpeg", "data": base64.b64encode(os.urandom(size)).decode()}]


class FullDisk:
    """A platform (failing at first, so submissions stay queued) and a gateway on a private tmpfs."""

    def __init__(self, tmp: Path, seed: int, *, size_mb: int, min_free_mb: float) -> None:
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            pytest.skip("the disk-full chaos check did NOT run: it needs root and unshare for a private tmpfs")
        self.seed = seed
        self.platform = FlappingPlatform(seed)
        self.platform.set_faults(Faults(error_rate=1.0, status=503))
        self.data = tmp / "gateway-data"
        self.data.mkdir()
        wrap = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", NAMESPACE, str(self.data),
                f"{size_mb}m"]
        self.gateway = GatewayProcess(self.data, tmp / "gateway.log", self.platform.url, wrap=wrap,
                                      env={"KIOSK_GATEWAY__MIN_FREE_MB": str(min_free_mb)})
        self.accepted: dict[str, str] = {}  # token → receipt number
        self.n = 0

    @property
    def view(self) -> Path:
        """The gateway's data folder as the gateway sees it: the tmpfs inside its namespace."""
        return Path(f"/proc/{self.gateway.pid}/root") / str(self.data).lstrip("/")

    def free(self) -> int:
        return shutil.disk_usage(self.view).free

    def fill(self, leave_bytes: int = 0) -> int:
        """Write a ballast file until only ``leave_bytes`` are free (0: until the kernel says ENOSPC)."""
        written = 0
        with open(self.view / "ballast", "ab") as f:
            while True:
                want = self.free() - leave_bytes
                if want <= 0:
                    break
                try:
                    f.write(b"\0" * min(want, MB))
                    f.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
                written += min(want, MB)
        return written

    def unfill(self) -> None:
        (self.view / "ballast").unlink()

    def submit(self, request_id: str, materials_size: int = 0) -> requests.Response:
        token = f"disk{self.seed}x{request_id}"
        body: dict[str, Any] = {"kind": "application", "item_code": "zh-bbcs", "applicant": applicant(self.n),
                                "request_id": request_id, "form": {"matter": token, "mobile": "13950000000"}}
        if materials_size:
            body["materials"] = material(materials_size)
        self.n += 1
        # The door secret is in the gateway's own view of the data folder (its private tmpfs).
        door = GatewayClient(self.gateway.url, 30, door_secret_file=self.view / DOOR_SECRET_FILE_NAME)
        try:
            answer = door.send("POST", "/api/v1/submissions", json=body)
        finally:
            door.close()
        assert answer.status_code != 500 and answer.status_code < 600, answer.text
        if answer.status_code == 202:
            self.accepted[token] = answer.json()["receipt_no"]
        return answer

    def full_disk_lines(self) -> int:
        """Log lines of the gateway that name SQLite's "database or disk is full"."""
        text = self.gateway.log_path.read_text(encoding="utf-8", errors="replace")
        return sum(1 for line in text.splitlines() if "disk is full" in line)

    def stored_total(self) -> int:
        counts = requests.get(self.gateway.url + "/health", timeout=10).json()["outbox"]
        return sum(int(v) for v in counts.values())

    def delivered_exactly_once(self, ctx: str) -> None:
        """Every accepted submission is at the platform under its receipt, once."""
        self.platform.calm()
        wait_for(lambda: set(self.accepted.values()) <= self.platform.receipts(), 60,
                 f"every accepted submission at the platform ({ctx})")
        matters = [f.get("matter") for f in self.platform.forms()]
        assert sorted(matters) == sorted(self.accepted), f"lost or duplicated at the platform ({ctx})"

    def close(self) -> None:
        try:
            if self.gateway.proc is not None:
                hits = scan_for_personal_data([self.view]) if self.gateway.proc.poll() is None else {}
                assert not hits, f"personal data in clear on the gateway's disk: {hits}"
        finally:
            try:
                self.gateway.close()
            finally:
                self.platform.close()


def full_disk_cycles(tmp: Path, seed: int, cycles: int) -> dict[str, int]:
    """``cycles`` times: submissions accepted, the disk filled to the last byte, a submission
    refused (507), the forwarder meeting ENOSPC, space freed, the refused one accepted. At the end
    everything accepted is at the platform exactly once and the outbox is drained."""
    ctx = f"seed {seed}"
    rig = FullDisk(tmp, seed, size_mb=24, min_free_mb=8)
    refusals = 0
    try:
        rig.gateway.start()
        for cycle in range(cycles):
            rig.platform.set_faults(Faults(error_rate=1.0, status=503))  # keep them queued on the full disk
            for i in range(3):
                assert rig.submit(f"c{cycle:03d}-before-{i}").status_code == 202, ctx
            stored = rig.stored_total()
            lines = rig.full_disk_lines()
            rig.fill()  # to the last byte: the kernel's ENOSPC for anything the gateway writes now
            assert rig.free() < MB, ctx
            refused = rig.submit(f"c{cycle:03d}-refused")
            assert refused.status_code == 507, refused.text
            body = refused.json()
            assert body["error"] == "disk_full" and "nothing was saved" in body["message"], body
            assert "存储空间不足" in body["message"], "the screen's text says the disk is full"
            assert rig.stored_total() == stored, f"a refused submission left a record ({ctx})"
            refusals += 1
            # The platform comes back while the disk is full: the forwarder cannot even record that
            # it is sending (ENOSPC on its bookkeeping), so it must wait — and the gateway stay up.
            rig.platform.calm()
            wait_for(lambda lines=lines: rig.full_disk_lines() > lines, 60,
                     f"the forwarder to meet the full disk ({ctx})")
            assert rig.gateway.healthy(), f"the gateway died on a full disk ({ctx}); see {rig.gateway.log_path}"
            rig.unfill()
            again = rig.submit(f"c{cycle:03d}-refused")  # sent again: new, not "already stored"
            assert again.status_code == 202 and not again.json().get("duplicate"), again.text
        rig.delivered_exactly_once(ctx)
        wait_for(rig.gateway.drained, 60, f"the outbox to be delivered after space was freed ({ctx})")
        assert "disk nearly full" in rig.gateway.log_path.read_text(encoding="utf-8", errors="replace")
    finally:
        rig.close()
    figures = {"cycles": cycles, "refusals": refusals, "accepted": len(rig.accepted),
               "at_platform": len(rig.accepted), "duplicates": 0}
    print("disk full:", figures, ctx)
    return figures


def test_full_disk_refuses_new_submissions_and_delivers_the_old(tmp_path: Path) -> None:
    full_disk_cycles(tmp_path, chaos_seed(31), env_int("CHAOS_ROUNDS", 1))


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_full_disk_soak(tmp_path: Path) -> None:
    full_disk_cycles(tmp_path, chaos_seed(None), env_int("CHAOS_ROUNDS", 25))


def test_enospc_inside_sqlite_is_a_clear_refusal_and_leaves_nothing_half_stored(tmp_path: Path) -> None:
    seed = chaos_seed(32)
    ctx = f"seed {seed}"
    rig = FullDisk(tmp_path, seed, size_mb=8, min_free_mb=0)
    try:
        rig.gateway.start()
        assert rig.submit("first-0001").status_code == 202, ctx
        rig.fill(leave_bytes=LEAVE_BYTES)
        answers = []
        for i in range(40):  # small submissions: each passes the free-space check; SQLite's pages do not fit
            answer = rig.submit(f"fill-{i:04d}", materials_size=MATERIAL_BYTES)
            answers.append(answer.status_code)
            if answer.status_code != 202:
                break
        refused = answers[-1]
        # SQLite meeting ENOSPC in its WAL and the free-space check (the forwarder's retries may eat
        # the last kilobytes first) give the same answer: 507 disk_full, nothing saved.
        assert refused == 507, f"no clear refusal after {answers} ({ctx})"
        error = answer.json()
        assert error["error"] == "disk_full" and "nothing was saved" in error["message"], error
        stored = rig.stored_total()
        again = rig.submit(f"fill-{len(answers) - 1:04d}x", materials_size=MATERIAL_BYTES)
        assert again.status_code == 507, f"{again.text} ({ctx})"  # still full, still clear
        assert rig.stored_total() == stored, f"a refused submission left a record ({ctx})"
        rig.unfill()
        again = rig.submit(f"fill-{len(answers) - 1:04d}")  # the refused request id: new, not a duplicate
        assert again.status_code == 202 and not again.json().get("duplicate"), again.text
        rig.delivered_exactly_once(ctx)
        print(f"disk full (no margin): answers {answers}, then 202 after space was freed ({ctx})")
    finally:
        rig.close()



def test_a_delivery_whose_outcome_cannot_be_written_is_resumed_without_a_restart(tmp_path: Path) -> None:
    """The disk fills while a submission is at the platform: the attempt's outcome (a retry) cannot be
    written and the row stays in 'sending'. Before the fix the forwarder picked only 'queued' rows, so
    that submission — and every later one of the kiosk — waited for a gateway restart."""
    seed = chaos_seed(33)
    ctx = f"seed {seed}"
    rig = FullDisk(tmp_path, seed, size_mb=24, min_free_mb=8)
    try:
        rig.gateway.start()
        rig.platform.set_faults(Faults(error_rate=1.0, status=503, hang_s=3.0))  # slow, then a failure
        assert rig.submit("stall-0001").status_code == 202, ctx
        wait_for(lambda: requests.get(rig.gateway.url + "/health", timeout=10).json()["outbox"]["sending"] == 1,
                 20, f"the submission to be at the platform ({ctx})")
        lines = rig.full_disk_lines()
        rig.fill()  # the platform's 503 now comes back to a gateway that cannot write it down
        wait_for(lambda: rig.full_disk_lines() > lines, 30, f"the forwarder to meet the full disk ({ctx})")
        rig.platform.calm()
        rig.unfill()
        assert rig.submit("stall-0002").status_code == 202, ctx  # a later one of the same kiosk
        rig.delivered_exactly_once(ctx)  # both, without a restart of the gateway
        wait_for(rig.gateway.drained, 30, f"nothing left in 'sending' ({ctx})")
    finally:
        rig.close()
