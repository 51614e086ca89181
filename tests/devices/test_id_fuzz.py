"""Property-based tests: random and mutated SAM frames give DeviceProtocolError and nothing else, never a hang."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.base import DeviceError, DeviceProtocolError, DeviceTimeout
from devices.id_card import (
    IdCardReader,
    IdReaderSimulator,
    UnsupportedCardType,
    sample_cards,
    sample_foreign_cards,
)
from devices.id_card import protocol as p
from devices.id_card.textblock import decode_text_block, encode_text_block

pytestmark = pytest.mark.timeout(120)  # a hang fails the test instead of the whole run

CARDS = sample_cards() + sample_foreign_cards()
READ_ANSWERS = [p.build_response(0, 0, 0x90, p.build_read_data(encode_text_block(c), c.photo)) for c in CARDS]
SMALL_ANSWERS = [p.build_response(0, 0, 0x9F, bytes(4)), p.build_response(0, 0, 0x90, bytes(8)),
                 p.build_response(0, 0, 0x80), *(c.frame() for c in p.Command)]


@st.composite
def mutated(draw: st.DrawFn, frames: list[bytes]) -> bytes:
    """A valid frame with a few byte flips, cuts, insertions or deletions."""
    data = bytearray(draw(st.sampled_from(frames)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            del data[pos]
    return bytes(data)


def _parse_all(frame: bytes) -> None:
    response = p.parse_response(frame)
    if len(response.data) > 4:
        blocks = p.split_read_data(response.data)
        decode_text_block(blocks.text, blocks.photo)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64) | st.builds(lambda b: p.PREAMBLE + b, st.binary(max_size=64)))
def test_random_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    for parse in (p.parse_response, p.parse_request):
        try:
            parse(data)
        except DeviceProtocolError:
            pass


@settings(max_examples=400, deadline=None)
@given(mutated(READ_ANSWERS + SMALL_ANSWERS))
def test_mutated_frames_only_raise_protocol_errors(frame: bytes) -> None:
    try:
        _parse_all(frame)
    except DeviceProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(CARDS) - 1), st.integers(0, 255), st.binary(min_size=1, max_size=6))
def test_mutated_text_blocks_with_a_good_checksum_decode_or_raise_device_errors(
        which: int, offset: int, patch: bytes) -> None:
    # Rebuilt with a right checksum, so the mutation reaches the text block decoder.
    text = bytearray(encode_text_block(CARDS[which]))
    text[offset:offset + len(patch)] = patch
    frame = p.build_response(0, 0, 0x90, p.build_read_data(bytes(text[:256]).ljust(256, b"\0"), bytes(1024)))
    try:
        _parse_all(frame)
    except (DeviceProtocolError, UnsupportedCardType):  # an unknown card-type flag is not corruption
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300) | st.sampled_from(READ_ANSWERS + SMALL_ANSWERS) | mutated(SMALL_ANSWERS),
                max_size=12))
def test_assembler_accounts_for_every_byte_and_bounds_its_buffer(chunks: list[bytes]) -> None:
    asm = p.FrameAssembler()
    frames: list[bytes] = []
    for chunk in chunks:
        frames += asm.feed(chunk)
        assert asm.pending <= p.HEADER_LEN + p.MAX_LEN + 300  # never grows without bound
    assert sum(map(len, frames)) + asm.discarded + asm.pending == sum(map(len, chunks))
    for frame in frames:
        assert frame.startswith(p.PREAMBLE) and len(frame) == p.HEADER_LEN + int.from_bytes(frame[5:7], "big")
        try:
            _parse_all(frame)
        except (DeviceProtocolError, UnsupportedCardType):
            pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(READ_ANSWERS + SMALL_ANSWERS), min_size=1, max_size=4), st.integers(1, 97))
def test_assembler_finds_clean_frames_however_the_stream_is_cut(frames: list[bytes], step: int) -> None:
    stream = b"".join(frames)
    asm = p.FrameAssembler()
    out = [f for i in range(0, len(stream), step) for f in asm.feed(stream[i:i + step])]
    assert out == frames and asm.discarded == 0 and asm.pending == 0


@pytest.fixture(scope="module")
def wire() -> Iterator[tuple[IdReaderSimulator, IdCardReader]]:
    with IdReaderSimulator() as sim, IdCardReader(sim.port, read_timeout_s=0.15) as reader:
        yield sim, reader


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=80) | mutated(SMALL_ANSWERS))
def test_garbage_on_the_wire_gives_device_errors_and_the_next_exchange_is_clean(
        wire: tuple[IdReaderSimulator, IdCardReader], garbage: bytes) -> None:
    sim, reader = wire
    sim.remove()
    sim.reply_next_with(garbage)
    try:
        reader.sam_status()
    except DeviceError as exc:
        assert isinstance(exc, DeviceProtocolError | DeviceTimeout | p.SamRefused), repr(exc)
    assert reader.find_card() is False  # resynchronised: no leftover byte spoils the next answer
