"""Coverage-guided fuzzing (atheris / libFuzzer) of the byte parsers that face devices, in a child
process (libFuzzer owns the process and exits it): ``python tests/chaos/atheris_harness.py TARGET
-runs=N [-seed=S]``. TARGET: ``sam`` (the SAM frame assembler, frame parser and text block decoder),
``tlv`` (the social security card's TLV decoder) or ``escpos`` (DLE EOT status decoding and the
ESC/POS stream tokenizer).

Why besides hypothesis (tests/devices/test_id_fuzz.py, tests/soak/test_fuzz_loaders.py): libFuzzer
keeps inputs that reach new branches and mutates those, so it walks into nested length fields and
resync paths that blind random bytes seldom reach. A target fails only by raising something other
than its documented error, or by breaking an invariant (asserted below); libFuzzer then exits non-zero
with the input that did it. Not a test module: tests/chaos/test_chaos_atheris.py runs it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from devices.base import DeviceProtocolError
    from devices.id_card import UnsupportedCardType
    from devices.id_card import protocol as p
    from devices.id_card.textblock import decode_text_block
    from devices.printer.escpos_stream import stream_to_text, tokenize
    from devices.printer.health import decode_status
    from devices.smartcard import tlv


def sam(data: bytes) -> None:
    asm = p.FrameAssembler()
    cut = data[0] % 97 + 1 if data else 1
    chunks = [data[i:i + cut] for i in range(0, len(data), cut)]
    frames: list[bytes] = []
    for chunk in chunks:
        frames += asm.feed(chunk)
        assert asm.pending <= p.HEADER_LEN + p.MAX_LEN + 300, "the assembler's buffer grows without bound"
    assert sum(map(len, frames)) + asm.discarded + asm.pending == len(data), "bytes lost or invented"
    for frame in [*frames, data]:
        try:
            response = p.parse_response(frame)
            if len(response.data) > 4:
                blocks = p.split_read_data(response.data)
                decode_text_block(blocks.text, blocks.photo)
        except (DeviceProtocolError, UnsupportedCardType):
            pass


def tlv_target(data: bytes) -> None:
    try:
        items = tlv.decode_all(data)
    except tlv.TlvError as exc:
        assert "offset" in str(exc) or "tag" in str(exc), exc  # says where it went wrong
        return
    for item in items:
        assert tlv.decode_record(tlv.encode(item.tag, item.value), item.tag) == item.value


def escpos(data: bytes) -> None:
    assert b"".join(t.raw for t in tokenize(data)) == data, "tokens must account for every byte"
    assert isinstance(stream_to_text(data), str)
    replies = {n: (data[i] if i < len(data) else None) for i, n in enumerate((1, 2, 3, 4))}
    try:
        health = decode_status(replies)
    except DeviceProtocolError:
        return
    if not health.responding:
        assert not health.ready, "silence must never read as ready"


TARGETS = {"sam": sam, "tlv": tlv_target, "escpos": escpos}


def main() -> None:
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
