"""Time limits on the social security card's exchanges, with a virtual card that stops answering in
the middle of a read (it stays in the reader; vpcd waits for an answer that never comes), through
pyscard and a private pcscd: the watcher, the one-shot read and ``kiosk devices read-ssc``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from event_log import Events

from devices.base import DeviceState
from devices.smartcard.bounded import hung_exchanges
from devices.smartcard.pcsc import CardMute
from devices.smartcard.pcscd_env import PcscdEnvironment
from devices.smartcard.reader import SscReader
from devices.smartcard.ssc import read_record, sample_cards

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 15.0
LIVENESS_S = 3.0  # generous slack over a limit, for a shared machine: "within the limit", not a benchmark


@pytest.fixture
def events() -> Events:
    return Events(WAIT_S)


@pytest.fixture
def watcher(pcscd: PcscdEnvironment, events: Events) -> Iterator[SscReader]:
    r = SscReader(pcscd.reader_names()[0], on_event=events, poll_interval_s=0.2,
                  apdu_timeout_s=0.5, read_timeout_s=4.0)
    r.start()
    events.wait_state(DeviceState.ONLINE)
    yield r
    r.stop()


def _wait(pred: Any, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_watcher_reports_a_mute_card_within_the_limit_and_reads_the_next(
        watcher: SscReader, events: Events, make_card: Any) -> None:
    mute = make_card()
    mute.mute_on(read_record(0x08))
    mute.insert()
    events.wait_count("card_inserted", 1)
    inserted = time.monotonic()
    events.wait_count("read_failed", 1)
    took = time.monotonic() - inserted
    payload = events.of("read_failed")[0].payload
    assert "READ RECORD 08 (social security number): the card did not answer within 0.5 s" in payload["message"]
    assert "take the card out and insert it again" in payload["message"]
    assert payload["hint"] == "none" and payload["retryable"] is True
    assert payload["notice"] == "notice_ssc_card_mute"
    assert took < 0.5 + LIVENESS_S, took
    assert read_record(0x08) in mute.commands()  # it really stopped mid-read
    status = watcher.status()
    assert status.state == DeviceState.USER_ERROR
    assert status.last_error is not None and "did not answer" in status.last_error.message
    assert watcher.running
    # The card is taken out: the blocked exchange ends, the watcher sees the removal and reads the
    # next card in full.
    mute.pull()
    events.wait_count("card_removed", 1)
    assert _wait(lambda: hung_exchanges() == 0)
    assert watcher.status().state == DeviceState.ONLINE
    make_card(sample_cards()[1]).insert()
    events.wait_count("ssc_read", 1)
    assert events.of("ssc_read")[0].payload.name == "李四"
    assert events.kinds() == ["card_inserted", "read_failed", "card_removed", "card_inserted", "ssc_read"]


def test_the_whole_read_has_its_own_limit(pcscd: PcscdEnvironment, make_card: Any) -> None:
    mute = make_card(slot=1)
    mute.mute_on(read_record(0x0D))
    mute.insert()
    reader = SscReader("00 01", apdu_timeout_s=20.0, read_timeout_s=1.0)
    before = hung_exchanges()
    start = time.monotonic()
    with pytest.raises(CardMute, match=r"reading the card took longer than 1 s \(waiting for READ RECORD 0D "
                                       r"\(birth date\)\)") as info:
        reader.read_card(timeout_s=WAIT_S)
    assert time.monotonic() - start < 1.0 + LIVENESS_S
    assert info.value.hint.value == "none"
    assert hung_exchanges() == before + 1  # left to end by itself …
    mute.pull()
    assert _wait(lambda: hung_exchanges() == before)  # … which it does when the card is taken out


def test_stopping_the_watcher_does_not_wait_for_a_mute_card(
        pcscd: PcscdEnvironment, events: Events, make_card: Any) -> None:
    r = SscReader(pcscd.reader_names()[1], on_event=events, poll_interval_s=0.2,
                  apdu_timeout_s=30.0, read_timeout_s=60.0)
    r.start()
    try:
        mute = make_card(slot=1)
        mute.mute_on(read_record(0x01))
        mute.insert()
        assert _wait(lambda: read_record(0x01) in mute.commands())
    finally:
        start = time.monotonic()
        r.stop()
        assert time.monotonic() - start < LIVENESS_S
        assert not r.running
    mute.pull()
    assert _wait(lambda: hung_exchanges() == 0)


def test_a_stopped_watcher_can_still_read_once(pcscd: PcscdEnvironment, events: Events, make_card: Any) -> None:
    r = SscReader("00 01", on_event=events, poll_interval_s=0.2)
    r.start()
    events.wait_state(DeviceState.ONLINE)
    r.stop()
    make_card(sample_cards()[1], slot=1).insert()
    assert r.read_card(timeout_s=WAIT_S).name == "李四"


def _kiosk(env: PcscdEnvironment, *args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from kiosk.cli import main; sys.exit(main())",
         "devices", "read-ssc", "--reader", env.reader_names()[1], *args],
        cwd=ROOT, env={**os.environ, **env.client_env(), **extra_env}, capture_output=True, text=True,
        timeout=60, check=False)


def test_read_ssc_of_a_mute_card_fails_plainly_within_the_set_limit(
        pcscd: PcscdEnvironment, make_card: Any) -> None:
    mute = make_card(slot=1)
    mute.mute_on(read_record(0x09))
    mute.insert()
    start = time.monotonic()
    out = _kiosk(pcscd, "--json", "--timeout", "20",
                 extra_env={"KIOSK_DEVICES__SSC_APDU_TIMEOUT_S": "0.7"})
    took = time.monotonic() - start
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is False and data["kind"] == "CardMute" and data["hint"] == "none"
    assert "READ RECORD 09 (name): the card did not answer within 0.7 s" in data["error"]
    assert "Traceback" not in out.stderr
    # Interpreter start-up and the settings load come on top of the limit.
    assert took < 0.7 + 10, took
    out = _kiosk(pcscd, "--timeout", "20", extra_env={"KIOSK_DEVICES__SSC_READ_TIMEOUT_S": "0.6"})
    assert out.returncode == 1
    assert "read-ssc: reading the card took longer than 0.6 s" in out.stderr


def test_a_limit_that_is_not_a_positive_number_is_a_settings_problem(pcscd: PcscdEnvironment) -> None:
    out = _kiosk(pcscd, extra_env={"KIOSK_DEVICES__SSC_APDU_TIMEOUT_S": "0"})
    assert out.returncode == 2
    assert "ssc_apdu_timeout_s" in out.stderr
