"""TLV decoding and the social security card's fields: what a card's bytes decode to, and the clear
errors for truncated, wrongly nested or failing data. No pcscd needed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.base import DeviceError, DeviceProtocolError
from devices.smartcard import tlv
from devices.smartcard.exchange import exchange, read_social_security_card, split_answer
from devices.smartcard.pcsc import CardGone, CardMute
from devices.smartcard.reader import resident_notice
from devices.smartcard.ssc import (
    FIELDS,
    SELECT_SSSE,
    CardStatusError,
    NotSocialSecurityCard,
    SscDataError,
    decode_fields,
    encode_fields,
    read_record,
    sample_cards,
)
from devices.smartcard.tlv import TlvError

TODAY = dt.date(2025, 1, 1)


# -- TLV ------------------------------------------------------------------------------------------


def test_a_record_decodes_to_its_value() -> None:
    assert tlv.decode_record(bytes.fromhex("0703") + b"A12", 0x07) == b"A12"


def test_long_lengths_decode() -> None:
    value = bytes(200)
    assert tlv.decode_record(tlv.encode(0x09, value), 0x09) == value
    assert tlv.encode(0x09, value)[:3] == bytes([0x09, 0x81, 200])


def test_truncated_value_names_the_tag_and_offset() -> None:
    with pytest.raises(TlvError, match=r"offset 0: tag 08 says 18 bytes but only 5 remain.*truncated"):
        tlv.decode_record(bytes([0x08, 18]) + b"11010", 0x08)


def test_missing_length_is_reported() -> None:
    with pytest.raises(TlvError, match="ends after the tag"):
        tlv.decode_record(bytes([0x08]), 0x08)


def test_truncated_long_length_field_is_reported() -> None:
    with pytest.raises(TlvError, match="inside a 3-byte length field"):
        tlv.decode_record(bytes([0x09, 0x82, 0x01]), 0x09)


def test_unsupported_length_form_is_reported() -> None:
    with pytest.raises(TlvError, match="length byte 84"):
        tlv.decode_record(bytes([0x09, 0x84, 0, 0, 0, 1, 0]), 0x09)


def test_the_wrong_tag_is_refused() -> None:
    with pytest.raises(TlvError, match="expected tag 09, found tag 08"):
        tlv.decode_record(tlv.encode(0x08, b"x"), 0x09)


def test_trailing_item_in_a_record_is_refused() -> None:
    with pytest.raises(TlvError, match="unexpected tag 0A after tag 09"):
        tlv.decode_record(tlv.encode(0x09, b"x") + tlv.encode(0x0A, b"1"), 0x09)


def test_trailing_padding_is_accepted_but_not_data_after_it() -> None:
    assert tlv.decode_record(tlv.encode(0x0A, b"1") + b"\x00\xff", 0x0A) == b"1"
    with pytest.raises(TlvError, match="padding byte 00 followed by more data"):
        tlv.decode_record(tlv.encode(0x0A, b"1") + b"\x00\x0a", 0x0A)


def test_empty_record_is_refused() -> None:
    with pytest.raises(TlvError, match="empty"):
        tlv.decode_record(b"", 0x01)


def test_nested_items_decode_with_absolute_offsets() -> None:
    inner = tlv.encode(0x84, b"AID") + tlv.encode(0x85, b"\x01")
    outer = tlv.encode(0x6F, inner)
    (item,) = tlv.decode_all(outer)
    assert [(c.tag, c.value, c.offset) for c in item.children()] == [(0x84, b"AID", 2), (0x85, b"\x01", 7)]


def test_nested_item_overrunning_its_parent_is_reported_at_its_offset() -> None:
    inner = bytes([0x84, 0x09]) + b"AID"  # says 9 bytes, 3 inside the parent
    with pytest.raises(TlvError, match=r"offset 2: tag 84 says 9 bytes but only 3 remain inside tag 6F"):
        tlv.decode_all(tlv.encode(0x6F, inner))


def test_children_of_a_primitive_item_are_refused() -> None:
    (item,) = tlv.decode_all(tlv.encode(0x09, b"ab"))
    with pytest.raises(TlvError, match="primitive"):
        item.children()


def test_tlv_repr_hides_the_value() -> None:
    (item,) = tlv.decode_all(tlv.encode(0x08, b"11010519491231002X"))
    assert "1101" not in repr(item) and "length=18" in repr(item)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=0x0D))
def test_any_bytes_decode_or_raise_tlv_error(data: bytes, tag: int) -> None:
    try:
        tlv.decode_record(data, tag)
    except TlvError as exc:
        assert str(exc).startswith("TLV at offset")


# -- fields -----------------------------------------------------------------------------------------


def test_fields_round_trip() -> None:
    for card in sample_cards():
        decoded = decode_fields(encode_fields(card), today=TODAY)
        assert decoded.revealed() == card.revealed()
    first = decode_fields(encode_fields(sample_cards()[0]), today=TODAY)
    assert (first.region, first.name, first.gender, first.nation) == ("350200", "张三", "女", "汉")
    assert first.birth_date == dt.date(1949, 12, 31)


def test_numeric_fields_are_packed_digits_padded_with_f_and_text_with_zero() -> None:
    raw = encode_fields(sample_cards()[0])
    assert raw[0x01].hex().upper() == "350200D15600000599110145FFFFFFFF"
    assert raw[0x09] == "张三".encode("gbk") + bytes(26)
    assert raw[0x0B] == b"\x01" and raw[0x0A] == b"2"


def _values(**changes: bytes) -> dict[int, bytes]:
    values = encode_fields(sample_cards()[0])
    for key, value in changes.items():
        values[int(key[1:], 16)] = value
    return values


@pytest.mark.parametrize(("changes", "message"), [
    ({"t08": b"110105194912310021"}, r"tag 08 \(social security number\): fails the GB 11643 check"),
    ({"t0D": bytes.fromhex("19491230")}, r"tag 0D \(birth date\): differs"),
    ({"t09": b"\x81\x7f" + bytes(28)}, r"tag 09 \(name\): 30 bytes \[·· ·· 00 .*byte 0 is not GBK text"),
    ({"t09": bytes(30)}, r"tag 09 \(name\): 30 bytes \[00 00 .*\]: empty"),
    ({"t05": bytes.fromhex("20201301")}, r"tag 05 \(issue date\): 4 bytes \[20 20 13 01\]: not a calendar date"),
    ({"t0A": b"7"}, r"tag 0A \(gender\): 1 byte \[3·\]: unknown gender code"),
    ({"t0B": b"\x99"}, r"tag 0B \(nation\): 1 byte \[··\]: not a nation code"),
    ({"t07": b"A0001"}, r"tag 07 \(card number\): 5 bytes \[4· 3· 3· 3· 3·\]: expected 9"),
    ({"t01": bytes(33)}, r"tag 01 \(card identification code\): 33 bytes .*: expected 1 to 32 bytes"),
    ({"t02": b"\x07"}, r"tag 02 \(card type\): 1 byte \[07\]: contains control characters"),
])
def test_bad_fields_are_named_without_their_values(changes: dict[str, bytes], message: str) -> None:
    with pytest.raises(SscDataError, match=message) as info:
        decode_fields(_values(**changes), today=TODAY)
    assert "11010519491231002X" not in str(info.value) and "张三" not in str(info.value)


def test_a_missing_field_fails_the_whole_card() -> None:
    values = _values()
    del values[0x09]
    with pytest.raises(SscDataError, match="tag 09 \\(name\\) was not read"):
        decode_fields(values, today=TODAY)


def test_masked_repr_and_wipe_hide_the_person() -> None:
    card = dataclasses.replace(sample_cards()[0])
    masked = card.masked()
    assert masked["social_security_number"] == "1101**********002X"
    assert masked["name"] == "张*"
    assert masked["card_number"] == "A******01"
    assert masked["card_id_code"].startswith("3502") and "*" in masked["card_id_code"]
    assert "birth_date" not in masked and "issuer" not in masked
    for text in (repr(card), str(card), str(masked)):
        assert "11010519491231002X" not in text and "张三" not in text and "A00000001" not in text
    card.wipe()
    assert card.name == card.social_security_number == card.card_number == ""
    assert card.birth_date == dt.date.min


# -- the APDU sequence over a plain function (the transport is tested with pcscd elsewhere) ------------


def _card_answers(records: dict[int, bytes], *, ssse: bool = True) -> dict[bytes, bytes]:
    answers = {SELECT_SSSE: b"\x90\x00" if ssse else b"\x6a\x82"}
    answers[bytes.fromhex("00A4020002EF05")] = answers[bytes.fromhex("00A4020002EF06")] = b"\x90\x00"
    for spec in FIELDS:
        answers[read_record(spec.tag)] = tlv.encode(spec.tag, records[spec.tag]) + b"\x90\x00"
    return answers


def test_the_read_sequence_follows_get_response_and_wrong_le() -> None:
    answers = _card_answers(encode_fields(sample_cards()[1]))
    name_record = answers[read_record(0x09)]
    answers[read_record(0x09)] = bytes([0x61, len(name_record) - 2])
    answers[bytes([0x00, 0xC0, 0x00, 0x00, len(name_record) - 2])] = name_record
    answers[read_record(0x07)] = bytes([0x6C, 11])
    answers[read_record(0x07)[:-1] + bytes([11])] = tlv.encode(0x07, b"B12345678") + b"\x90\x00"
    card = read_social_security_card(answers.__getitem__, today=TODAY)
    assert (card.name, card.card_number, card.nation) == ("李四", "B12345678", "畲")


def test_a_card_without_the_ssse_application_is_not_a_social_security_card() -> None:
    answers = _card_answers(encode_fields(sample_cards()[0]), ssse=False)
    with pytest.raises(NotSocialSecurityCard, match="not a social security card.*6A82"):
        read_social_security_card(answers.__getitem__, today=TODAY)


def test_a_refused_read_names_the_step_and_status_word() -> None:
    answers = _card_answers(encode_fields(sample_cards()[0]))
    answers[read_record(0x08)] = b"\x69\x82"
    with pytest.raises(CardStatusError, match=r"READ RECORD 08 \(social security number\).*6982 "
                                              r"\(security status not satisfied"):
        read_social_security_card(answers.__getitem__, today=TODAY)


def test_an_answer_without_a_status_word_is_a_protocol_error() -> None:
    with pytest.raises(DeviceProtocolError, match="1 byte\\(s\\), too few for a status word"):
        split_answer("SELECT SSSE", b"\x90")
    with pytest.raises(DeviceProtocolError, match="kept announcing more data"):
        exchange(lambda apdu: b"\x61\x10", SELECT_SSSE, "SELECT SSSE")


def test_every_resident_notice_of_a_failed_read_has_words_in_every_language() -> None:
    messages = tomllib.loads((Path(__file__).resolve().parents[2] / "config" / "messages.toml").read_text("utf-8"))
    keys = {resident_notice(exc) for exc in (
        CardGone("x"), CardMute("x"), SscDataError("x"), NotSocialSecurityCard(0x6A82), DeviceError("x"))}
    assert keys == {"notice_ssc_card_removed", "notice_ssc_card_mute", "notice_ssc_card_unreadable",
                    "notice_card_unsupported"}
    for language in ("zh_CN", "zh_TW", "en"):
        for key in keys:
            assert messages[language][key].strip(), (language, key)
