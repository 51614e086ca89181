"""IdCardReader (real pyserial) on a pty slave, IdReaderSimulator on the master side."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from event_log import Events

from devices.base import (
    DeviceDisconnected,
    DeviceEvent,
    DeviceNotFound,
    DeviceProtocolError,
    DeviceState,
    DeviceTimeout,
)
from devices.id_card import (
    Command,
    IdCardReader,
    IdentityCard,
    IdReaderSimulator,
    UnsupportedCardType,
    encode_text_block,
    sample_cards,
)

TIMEOUT = 0.4




@pytest.fixture
def sim() -> Iterator[IdReaderSimulator]:
    with IdReaderSimulator() as s:
        yield s


@pytest.fixture
def events() -> Events:
    return Events(3.0)


@pytest.fixture
def reader(sim: IdReaderSimulator, events: Events) -> Iterator[IdCardReader]:
    r = IdCardReader(sim.port, read_timeout_s=TIMEOUT, on_event=events)
    r.open()
    yield r
    r.close()


def zhang() -> IdentityCard:
    return sample_cards()[0]


def test_sample_card_reads_back_as_placed(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    card = reader.read_card()
    assert card is not None
    assert (card.name, card.gender, card.nation) == ("张三", "女", "汉")
    assert card.birth_date == dt.date(1949, 12, 31) and card.valid_from == dt.date(2010, 1, 1)
    assert card.valid_to is None and card.masked()["validity"].endswith("长期")
    assert card.masked()["id_number"] == "1101**********002X"
    assert card.photo == zhang().photo
    assert reader.status().state is DeviceState.ONLINE


def test_driver_sends_the_documented_bytes(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    reader.read_card()
    assert sim.requests == [bytes.fromhex("AAAAAA9669 0003 2001 22"),
                            bytes.fromhex("AAAAAA9669 0003 2002 21"),
                            bytes.fromhex("AAAAAA9669 0003 3001 32")]


def test_no_card_reads_as_none(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    assert reader.find_card() is False
    assert reader.read_card() is None
    assert reader.status().errors == 0


def test_taiwan_permit_reads(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(sample_cards()[2])
    card = reader.read_card()
    assert card is not None and card.card_type == "J"
    assert card.masked()["id_number"] == "8300**********0026" and card.pass_number == "01234567"


def test_sam_commands(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    reader.reset()
    assert reader.sam_status().ok
    sim.insert(zhang())
    assert reader.read_card() is not None
    assert reader.read_appended_address() is None  # the simulator answers SW3 91: no appended address


def test_corrupt_frame_raises_then_the_next_read_succeeds(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    sim.corrupt_next()
    with pytest.raises(DeviceProtocolError, match=r"checksum error at offset \d+"):
        reader.read_card()
    assert reader.status().errors == 1
    card = reader.read_card()
    assert card is not None and card.name == "张三"


def test_corrupt_photo_frame_raises_then_recovers(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    sim.corrupt_next(command=Command.READ_TEXT_PHOTO)
    with pytest.raises(DeviceProtocolError, match="READ_TEXT_PHOTO: checksum error at offset 1294"):
        reader.read_card()
    assert reader.read_card() is not None


def test_paced_wire_answer_is_assembled_from_pieces(events: Events) -> None:
    with IdReaderSimulator(pace_baud=115200) as sim:
        sim.insert(zhang())
        with IdCardReader(sim.port, read_timeout_s=1.0) as r:
            start = time.monotonic()
            card = r.read_card()
            elapsed = time.monotonic() - start
    assert card is not None and card.id_number == "11010519491231002X"
    assert elapsed >= 0.1  # 1295 + 10 + 15 bytes at 10 bits each ≈ 115 ms on a real wire


def test_silent_reader_times_out_within_the_read_timeout(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    sim.silent = True
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match="did not answer"):
        reader.read_card()
    assert time.monotonic() - start >= TIMEOUT * 0.9  # it waited for the answer, not less
    assert reader.status().state is DeviceState.OFFLINE
    sim.silent = False
    assert reader.read_card() is not None
    assert reader.status().state is DeviceState.ONLINE


def test_missing_port_is_device_not_found_with_a_plain_message(tmp_path: Path) -> None:
    port = str(tmp_path / "ttyUSB-nope")
    r = IdCardReader(port)
    with pytest.raises(DeviceNotFound) as info:
        r.open()
    assert port in str(info.value) and "does not exist" in str(info.value)
    assert r.status().state is DeviceState.NO_DEVICE


def test_vanished_port_is_device_disconnected(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    assert reader.read_card() is not None
    sim.stop()
    with pytest.raises(DeviceDisconnected):
        reader.read_card()
    assert not reader.is_open and reader.status().state is DeviceState.OFFLINE


def test_unsupported_card_type_is_not_a_protocol_error(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    text = bytearray(encode_text_block(zhang()))
    text[248:250] = "Q".encode("utf-16-le")  # a card type newer than this software
    sim.insert_text_block(bytes(text))
    with pytest.raises(UnsupportedCardType):
        reader.read_card()
    assert reader.status().errors == 0


# -- polling ------------------------------------------------------------------------------------

def test_polling_reports_each_card_once_and_its_removal(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events) -> None:
    reader.start_polling(0.02)
    try:
        sim.insert(zhang())
        events.wait_for(lambda: events.count("card_read") == 1)
        time.sleep(0.2)  # ~10 more polls with the card still there
        assert events.kinds() == ["card_inserted", "card_read"]
        assert events.items[-1].payload.masked()["id_number"] == "1101**********002X"
        sim.remove()
        events.wait_for(lambda: events.count("card_removed") == 1)
        sim.insert(sample_cards()[1])
        events.wait_for(lambda: events.count("card_read") == 2)
        assert events.items[-1].payload.name == "李四"
    finally:
        reader.stop_polling()
    assert not reader.polling
    assert events.kinds() == ["card_inserted", "card_read", "card_removed", "card_inserted", "card_read"]


def test_polling_emits_unsupported_once(sim: IdReaderSimulator, reader: IdCardReader, events: Events) -> None:
    text = bytearray(encode_text_block(zhang()))
    text[248:250] = "Q".encode("utf-16-le")
    sim.insert_text_block(bytes(text))
    reader.start_polling(0.02)
    try:
        events.wait_for(lambda: events.count("card_unsupported") == 1)
        time.sleep(0.1)
    finally:
        reader.stop_polling()
    assert events.kinds() == ["card_inserted", "card_unsupported"] and events.items[-1].payload == "Q"


def test_polling_survives_a_failing_listener(sim: IdReaderSimulator) -> None:
    seen: list[str] = []

    def listener(event: DeviceEvent) -> None:
        seen.append(event.kind)
        if event.kind == "card_read" and seen.count("card_read") == 1:
            raise RuntimeError("a buggy screen")

    r = IdCardReader(sim.port, read_timeout_s=TIMEOUT, on_event=listener)
    r.start_polling(0.02)
    try:
        sim.insert(zhang())
        deadline = time.monotonic() + 2
        while "card_removed" not in seen and time.monotonic() < deadline:
            if seen.count("card_read") == 1:
                sim.remove()
            time.sleep(0.02)
        sim.insert(zhang())
        while seen.count("card_read") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.polling
    finally:
        r.close()
    assert seen.count("card_read") == 2 and "card_removed" in seen


def test_concurrent_reads_do_not_interleave(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    reader.start_polling(0.005)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(8):
                card = reader.read_card()
                assert card is not None and card.name == "张三"
        except BaseException as exc:  # noqa: BLE001  collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.stop_polling()
    assert errors == [] and reader.status().errors == 0


def test_logs_hold_no_name_or_id_number(
        sim: IdReaderSimulator, reader: IdCardReader, events: Events,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    card = zhang()
    reader.start_polling(0.02)
    try:
        sim.insert(card)
        events.wait_for(lambda: events.count("card_read") == 1)
        sim.corrupt_next()
        sim.remove()
        events.wait_for(lambda: events.count("card_removed") == 1)
    finally:
        reader.stop_polling()
    assert "card read" in caplog.text
    for secret in (card.id_number, card.name, card.address, card.id_number[6:14]):
        assert secret not in caplog.text


def test_find_command_constant_matches_wire() -> None:
    assert Command.FIND_CARD.frame().hex(" ").upper() == "AA AA AA 96 69 00 03 20 01 22"


def test_late_answer_to_a_timed_out_request_is_not_taken_for_the_next(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(zhang())
    sim.delay_next(TIMEOUT + 0.15)
    with pytest.raises(DeviceTimeout):
        reader.find_card()
    # The find answer (SW3 9F + 4 bytes) arrives while the driver waits for the status answer.
    status = reader.sam_status()
    assert status.ok, status
    card = reader.read_card()
    assert card is not None and card.name == "张三"
