"""The tokenizer reads any ESC/POS stream back, including python-escpos's own output, and never crashes."""

from __future__ import annotations

import io
import random

import pytest
from escpos.printer import Dummy
from PIL import Image

from devices.printer.escpos_stream import (
    columns_for,
    display_width,
    qr_payloads,
    stream_to_png,
    stream_to_text,
    tokenize,
)

CN = "社保参保缴费证明，金额：¥120（元）、“已缴”"


def kinds(data: bytes) -> list[str]:
    return [t.kind for t in tokenize(data)]


def test_chinese_inside_fs_runs_is_gb18030_and_outside_is_cp437() -> None:
    data = b"\x1c&" + CN.encode("gb18030") + b"\x1c." + b"Total \x9c5\n"
    tokens = tokenize(data)
    assert [t.kind for t in tokens] == ["cjk_on", "text", "cjk_off", "text", "newline"]
    assert tokens[1].value == CN and tokens[1].cjk
    assert tokens[3].value == "Total £5" and not tokens[3].cjk


def test_gb18030_sent_without_fs_and_is_not_read_as_chinese() -> None:
    # What python-escpos does (DEVICES.md §3): a printer in single-byte mode prints mojibake.
    text = stream_to_text("缴费".encode("gb18030") + b"\n")
    assert "缴费" not in text


def test_joining_token_bytes_gives_back_the_stream_even_for_noise() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        noise = bytes(rng.choice([0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x28, 0x6B, rng.randrange(256)])
                      for _ in range(3000))
        tokens = tokenize(noise)
        assert b"".join(t.raw for t in tokens) == noise
        stream_to_text(noise)  # must not raise


@pytest.mark.parametrize("truncated", [b"\x1b", b"\x1dV", b"\x1d(k\x10\x00\x31\x50", b"\x1c&\xc9", b"\x10\x04"])
def test_truncated_commands_at_the_end_become_raw_tokens(truncated: bytes) -> None:
    tokens = tokenize(b"\x1b@" + truncated)
    assert tokens[0].kind == "init"
    assert b"".join(t.raw for t in tokens) == b"\x1b@" + truncated


def test_style_feed_cut_and_status_commands() -> None:
    data = b"\x1b@\x1bE\x01\x1ba\x01\x1d!\x11Hi\n\x1bd\x03\x10\x04\x04\x1dV\x00\x1dV\x01\x1dVB\x05\x1b\x99"
    tokens = tokenize(data)
    assert [(t.kind, t.value) for t in tokens] == [
        ("init", None), ("bold", True), ("align", "center"), ("size", (2, 2)), ("text", "Hi"),
        ("newline", None), ("feed", 3), ("status_query", 4), ("cut", "full"), ("cut", "partial"),
        ("cut", "partial"), ("raw", None), ("text", "Ö"),
    ]


def test_reads_python_escpos_native_qr_and_cut() -> None:
    # python-escpos is an independent encoder of GS ( k: our reader must agree with it.
    printer = Dummy()
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text("Receipt\n")
    printer.qr("https://zwfw.xm.gov.cn/p?no=HC1", native=True, size=6, ec=1)
    printer.cut(mode="PART")
    data = printer.output
    assert qr_payloads(data) == ["https://zwfw.xm.gov.cn/p?no=HC1"]
    qr = [t.value for t in tokenize(data) if t.kind == "qr"]
    assert qr[1]["module_size"] == 6 and qr[2]["error_level"] == "M"
    assert "cut" in kinds(data) and "print_mode" in kinds(data)
    text = stream_to_text(data, 58)
    title = text.splitlines()[0]
    assert title.strip() == "Receipt"
    assert display_width(title) == (32 - 2 * len("Receipt")) // 2 + len("Receipt")  # centred at double width


def test_text_places_centred_and_right_aligned_lines_like_the_printer() -> None:
    data = b"\x1b@\x1ba\x01\x1c&" + "中文".encode("gb18030") + b"\x1c.\n\x1ba\x02AB\n\x1ba\x00x\n"
    lines = stream_to_text(data, 58).splitlines()
    assert lines == [" " * 14 + "中文", " " * 30 + "AB", "x"]
    assert columns_for(58) == 32 and columns_for(80) == 48


def test_qr_and_cut_appear_in_text_and_png() -> None:
    data = (b"\x1b@\x1ba\x01" + b"\x1d(k\x04\x001A2\x00" + b"\x1d(k\x03\x001C\x06"
            + b"\x1d(k\x03\x001E1" + b"\x1d(k\x0b\x001P0progress" + b"\x1d(k\x03\x001Q0"
            + b"\x1bd\x02\x1dV\x01")
    assert stream_to_text(data, 80).splitlines() == [" " * 22 + "[QR]", "", "", "[cut]"]
    image = Image.open(io.BytesIO(stream_to_png(data, 80))).convert("L")
    assert image.width == 576
    assert sum(image.histogram()[:128]) > 1000  # a QR code of 6-dot modules


def test_png_of_an_empty_stream_is_blank_paper() -> None:
    image = Image.open(io.BytesIO(stream_to_png(b"", 58))).convert("L")
    assert image.width == 384 and image.getextrema() == (255, 255)
