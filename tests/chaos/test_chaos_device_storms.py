"""Chaos (TARGETS R3): unplug / replug storms while the adapters poll.

- ID card reader: the simulator's pty vanishes and comes back N times in quick succession (random,
  seeded gaps of 0–0.3 s) behind a stable ``/dev/serial/by-id``-like link, while the supervised
  reader polls every 50 ms.
- Receipt printer: the virtual printer's TCP server goes away and comes back N times on the same
  port while the status monitor polls every 50 ms.
- pcscd: killed (SIGKILL) and restarted N times while the social security card reader watches a
  card (tests/chaos/pcscd_storm.py, in a child process: libpcsclite keeps its socket for the life
  of a process, and the device tests' conftest points this process's at its own pcscd).

After each storm, what a technician and a resident would notice: the device reads / prints again
(within a bounded time: 20 s, generous for a shared machine — recovery *time* is a benchmark
figure, bench/bench_id_reader.py and bench_ssc_reader.py), its status ends online, each outage
was reported once — one "failed" and one "recovered" log line (the printer: one offline state and
one ``recovered`` event), never a line per attempt — and threads and open file descriptors are
back at their starting count (a pty or socket per outage would show).
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chaos_rig import (
    ROOT,
    EventRecorder,
    LogCounter,
    chaos_seed,
    env_int,
    fd_count,
    free_port,
    settle_resources,
    thread_count,
    wait_for,
)

from devices.base import DeviceState
from devices.id_card import IdCardReader, IdReaderSimulator, sample_cards
from devices.printer.printer import ReceiptPrinter
from devices.printer.simulator import VirtualPrinter
from devices.smartcard.pcscd_env import missing_prerequisites

RECOVER_S = 20.0
FD_SLACK = 2  # a socket or pty the kernel has not released yet at the moment of the sample


def id_reader_storm(tmp: Path, outages: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    ctx = f"seed {seed}"
    link = tmp / "usb-SIM_IdReader_0001-if00-port0"
    logs = LogCounter("devices.supervisor")
    events = EventRecorder()
    try:
        with IdReaderSimulator(stable_path=link) as sim:
            reader = IdCardReader(str(link), read_timeout_s=0.3, on_event=events)
            try:
                reader.start_polling(0.05)
                sim.insert(sample_cards()[0])
                wait_for(lambda: events.count("card_read") == 1, RECOVER_S, f"the first card read ({ctx})")
                sim.remove()
                wait_for(lambda: events.count("card_removed") == 1, RECOVER_S, f"the card to be taken ({ctx})")
                threads0, fds0 = thread_count(), fd_count()
                for _ in range(outages):
                    sim.unplug()
                    time.sleep(rng.uniform(0.0, 0.3))
                    sim.replug()
                    time.sleep(rng.uniform(0.0, 0.3))
                back = time.monotonic()
                sim.insert(sample_cards()[1])
                wait_for(lambda: events.count("card_read") == 2, RECOVER_S, f"a card read after the storm ({ctx})")
                recovery_s = time.monotonic() - back
                wait_for(lambda: not (h := reader.supervision()) or not h.failing, RECOVER_S,
                         f"the supervisor to report healthy ({ctx})")
                assert reader.status().state is DeviceState.ONLINE, ctx
                health = reader.supervision()
                assert health is not None and health.running, f"the supervisor died in the storm ({ctx})"
                sim.remove()
                wait_for(lambda: events.count("card_removed") == 2, RECOVER_S, f"the card to be taken ({ctx})")
                threads1, fds1 = settle_resources(threads0, fds0, FD_SLACK)
            finally:
                reader.close()
    finally:
        logs.close()
    failed, recovered = logs.count(": failed: "), logs.count(": recovered")
    report = (f"{outages} unplugs: {failed} outages seen, {recovered} recoveries logged, {health.connects} connects, "
              f"threads {threads0}→{threads1}, fds {fds0}→{fds1} ({ctx})")
    print("id reader storm:", report)
    assert 1 <= failed <= outages, f"each outage is logged once, not per attempt: {report}"
    assert recovered == failed, f"every logged outage has its one recovery line: {report}"
    assert threads1 <= threads0 and fds1 <= fds0 + FD_SLACK, f"leak: {report}"
    return {"outages": outages, "outages_seen": failed, "recovery_s": recovery_s}


def printer_storm(outages: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    ctx = f"seed {seed}"
    virtual = VirtualPrinter(port=free_port()).start()  # a fixed port: the printer comes back where it was
    events = EventRecorder()
    printer = ReceiptPrinter(virtual.uri, timeout_s=0.5, on_event=events)
    try:
        printer.open()
        printer.start_monitoring(0.05)
        wait_for(lambda: printer.status().state is DeviceState.ONLINE, RECOVER_S, f"the printer online ({ctx})")
        threads0, fds0 = thread_count(), fd_count()
        states0 = len(events.states())
        for _ in range(outages):
            virtual.stop()
            time.sleep(rng.uniform(0.0, 0.3))
            virtual.start()
            time.sleep(rng.uniform(0.0, 0.3))
        back = time.monotonic()
        outcome = None

        def printed() -> bool:
            nonlocal outcome
            outcome = printer.print_job(f"after-storm-{time.monotonic_ns()}", b"\x1b@chaos test slip\n\x1dV\x00")
            return outcome.printed
        wait_for(printed, RECOVER_S, f"a slip printed after the storm ({ctx})")
        recovery_s = time.monotonic() - back
        job = virtual.wait_for_job(timeout=RECOVER_S)
        assert b"chaos test slip" in job, ctx
        wait_for(lambda: printer.status().state is DeviceState.ONLINE, RECOVER_S, f"the printer online ({ctx})")
        printer.stop_monitoring()
        states = ["online", *events.states()[states0:]]
        # outages seen
        offline = sum(1 for a, b in itertools.pairwise(states) if a == "online" and b != "online")
        recovered = events.count("recovered")
        threads1, fds1 = settle_resources(threads0 - 1, fds0, FD_SLACK)  # the monitor thread was stopped
    finally:
        printer.close()
        virtual.stop()
    report = (f"{outages} outages: {offline} times online → not online, {recovered} recovered events, "
              f"threads {threads0}→{threads1} (monitor stopped), fds {fds0}→{fds1} ({ctx})")
    print("printer storm:", report)
    assert 1 <= offline <= outages and recovered == offline, f"each outage reported once: {report}"
    assert threads1 <= threads0 - 1 and fds1 <= fds0 + FD_SLACK, f"leak: {report}"
    return {"outages": outages, "outages_seen": offline, "recovery_s": recovery_s}


def pcscd_storm(restarts: int, seed: int) -> dict[str, object]:
    problems = missing_prerequisites()
    if problems:
        pytest.skip("the pcscd restart storm did NOT run: " + "; ".join(problems))
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("pcscd_storm.py")), str(restarts), str(seed)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"pcscd storm failed (seed {seed}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    print("pcscd storm:", result)
    return result


def test_id_reader_unplug_storm_recovers_without_leaks(tmp_path: Path) -> None:
    id_reader_storm(tmp_path, env_int("CHAOS_ROUNDS", 8), chaos_seed(21))


def test_printer_vanishing_storm_recovers_without_leaks() -> None:
    printer_storm(env_int("CHAOS_ROUNDS", 8), chaos_seed(22))


def test_pcscd_restart_storm_recovers_without_leaks() -> None:
    pcscd_storm(env_int("CHAOS_ROUNDS", 4), chaos_seed(23))


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_device_storms_soak(tmp_path: Path) -> None:
    rounds = env_int("CHAOS_ROUNDS", 200)
    seed = chaos_seed(None)
    figures = {"id_reader": id_reader_storm(tmp_path, rounds, seed), "printer": printer_storm(rounds, seed),
               "pcscd": pcscd_storm(max(1, rounds // 4), seed)}
    print("device storms:", json.dumps(figures))
