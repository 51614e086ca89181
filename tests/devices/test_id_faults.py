"""Every command, card type, SW3 failure code and wire fault, over a real pty (IdCardReader ↔ simulator)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from devices.base import ActionHint, DeviceDisconnected, DeviceProtocolError, DeviceState, DeviceTimeout
from devices.id_card import (
    Command,
    IdCardReader,
    IdentityCard,
    IdReaderSimulator,
    SamRefused,
    sample_cards,
    sample_foreign_cards,
)
from devices.id_card import protocol as p

TIMEOUT = 0.4
# Statuses that refuse a request (everything but the routine 90, 91, 9F, 80, 81).
FAILURE_CODES = sorted(set(p.SW3_MEANINGS) - {0x90, 0x91, 0x9F, 0x80, 0x81})


@pytest.fixture
def sim() -> Iterator[IdReaderSimulator]:
    with IdReaderSimulator() as s:
        yield s


@pytest.fixture
def reader(sim: IdReaderSimulator) -> Iterator[IdCardReader]:
    with IdCardReader(sim.port, read_timeout_s=TIMEOUT) as r:
        yield r


def test_failure_code_table_is_the_documented_one() -> None:
    assert [f"{c:02X}" for c in FAILURE_CODES] == [
        "10", "11", "21", "23", "24", "31", "32", "33", "37", "3F", "40", "41", "47", "60", "66"]


@pytest.mark.parametrize("command", [Command.FIND_CARD, Command.SELECT_CARD, Command.READ_TEXT_PHOTO],
                         ids=lambda c: c.name)
@pytest.mark.parametrize("sw3", FAILURE_CODES, ids=lambda c: f"{c:02X}")
def test_every_failure_code_is_refused_with_its_meaning_and_then_recovers(
        sim: IdReaderSimulator, reader: IdCardReader, command: Command, sw3: int) -> None:
    sim.insert(sample_cards()[0])
    sim.fail_next(command, sw3)
    with pytest.raises(SamRefused) as info:
        reader.read_card()
    assert info.value.sw3 == sw3 and f"0x{sw3:02X}" in str(info.value)
    assert p.sw3_meaning(sw3) in str(info.value) and command.name in str(info.value)
    expected_hint = {0x31: ActionHint.CLEAR, 0x32: ActionHint.CLEAR, 0x33: ActionHint.CLEAR, 0x40: ActionHint.CLEAR,
                     0x41: ActionHint.CLEAR, 0x47: ActionHint.CLEAR, 0x60: ActionHint.MAINTENANCE,
                     0x66: ActionHint.MAINTENANCE}.get(sw3, ActionHint.RESET)
    assert info.value.hint is expected_hint
    card = reader.read_card()  # the next attempt works: one refusal does not wedge the reader
    assert card is not None and card.name == "张三"


def test_no_card_and_select_failure_read_as_none(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    assert reader.read_card() is None  # find: SW3 80
    sim.insert(sample_cards()[0])
    sim.fail_next(Command.SELECT_CARD, p.SW3_SELECT_FAILED)
    assert reader.read_card() is None  # select: SW3 81
    assert reader.read_card() is not None
    assert reader.status().errors == 0  # routine answers are not errors


def test_read_failure_41_asks_the_resident_to_place_the_card_again(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(sample_cards()[0])
    sim.fail_next(Command.READ_TEXT_PHOTO, p.SW3_READ_FAILED)
    with pytest.raises(SamRefused, match="read failed") as info:
        reader.read_card()
    assert info.value.hint is ActionHint.CLEAR and info.value.retryable


def test_sam_commands_over_the_wire(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    reader.reset()
    assert reader.sam_status().ok
    assert reader.sam_id() == "0501000020101010000123456789abcd"
    assert sim.requests == [Command.RESET_SAM.frame(), Command.SAM_STATUS.frame(), Command.SAM_ID.frame()]
    sim.fail_next(Command.RESET_SAM, 0x60)
    with pytest.raises(SamRefused, match="SAM self-test failed"):
        reader.reset()


def test_sam_status_failure_puts_the_reader_in_hardware_error(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.fail_next(Command.SAM_STATUS, 0x66)
    status = reader.sam_status()
    assert not status.ok and status.meaning == "SAM not authorised"
    assert reader.status().state is DeviceState.HARDWARE_ERROR
    assert reader.status().detail["sam"] == "SAM not authorised"


@pytest.mark.parametrize("card", sample_cards() + sample_foreign_cards(), ids=lambda c: c.card_type)
def test_every_card_type_reads_over_the_wire_and_is_trusted(
        sim: IdReaderSimulator, reader: IdCardReader, card: IdentityCard) -> None:
    sim.insert(card)
    got = reader.read_card()
    assert got == card and got.trusted, got.problems


def test_read_with_fingerprint_keeps_the_fingerprint_block(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(sample_cards()[1], fingerprint=bytes(range(256)) * 2)
    card = reader.read_card(fingerprint=True)
    assert card is not None and card.name == "李四" and len(card.fingerprint) == 512
    assert sim.requests[-1] == bytes.fromhex("AAAAAA9669 0003 3010 23")
    card.wipe()
    assert card.fingerprint == b""


def test_appended_address_present_and_absent(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(sample_cards()[0], appended_address="北京市海淀区测试街9号")
    assert reader.read_card() is not None
    assert reader.read_appended_address() == "北京市海淀区测试街9号"
    sim.insert(sample_cards()[1])
    assert reader.read_card() is not None
    assert reader.read_appended_address() is None  # SW3 91


def test_a_number_that_fails_validation_is_read_but_not_trusted(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    card = sample_cards()[0]
    card.id_number = "110105194912310021"  # wrong check character
    sim.insert(card)
    got = reader.read_card()
    assert got is not None and not got.trusted
    assert "ID number: check character does not match" in got.problems
    assert all("110105" not in problem for problem in got.problems)


def test_truncated_answer_is_a_protocol_error_and_the_next_read_works(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(sample_cards()[0])
    sim.truncate_next(command=Command.READ_TEXT_PHOTO)
    with pytest.raises(DeviceProtocolError, match=r"incomplete frame: \d+ bytes of 1295"):
        reader.read_card()
    assert reader.read_card() is not None


def test_garbage_instead_of_an_answer_then_a_clean_read(sim: IdReaderSimulator, reader: IdCardReader) -> None:
    sim.insert(sample_cards()[0])
    sim.reply_next_with(p.PREAMBLE + b"\x00\x04\x00\x00\x90\x00" + b"\xAA" * 7)  # a frame with a bad checksum
    with pytest.raises(DeviceProtocolError, match="checksum error"):
        reader.find_card()
    sim.reply_next_with(b"\x13\x37" * 20)  # no frame at all
    with pytest.raises(DeviceTimeout):
        reader.find_card()
    assert reader.read_card() is not None


def test_reader_at_another_baud_rate_is_silent_until_the_speed_matches() -> None:
    with IdReaderSimulator(line_baud=57600) as sim:
        with (IdCardReader(sim.port, baudrate=115200, read_timeout_s=0.2) as wrong,
              pytest.raises(DeviceTimeout)):
            wrong.sam_status()
        with IdCardReader(sim.port, baudrate=57600, read_timeout_s=TIMEOUT) as right:
            assert right.sam_status().ok


def test_reader_that_disappears_mid_read_raises_disconnected() -> None:
    with IdReaderSimulator(pace_baud=115200) as sim:  # the read answer takes ~112 ms on the wire
        sim.insert(sample_cards()[0])
        reader = IdCardReader(sim.port, read_timeout_s=2.0)
        reader.open()
        outcome: list[BaseException | object] = []

        def read() -> None:
            try:
                outcome.append(reader.read_card())
            except BaseException as exc:  # noqa: BLE001  handed to the test thread
                outcome.append(exc)

        thread = threading.Thread(target=read)
        thread.start()
        read_frame = Command.READ_TEXT_PHOTO.frame()
        deadline = threading.Event()
        for _ in range(400):  # wait (≤ 4 s) until the read request is on the wire
            if read_frame in sim.requests:
                break
            deadline.wait(0.01)
        sim.unplug()
        thread.join(timeout=5)
        assert len(outcome) == 1 and isinstance(outcome[0], DeviceDisconnected), outcome
        assert not reader.is_open and reader.status().state is DeviceState.OFFLINE
        reader.close()


def _short_len(frame: bytes, by: int, *, recompute: bool) -> bytes:
    """``frame`` with its LEN undercounting by ``by`` bytes; the checksum recomputed over the short
    LEN (as a sender that miscounts would) or left as it was (a LEN byte damaged on the wire)."""
    length = int.from_bytes(frame[5:7], "big") - by
    head = length.to_bytes(2, "big") + frame[7:-1]
    return p.PREAMBLE + head + (bytes([p.xor_checksum(head)]) if recompute else frame[-1:])


@pytest.mark.parametrize("recompute", [True, False], ids=["chk-over-short-len", "len-byte-damaged"])
@pytest.mark.parametrize("by", [1, 3])
def test_a_short_len_is_reported_as_a_short_frame_not_a_checksum_error(
        sim: IdReaderSimulator, reader: IdCardReader, by: int, recompute: bool) -> None:
    sim.insert(sample_cards()[0])
    sim.reply_next_with(_short_len(p.build_response(0, 0, p.SW3_CARD_FOUND, bytes(4)), by, recompute=recompute))
    with pytest.raises(DeviceProtocolError) as info:
        reader.find_card()
    words = str(info.value)
    assert "short frame" in words and "checksum" not in words, words
    assert reader.read_card() is not None  # the rest of the cut frame did not poison the next exchange


def test_a_bad_checksum_stays_a_checksum_error_when_nothing_completes_the_frame(
        sim: IdReaderSimulator, reader: IdCardReader) -> None:
    frame = bytearray(p.build_response(0, 0, p.SW3_CARD_FOUND, bytes(4)))
    frame[-1] ^= 0xFF
    sim.reply_next_with(bytes(frame))
    with pytest.raises(DeviceProtocolError, match="checksum error") as info:
        reader.find_card()
    assert "short" not in str(info.value)


def test_a_reader_that_goes_mute_and_answers_again_is_heard_and_reads_the_next_card(
        sim: IdReaderSimulator) -> None:
    reads = threading.Semaphore(0)
    removed = threading.Event()

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "card_read":
            event.payload.wipe()
            reads.release()
        elif event.kind == "card_removed":
            removed.set()

    reader = IdCardReader(sim.port, read_timeout_s=3.0, on_event=on_event)
    try:
        sim.insert(sample_cards()[0])
        reader.start_polling(0.3)
        assert reads.acquire(timeout=10)
        sim.remove()
        assert removed.wait(10)
        sim.silent = True
        deadline = threading.Event()
        while not deadline.wait(0.1):  # mute until the watcher has timed out at least twice
            health = reader.supervision()
            if health is not None and health.consecutive_timeouts >= 2:
                break
        assert reader.status().state in (DeviceState.OFFLINE, DeviceState.HARDWARE_ERROR)
        sim.insert(sample_cards()[0])
        sim.silent = False
        assert reads.acquire(timeout=10), "a reader answering again must be heard and read the card"
        assert reader.status().state is DeviceState.ONLINE
    finally:
        reader.close()


def test_a_reader_that_comes_back_slower_than_the_short_ask_is_still_heard(sim: IdReaderSimulator) -> None:
    reads = threading.Semaphore(0)
    removed = threading.Event()

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "card_read":
            event.payload.wipe()
            reads.release()
        elif event.kind == "card_removed":
            removed.set()

    slow = threading.Event()

    def keep_slow() -> None:  # every answer takes 0.8 s: longer than the 0.5 s ask of a silent reader
        while not slow.wait(0.02):
            sim.delay_next(0.8)

    reader = IdCardReader(sim.port, read_timeout_s=3.0, on_event=on_event)
    pacer = threading.Thread(target=keep_slow, daemon=True)
    try:
        sim.insert(sample_cards()[0])
        reader.start_polling(0.3)
        assert reads.acquire(timeout=10)
        sim.remove()
        assert removed.wait(10)
        sim.silent = True
        waited = threading.Event()
        while not waited.wait(0.1):
            health = reader.supervision()
            # Mute long enough for the reconnect backoff to reach its cap (1 s between asks): each slow
            # answer then lands between two asks, where a flushing ask would throw it away.
            if health is not None and health.consecutive_timeouts >= 6:
                break
        pacer.start()
        sim.insert(sample_cards()[0])
        sim.silent = False
        assert reads.acquire(timeout=20), "a reader answering slowly after a mute spell must be heard"
    finally:
        slow.set()
        reader.close()
        if pacer.is_alive():
            pacer.join(2)
