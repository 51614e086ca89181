"""A child process for the pcscd restart storm: ``python tests/chaos/pcscd_storm.py RESTARTS SEED``.

Its own private pcscd (devices/smartcard/pcscd_env.py) and its own libpcsclite (which keeps the
socket it first used for the life of a process — why this runs apart from the test process). The
social security card reader watches a virtual card while pcscd is killed (SIGKILL) and started
again RESTARTS times with random, seeded gaps. Then the card must be read again, the reader's
status be online, its warnings be one per outage (not one per reconnect attempt), and threads and
file descriptors be back at their starting count. Prints one JSON line with the figures; exits 1
with the reason when a check fails.

Not a test module: tests/chaos/test_chaos_device_storms.py runs it.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time


def main(restarts: int, seed: int) -> int:
    from chaos_rig import EventRecorder, LogCounter, fd_count, settle_resources, thread_count, wait_for

    from devices.base import DeviceState
    from devices.smartcard.pcscd_env import PcscdEnvironment
    from devices.smartcard.reader import SscReader
    from devices.smartcard.ssc import sample_cards
    from devices.smartcard.virtual_card import VirtualSscCard

    rng = random.Random(seed)
    ctx = f"seed {seed}"
    env = PcscdEnvironment()
    env.start()
    env.use_in_this_process()
    logs = LogCounter("devices.smartcard.reader")
    events = EventRecorder()
    card = VirtualSscCard(env.vpcd_port, sample_cards()[0])
    reader = SscReader(env.reader_names()[0], on_event=events)
    try:
        card.insert()
        reader.start()
        wait_for(lambda: events.count("ssc_read") == 1, 30, f"the first card read ({ctx})")
        threads0, fds0 = thread_count(), fd_count()
        reads0 = events.count("ssc_read")
        for _ in range(restarts):
            env.kill_pcscd()
            time.sleep(rng.uniform(0.0, 0.3))
            env.start_pcscd()
            time.sleep(rng.uniform(0.0, 0.5))
        back = time.monotonic()
        wait_for(lambda: events.count("ssc_read") > reads0 and reader.status().state is DeviceState.ONLINE,
                 30, f"the card read again after the storm ({ctx})")
        recovery_s = time.monotonic() - back
        warnings = logs.at_least(logging.WARNING)
        recovered = logs.count(": recovered")
        threads1, fds1 = settle_resources(threads0, fds0, 2)
    finally:
        reader.stop()
        card.pull()
        env.stop()
        logs.close()
    report = {"restarts": restarts, "outages_logged": len(warnings), "recoveries_logged": recovered,
              "reads_after_storm": events.count("ssc_read") - reads0, "recovery_s": round(recovery_s, 3),
              "threads": [threads0, threads1], "fds": [fds0, fds1], "seed": seed}
    problems = []
    if not 1 <= recovered <= restarts:
        problems.append("each outage must end in one 'recovered' line")
    # One warning when the service is lost; at most one more if the failure changes its wording
    # while pcscd comes back (lost while watching → cannot establish): never one per attempt.
    if len(warnings) > 2 * recovered:
        problems.append(f"a flood of warnings: {warnings[:6]}")
    if threads1 > threads0 or fds1 > fds0 + 2:
        problems.append("threads or file descriptors leaked")
    print(json.dumps(report))
    if problems:
        print("; ".join(problems) + f" ({ctx})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
