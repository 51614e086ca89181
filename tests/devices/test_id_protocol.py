"""The SAM_V frame format and the 256-byte text block, byte for byte against DEVICES.md §1."""

from __future__ import annotations

import datetime as dt

import pytest

from devices.base import DeviceProtocolError
from devices.id_card import protocol as p
from devices.id_card.identity import (
    NATIONS,
    IdentityCard,
    UnsupportedCardType,
    sample_cards,
    sample_foreign_cards,
)
from devices.id_card.textblock import decode_text_block, encode_text_block
from kiosk.validators import citizen_id_gender, citizen_id_valid

PRE = "AA AA AA 96 69 "


def hx(s: str) -> bytes:
    return bytes.fromhex(s)


@pytest.mark.parametrize("command, wire", [
    (p.Command.RESET_SAM, "00 03 10 FF EC"),
    (p.Command.SAM_STATUS, "00 03 11 FF ED"),
    (p.Command.SAM_ID, "00 03 12 FF EE"),
    (p.Command.FIND_CARD, "00 03 20 01 22"),
    (p.Command.SELECT_CARD, "00 03 20 02 21"),
    (p.Command.READ_TEXT_PHOTO, "00 03 30 01 32"),
    (p.Command.READ_APPENDED_ADDRESS, "00 03 30 03 30"),
    (p.Command.READ_WITH_FINGERPRINT, "00 03 30 10 23"),
])
def test_command_frames_match_the_device_table(command: p.Command, wire: str) -> None:
    assert p.build_frame(command.cmd, command.para) == hx(PRE + wire)
    assert command.frame() == hx(PRE + wire)


def test_build_frame_with_data_counts_it_in_len_and_checksum() -> None:
    # "set max RF frame bytes" is the table's one request with a data byte.
    assert p.build_frame(0x61, 0xFF, b"\x50") == hx(PRE + "00 04 61 FF 50 CA")


@pytest.mark.parametrize("wire, sw3, data", [
    ("00 04 00 00 90 94", 0x90, b""),
    ("00 08 00 00 9F 00 00 00 00 97", 0x9F, bytes(4)),
    ("00 0C 00 00 90" + " 00" * 8 + " 9C", 0x90, bytes(8)),
    ("00 04 00 00 80 84", 0x80, b""),
    ("00 04 00 00 81 85", 0x81, b""),
    ("00 04 00 00 41 45", 0x41, b""),
])
def test_documented_responses_parse(wire: str, sw3: int, data: bytes) -> None:
    r = p.parse_response(hx(PRE + wire))
    assert (r.sw1, r.sw2, r.sw3, r.data) == (0, 0, sw3, data)
    assert r.ok == (sw3 == 0x90)
    assert p.build_response(0, 0, sw3, data) == hx(PRE + wire)


def test_sw3_meanings_name_the_common_statuses() -> None:
    assert p.sw3_meaning(0x80) == "find failed (no card)"
    assert p.sw3_meaning(0x91).startswith("item absent")
    assert p.sw3_meaning(0x10) == "checksum error"
    assert "0x7E" in p.sw3_meaning(0x7E)


def test_bad_checksum_is_reported_with_its_offset() -> None:
    frame = bytearray(hx(PRE + "00 04 00 00 90 94"))
    frame[-1] = 0x95
    expected = r"checksum error at offset 10: frame says 0x95, computed 0x94"
    with pytest.raises(DeviceProtocolError, match=expected):
        p.parse_response(bytes(frame))


def test_length_mismatch_is_reported_at_offset_5() -> None:
    with pytest.raises(DeviceProtocolError, match=r"length error at offset 5: LEN says 5 .* has 4"):
        p.parse_response(hx(PRE + "00 05 00 00 90 95"))


def test_bad_preamble_names_the_byte() -> None:
    with pytest.raises(DeviceProtocolError, match=r"bad preamble at offset 3: 0x97"):
        p.parse_response(hx("AA AA AA 97 69 00 04 00 00 90 94"))


def test_too_short_frame_is_rejected() -> None:
    with pytest.raises(DeviceProtocolError, match="too short"):
        p.parse_response(hx(PRE + "00 03 00 00 03"))


def test_request_parses_back() -> None:
    assert p.parse_request(p.Command.FIND_CARD.frame()) == p.Request(0x20, 0x01, b"")


# -- frame assembler --------------------------------------------------------------------------

def test_assembler_joins_byte_by_byte_input() -> None:
    frame = p.Command.READ_TEXT_PHOTO.frame()
    asm = p.FrameAssembler()
    out = [f for b in frame for f in asm.feed(bytes([b]))]
    assert out == [frame]
    assert asm.pending == 0


def test_assembler_skips_leading_garbage_and_splits_two_frames() -> None:
    a, b = hx(PRE + "00 04 00 00 80 84"), hx(PRE + "00 04 00 00 90 94")
    asm = p.FrameAssembler()
    # noise that contains partial preambles, including one split across chunks
    assert asm.feed(b"\x00\xAA\xAA\x13\xAA\xAA") == []
    assert asm.feed(b"\xAA" + a[:3]) == []
    assert asm.feed(a[3:] + b) == [a, b]
    assert asm.discarded == 7


def test_assembler_skips_a_false_preamble_with_an_absurd_length() -> None:
    good = hx(PRE + "00 04 00 00 90 94")
    asm = p.FrameAssembler()
    assert asm.feed(hx(PRE + "FF FF") + good) == [good]


def test_assembler_reports_an_incomplete_frame() -> None:
    asm = p.FrameAssembler()
    asm.feed(hx(PRE + "00 04 00"))
    assert asm.in_frame and asm.expected_total() == 11
    asm.clear()
    assert not asm.in_frame and asm.pending == 0


# -- read answer and text block ---------------------------------------------------------------

def read_answer(card: IdentityCard, fingerprint: bytes | None = None) -> bytes:
    data = p.build_read_data(encode_text_block(card), card.photo, fingerprint)
    return p.build_response(0, 0, 0x90, data)


def test_read_answer_has_the_documented_shape() -> None:
    card = sample_cards()[0]
    frame = read_answer(card)
    assert len(frame) == 1295
    assert frame[5:14] == hx("05 08 00 00 90 01 00 04 00")
    assert frame[14:14 + 256] == encode_text_block(card)
    blocks = p.split_read_data(p.parse_response(frame).data)
    assert blocks.photo == card.photo and len(blocks.photo) == 1024


@pytest.mark.parametrize("fp_len, total", [(0, 1297), (512, 1809), (1024, 2321)])
def test_read_with_fingerprint_moves_text_to_offset_16(fp_len: int, total: int) -> None:
    card = sample_cards()[1]
    frame = read_answer(card, bytes(fp_len))
    assert len(frame) == total
    assert frame[16:16 + 256] == encode_text_block(card)
    blocks = p.split_read_data(p.parse_response(frame).data, with_fingerprint=True)
    assert len(blocks.fingerprint) == fp_len and blocks.text == encode_text_block(card)


def test_read_data_with_wrong_block_lengths_is_a_protocol_error() -> None:
    data = p.build_read_data(bytes(256), bytes(1024))
    with pytest.raises(DeviceProtocolError, match="offset 10"):
        p.split_read_data(data[:-1])
    with pytest.raises(DeviceProtocolError, match="text length is 255"):
        p.split_read_data(b"\x00\xFF" + data[2:])


def test_text_block_layout_offsets() -> None:
    text = encode_text_block(sample_cards()[0])
    assert len(text) == 256
    assert text[0:4].decode("utf-16-le") == "张三" and text[4:6] == b" \x00"
    assert text[30:32].decode("utf-16-le") == "2"
    assert text[32:36].decode("utf-16-le") == "01"
    assert text[36:52].decode("utf-16-le") == "19491231"
    assert text[122:158].decode("utf-16-le") == "11010519491231002X"
    assert text[204:208].decode("utf-16-le") == "长期"
    assert text[248:250] == b" \x00"


def test_sample_resident_card_decodes() -> None:
    card = sample_cards()[0]
    got = decode_text_block(encode_text_block(card), card.photo)
    assert (got.name, got.gender, got.nation) == ("张三", "女", "汉")
    assert got.birth_date == dt.date(1949, 12, 31)
    assert got.valid_from == dt.date(2010, 1, 1) and got.valid_to is None and got.long_term
    assert got.card_type == "resident" and got.photo == card.photo
    assert got.masked()["id_number"] == "1101**********002X"
    assert got.masked()["validity"] == "2010.01.01-长期"


def test_taiwan_residence_permit_decodes() -> None:
    card = next(c for c in sample_cards() if c.card_type == "J")
    text = encode_text_block(card)
    assert text[248:250].decode("utf-16-le") == "J"
    got = decode_text_block(text, card.photo)
    assert got.card_type == "J" and got.id_number.startswith("830000")
    assert got.pass_number == "01234567" and got.issue_count == 1 and got.nation == ""
    assert got.masked()["card_type"] == "港澳台居民居住证"


def test_sample_cards_are_consistent_with_gb11643() -> None:
    cards = sample_cards()
    assert {c.gender for c in cards} == {"男", "女"}
    for c in cards:
        assert citizen_id_valid(c.id_number), c
        assert citizen_id_gender(c.id_number) == c.gender
        assert c.id_number[6:14] == c.birth_date.strftime("%Y%m%d")
        assert decode_text_block(encode_text_block(c), c.photo) == c


def test_nation_table_is_complete() -> None:
    assert len(NATIONS) == 58
    assert [NATIONS[k] for k in ("01", "22", "56", "97", "98")] == ["汉", "畲", "基诺", "其他", "外国血统"]
    assert all(f"{i:02d}" in NATIONS for i in range(1, 57))


def test_repr_and_masked_never_show_the_full_name_or_number() -> None:
    card = sample_cards()[1]
    shown = repr(card) + str(card) + str(card.masked())
    assert card.id_number not in shown and card.name not in shown
    assert "3502**********0030" in repr(card)


def test_wipe_blanks_the_personal_fields() -> None:
    card = sample_cards()[0]
    card.wipe()
    assert card.name == card.id_number == card.address == card.issuer == ""
    assert card.photo == b"" and card.valid_to is None


def corrupt_text(offset: int, value: str) -> bytes:
    text = bytearray(encode_text_block(sample_cards()[0]))
    raw = value.encode("utf-16-le")
    text[offset:offset + len(raw)] = raw
    return bytes(text)


def test_unknown_nation_code_names_its_offset() -> None:
    with pytest.raises(DeviceProtocolError, match=r"offset 32: unknown nation code '99'"):
        decode_text_block(corrupt_text(32, "99"), b"")


def test_impossible_birth_date_names_its_offset() -> None:
    with pytest.raises(DeviceProtocolError, match=r"offset 36: birth date is not a YYYYMMDD date") as info:
        decode_text_block(corrupt_text(36, "19491331"), b"")
    assert "19491331" not in str(info.value)  # error messages reach logs: no personal values


def test_short_text_block_is_rejected() -> None:
    with pytest.raises(DeviceProtocolError, match="255 bytes"):
        decode_text_block(bytes(255), b"")


def test_unknown_card_type_flag_is_unsupported_not_corrupt() -> None:
    with pytest.raises(UnsupportedCardType) as info:
        decode_text_block(corrupt_text(248, "Q"), b"")
    assert not isinstance(info.value, DeviceProtocolError) and info.value.flag == "Q"


def _layout(fields: list[tuple[str, int]]) -> bytes:
    out = b"".join((v + " " * n)[:n // 2].encode("utf-16-le") for v, n in fields)
    assert len(out) == 256
    return out


def test_2017_foreign_permanent_resident_card_decodes_from_the_published_table() -> None:
    # Byte counts as in the 2017 card's machine-readable item table (textblock.py docstring).
    text = _layout([("ZHANG, SAN", 120), ("1", 2), ("USA350280010101", 30), ("USA", 6), ("张三", 30),
                    ("20200101", 16), ("20300101", 16), ("19800101", 16), ("01", 4), ("3502", 8), ("I", 2),
                    ("", 6)])
    got = decode_text_block(text, b"")
    assert (got.card_type, got.english_name, got.nationality, got.name) == ("I", "ZHANG, SAN", "USA", "张三")
    assert got.id_number == "USA350280010101" and got.issuer == "3502" and got.card_version == "01"
    assert got.birth_date == dt.date(1980, 1, 1) and got.valid_to == dt.date(2030, 1, 1)
    assert got.gender == "男" and got.nation == "" and got.address == ""


def test_2023_foreign_permanent_resident_card_decodes_with_its_name_split_over_two_fields() -> None:
    english = "MONTGOMERY-WHITFIELD, ALEXANDRA CATHERINE"  # 41 characters: 35 + 6
    text = _layout([("蒙蒂", 30), ("2", 2), ("01", 4), ("19900315", 16), (english[:35], 70),
                    ("93584019900315002X", 36), ("", 30), ("20240102", 16), ("20340102", 16),
                    (english[35:], 22), ("USA", 6), ("Y", 2), ("", 6)])
    got = decode_text_block(text, b"")
    assert (got.card_type, got.name, got.english_name) == ("Y", "蒙蒂", english)
    assert got.id_number == "93584019900315002X" and got.issue_count == 1 and got.gender == "女"
    assert got.birth_date == dt.date(1990, 3, 15) and got.valid_from == dt.date(2024, 1, 2)
    assert got.masked()["card_type"] == "外国人永久居留身份证（2023版）"


def test_foreign_card_without_a_chinese_name_goes_by_its_english_name() -> None:
    card = sample_foreign_cards()[1]
    card.name = card.english_name
    got = decode_text_block(encode_text_block(card), b"")
    assert got.name == card.english_name


@pytest.mark.parametrize("card", sample_cards() + sample_foreign_cards(), ids=lambda c: c.card_type)
def test_every_card_type_round_trips_through_its_layout(card: IdentityCard) -> None:
    text = encode_text_block(card)
    assert len(text) == 256
    assert decode_text_block(text, card.photo) == card


@pytest.mark.parametrize("code", sorted(NATIONS))
def test_every_nation_code_decodes(code: str) -> None:
    text = corrupt_text(32, code)
    assert decode_text_block(text, b"").nation == NATIONS[code]


def test_j_issue_count_of_odd_digits_is_none_not_a_crash() -> None:
    card = sample_cards()[2]
    text = bytearray(encode_text_block(card))
    text[238:242] = "²³".encode("utf-16-le")  # digits to str.isdigit(), not to int()
    assert decode_text_block(bytes(text), b"").issue_count is None


def test_short_len_is_named_when_the_following_bytes_complete_the_frame() -> None:
    body = p.build_response(0, 0, p.SW3_CARD_FOUND, bytes(4))[7:-1]  # SW1 SW2 SW3 + 4 data bytes
    head = (7).to_bytes(2, "big") + body  # a sender that counted one byte too few (LEN 7, not 8)
    sent = p.PREAMBLE + head + bytes([p.xor_checksum(head)])
    frame, following = sent[:p.HEADER_LEN + 7], sent[p.HEADER_LEN + 7:]  # where LEN cuts it
    with pytest.raises(DeviceProtocolError, match="checksum error"):
        p.parse_response(frame)  # alone, a cut frame cannot be told from a bad checksum
    with pytest.raises(DeviceProtocolError, match=r"short frame: LEN at offset 5 says 7 bytes follow, .* for 8"):
        p.parse_response(frame, following=following)


def test_a_good_frame_is_not_called_short_because_bytes_follow() -> None:
    whole = p.build_response(0, 0, p.SW3_OK)
    assert p.parse_response(whole, following=b"\x00\x94\x94").ok
