"""The polled ID card reader under its supervisor: unplug / replug at a stable path, a reader that
vanishes mid-read, a silent reader escalating to hardware_error, cards that are not trusted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from event_log import Events

from devices.base import DeviceState
from devices.id_card import Command, IdCardReader, IdReaderSimulator, InvalidCard, sample_cards
from devices.id_card import protocol as p
from devices.id_card.reader import POLL_BACKOFF

TIMEOUT = 0.3
WAIT = 10.0  # generous: the machine is shared; recovery *time* is measured in bench/bench_id_reader.py




@pytest.fixture
def events() -> Events:
    return Events(WAIT)


@pytest.fixture
def link(tmp_path: Path) -> Path:
    # Stands for /dev/serial/by-id/usb-…: the pty behind it changes on every replug.
    return tmp_path / "usb-SIM_IdReader_0001-if00-port0"


@pytest.fixture
def sim(link: Path) -> Iterator[IdReaderSimulator]:
    with IdReaderSimulator(stable_path=link) as s:
        yield s


@pytest.fixture
def reader(link: Path, sim: IdReaderSimulator, events: Events) -> Iterator[IdCardReader]:
    r = IdCardReader(str(link), read_timeout_s=TIMEOUT, on_event=events)
    yield r
    r.close()


def test_reconnect_delays_are_capped_well_under_three_seconds() -> None:
    delays = [POLL_BACKOFF.initial_s]
    for _ in range(6):
        delays.append(POLL_BACKOFF.after(delays[-1]))
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]


def test_unplug_and_replug_at_the_stable_path_recovers_without_a_restart(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events, link: Path) -> None:
    reader.start_polling(0.02)
    sim.insert(sample_cards()[0])
    events.wait_for(lambda: events.count("card_read") == 1)
    first_tty = sim.tty_path
    sim.unplug()
    assert not link.exists()
    events.wait_for(lambda: events.count("card_removed") == 1)
    events.wait_for(lambda: reader.status().state in (DeviceState.OFFLINE, DeviceState.NO_DEVICE))
    sim.replug()
    events.wait_for(lambda: events.count("card_read") == 2)
    assert reader.polling and reader.status().state is DeviceState.ONLINE
    health = reader.supervision()
    assert health is not None and health.connects == 2 and not health.failing
    assert link.resolve() == Path(sim.tty_path) and sim.tty_path  # followed the link to the new pty
    assert first_tty  # (the old pty may be reused by the kernel; the link is what matters)
    assert events.kinds() == ["card_inserted", "card_read", "card_removed", "card_inserted", "card_read"]


def test_reader_absent_at_start_is_picked_up_when_plugged_in(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events) -> None:
    sim.unplug()
    reader.start_polling(0.02)
    events.wait_for(lambda: reader.status().state is DeviceState.NO_DEVICE)
    sim.insert(sample_cards()[1])
    sim.replug()
    events.wait_for(lambda: events.count("card_read") == 1)
    assert events.items[-1].payload.name == "李四"


def test_reader_that_vanishes_mid_read_is_brought_back(tmp_path: Path, events: Events) -> None:
    link = tmp_path / "paced-reader"
    with IdReaderSimulator(pace_baud=115200, stable_path=link) as sim:
        reader = IdCardReader(str(link), read_timeout_s=1.0, on_event=events)
        try:
            reader.start_polling(0.05)
            read_frame = Command.READ_TEXT_PHOTO.frame()
            sim.insert(sample_cards()[0])
            events.wait_for(lambda: read_frame in sim.requests)
            sim.unplug()  # while the ~112 ms answer is on the wire
            events.wait_for(lambda: reader.status().state is not DeviceState.ONLINE)
            sim.replug()
            events.wait_for(lambda: events.count("card_read") == 1)
            assert reader.polling and reader.status().state is DeviceState.ONLINE
        finally:
            reader.close()
    kinds = events.kinds()
    assert kinds[-2:] == ["card_inserted", "card_read"] and kinds.count("card_read") == 1


def test_silent_reader_escalates_to_hardware_error_once_and_recovers(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    reader.start_polling(0.02)
    events.wait_for(lambda: reader.status().state is DeviceState.ONLINE)
    sim.silent = True
    events.wait_for(lambda: reader.status().state is DeviceState.HARDWARE_ERROR)
    health = reader.supervision()
    assert health is not None and health.escalated and health.consecutive_timeouts >= 3
    status = reader.status()
    assert status.last_error is not None and status.last_error.hint.value == "maintenance"
    # Further timeouts while escalated must not flap the state back to offline.
    events.wait_for(lambda: (h := reader.supervision()) is not None and h.consecutive_timeouts >= 5)
    assert reader.status().state is DeviceState.HARDWARE_ERROR
    sim.silent = False
    sim.insert(sample_cards()[0])
    events.wait_for(lambda: events.count("card_read") == 1)
    events.wait_for(lambda: (h := reader.supervision()) is not None and not h.failing)
    assert reader.status().state is DeviceState.ONLINE
    assert events.states() == [DeviceState.ONLINE, DeviceState.OFFLINE, DeviceState.HARDWARE_ERROR,
                               DeviceState.ONLINE]
    text = caplog.text
    assert text.count("failed: DeviceTimeout") == 1 and text.count("hardware_error after 3 timeouts") == 1
    assert text.count("recovered") == 1


def test_card_with_an_invalid_number_is_reported_not_trusted(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    card = sample_cards()[0]
    card.id_number = "990105194912310023"  # right check character, but region 99 names no province
    sim.insert(card)
    reader.start_polling(0.02)
    events.wait_for(lambda: events.count("card_invalid") == 1)
    sim.remove()
    events.wait_for(lambda: events.count("card_removed") == 1)
    reader.stop_polling()
    assert events.kinds() == ["card_inserted", "card_invalid", "card_removed"]
    invalid = next(e.payload for e in events.items if e.kind == "card_invalid")
    assert isinstance(invalid, InvalidCard) and invalid.card_type == "resident"
    assert invalid.problems == ("ID number: region code names no province",)
    assert card.id_number not in caplog.text and card.name not in caplog.text
    assert "region code names no province" in caplog.text  # staff can see why


@pytest.mark.parametrize("fault", ["select 81", "read 41", "checksum", "truncated"])
def test_a_fault_during_polling_is_retried_and_the_card_read_once(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events, fault: str) -> None:
    if fault == "select 81":
        sim.fail_next(Command.SELECT_CARD, p.SW3_SELECT_FAILED, n=2)
    elif fault == "read 41":
        sim.fail_next(Command.READ_TEXT_PHOTO, p.SW3_READ_FAILED, n=2)
    elif fault == "checksum":
        sim.corrupt_next(2, command=Command.READ_TEXT_PHOTO)
    else:
        sim.truncate_next(command=Command.READ_TEXT_PHOTO)
    sim.insert(sample_cards()[0])
    reader.start_polling(0.02)
    events.wait_for(lambda: events.count("card_read") == 1)
    reader.stop_polling()
    assert events.kinds() == ["card_inserted", "card_read"]
    assert events.items[-1].payload.name == "张三"
