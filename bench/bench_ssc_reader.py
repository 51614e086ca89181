"""R3 (pcscd part) and the social security card read, through pyscard, a private pcscd and vpcd.

- SSC read: 15 APDUs (SELECT SSSE, EF05, EF06 and one READ RECORD per field) + checks + decode of
  the virtual card on an open connection, median. Anchor: the same 15 APDUs sent bare (no status
  word handling, no TLV, no decode) on the same connection in the same run; the ratio is what our
  exchange and decoding add on top of the PC/SC transport. Informational (no target in TARGETS.md).
- SSC-bounded: the same card read the way the watcher reads it now, with time limits
  (``read_card_bounded``: a worker thread, its own PC/SC context, connect, transaction, read,
  disconnect), median. Anchor: the SSC figure's read on an already open connection; the ratio is
  what the limits and the per-read connection cost. Informational.
- SSC-mute: a card that stops answering at READ RECORD 08, per-command limit 0.5 s: read start →
  ``CardMute`` raised, median. Target ≤ the limit + 0.2 s (the wait looks every 20 ms). Anchor:
  the limit itself.
- R3 (pcscd restarted): the adapter monitors with a card in the reader; pcscd is killed (SIGKILL)
  and started again. Figure: pcscd serving again → the next ``ssc_read`` event. Target ≤ 3 s
  (TARGETS.md R3). Anchor: pcscd's own start time (process start → socket and vpcd ready).

Needs root, pcscd and vsmartcard-vpcd (like the tests).

    .venv/bin/python -m bench.run --only SSC,R3-pcscd   # also gives SSC-bounded and SSC-mute
"""

from __future__ import annotations

import threading
import time

from bench.common import Figure, median, percentile
from devices.base import DeviceEvent
from devices.smartcard import pcsc
from devices.smartcard.bounded import hung_exchanges, read_card_bounded
from devices.smartcard.exchange import read_social_security_card
from devices.smartcard.pcsc import CardMute
from devices.smartcard.pcscd_env import PcscdEnvironment
from devices.smartcard.reader import SscReader
from devices.smartcard.ssc import FIELDS, SELECT_EF05, SELECT_EF06, SELECT_SSSE, read_record, sample_cards
from devices.smartcard.virtual_card import VirtualSscCard

RECOVERY_TARGET_S = 3.0
MUTE_LIMIT_S = 0.5
MUTE_SLACK_S = 0.2


def _wait_present(reader: str, timeout_s: float = 10.0) -> None:
    from smartcard import scard

    context = pcsc.establish()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(context, 100, [(reader, scard.SCARD_STATE_UNAWARE)])
            if states and states[0][1] & scard.SCARD_STATE_PRESENT:
                return
            time.sleep(0.02)
        raise RuntimeError(f"the virtual card did not show up in {reader}")
    finally:
        pcsc.release(context)


def bench_read(env: PcscdEnvironment, repeat: int) -> Figure:
    reader = env.reader_names()[0]
    sequence = [SELECT_SSSE]
    for spec in FIELDS:
        if spec.tag in (0x01, 0x08):
            sequence.append(SELECT_EF05 if spec.tag == 0x01 else SELECT_EF06)
        sequence.append(read_record(spec.tag))
    apdus = len(sequence)
    card = VirtualSscCard(env.vpcd_port, sample_cards()[0])
    card.insert()
    try:
        _wait_present(reader)
        context = pcsc.establish()
        try:
            with pcsc.connect(context, reader) as link:
                read_social_security_card(link.transmit).wipe()  # warm-up
                reads, bare = [], []
                for _ in range(repeat):
                    start = time.perf_counter()
                    read_social_security_card(link.transmit).wipe()
                    reads.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    for apdu in sequence:
                        link.transmit(apdu)
                    bare.append(time.perf_counter() - start)
        finally:
            pcsc.release(context)
    finally:
        card.pull()
    value, anchor = median(reads), median(bare)
    return Figure(
        id="SSC", name=f"social security card read: {apdus} APDUs + decode over pcscd/vpcd (median)",
        value=value * 1000, unit="ms", target="— (informational)", passed=None,
        anchor=f"the same {apdus} APDUs sent bare, same connection (ms)", anchor_value=anchor * 1000,
        ratio=value / anchor, note=f"n={repeat}; p95 {percentile(reads, 95) * 1000:.1f} ms")


def bench_bounded(env: PcscdEnvironment, repeat: int, anchor_ms: float) -> Figure:
    reader = env.reader_names()[0]
    _wait_absent(reader)  # a card put in before pcscd saw the last one leave takes its place unseen
    card = VirtualSscCard(env.vpcd_port, sample_cards()[0])
    card.insert()
    try:
        _wait_present(reader)
        read_card_bounded(reader).wipe()  # warm-up
        reads = []
        for _ in range(repeat):
            start = time.perf_counter()
            read_card_bounded(reader).wipe()
            reads.append(time.perf_counter() - start)
    finally:
        card.pull()
    value = median(reads) * 1000
    return Figure(
        id="SSC-bounded", name="social security card read with time limits, own context and connection (median)",
        value=value, unit="ms", target="— (informational)", passed=None,
        anchor="SSC: the read on an open connection (ms)", anchor_value=anchor_ms, ratio=value / anchor_ms,
        note=f"n={repeat}; p95 {percentile(reads, 95) * 1000:.1f} ms")


def bench_mute(env: PcscdEnvironment, repeat: int) -> Figure:
    reader = env.reader_names()[0]
    samples = []
    for _ in range(repeat):
        _wait_absent(reader)
        card = VirtualSscCard(env.vpcd_port, sample_cards()[0])
        card.mute_on(read_record(0x08))
        card.insert()
        try:
            _wait_present(reader)
            start = time.perf_counter()
            try:
                read_card_bounded(reader, apdu_timeout_s=MUTE_LIMIT_S).wipe()
                raise RuntimeError("the mute card was read")
            except CardMute:
                samples.append(time.perf_counter() - start)
        finally:
            card.pull()
        deadline = time.monotonic() + 10
        while hung_exchanges() and time.monotonic() < deadline:  # the left worker ends with the pull
            time.sleep(0.01)
    value = median(samples)
    return Figure(
        id="SSC-mute", name=f"card stops answering, per-command limit {MUTE_LIMIT_S:g} s: read start → error (median)",
        value=value, unit="s", target=f"≤ {MUTE_LIMIT_S + MUTE_SLACK_S:g} s",
        passed=max(samples) <= MUTE_LIMIT_S + MUTE_SLACK_S, anchor="the limit (s)", anchor_value=MUTE_LIMIT_S,
        ratio=value / MUTE_LIMIT_S, note=f"n={repeat}; max {max(samples):.3f} s")


def _wait_absent(reader: str, timeout_s: float = 10.0) -> None:
    from smartcard import scard

    context = pcsc.establish()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(context, 100, [(reader, scard.SCARD_STATE_UNAWARE)])
            if states and not states[0][1] & scard.SCARD_STATE_PRESENT:
                return
            time.sleep(0.02)
        raise RuntimeError(f"the virtual card did not leave {reader}")
    finally:
        pcsc.release(context)


def bench_recovery(env: PcscdEnvironment, repeat: int) -> Figure:
    reads = threading.Semaphore(0)

    def on_event(event: DeviceEvent) -> None:
        if event.kind == "ssc_read":
            event.payload.wipe()
            reads.release()

    samples: list[float] = []
    starts: list[float] = []
    card = VirtualSscCard(env.vpcd_port, sample_cards()[0])
    monitor = SscReader(env.reader_names()[0], on_event=on_event)
    try:
        card.insert()
        monitor.start()
        if not reads.acquire(timeout=15):
            raise RuntimeError("the monitor never read the card")
        for _ in range(repeat):
            env.kill_pcscd()
            start = time.perf_counter()
            env.start_pcscd()
            back = time.perf_counter()
            starts.append(back - start)
            if not reads.acquire(timeout=30):
                raise RuntimeError("no card read within 30 s of pcscd's restart")
            samples.append(time.perf_counter() - back)
    finally:
        monitor.stop()
        card.pull()
    value = median(samples)
    return Figure(
        id="R3-pcscd", name="pcscd killed and restarted: pcscd back → next card read (median)",
        value=value, unit="s", target=f"≤ {RECOVERY_TARGET_S} s", passed=max(samples) <= RECOVERY_TARGET_S,
        anchor="pcscd start → serving (s)", anchor_value=median(starts), ratio=value / median(starts),
        note=f"n={repeat}; max {max(samples):.2f} s")


def run(quick: bool) -> list[Figure]:
    env = PcscdEnvironment()
    env.start()
    env.use_in_this_process()
    try:
        read = bench_read(env, 20 if quick else 200)
        return [read, bench_bounded(env, 20 if quick else 200, read.value), bench_mute(env, 3 if quick else 10),
                bench_recovery(env, 3 if quick else 10)]
    finally:
        env.stop()
