"""Social security cards as different issuers and card generations write them: one fixture per
encoding variant, each read through the real stack (pyscard, a private pcscd, vpcd and the virtual
card loaded with the variant's raw field bytes), and the same table through :func:`decode_fields`.

Accepted variants must decode to exactly the expected fields; what no issuer writes is refused with
a non-retryable error naming the tag and the bytes (a personal field only by its shape)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from devices.smartcard import tlv
from devices.smartcard.reader import SscReader
from devices.smartcard.ssc import SscDataError, decode_fields, encode_fields, sample_cards

TODAY = dt.date(2025, 1, 1)
WAIT_S = 15.0
BASE = sample_cards()[0]  # 张三, 11010519491231002X, born 1949-12-31, 汉 (01), card 350200…
ASCII_CODE = b"350200D156000005C00D53E43E44E1C3"


@dataclass(frozen=True)
class Variant:
    name: str
    fields: dict[int, bytes]
    expect: dict[str, Any] = field(default_factory=dict)  # revealed() keys that differ from BASE
    refused: str = ""  # regex the refusal must match


ACCEPTED = [
    Variant("this project's own writing: packed digits, text padded with 00", {}),
    Variant("01 as 32 ASCII characters", {0x01: ASCII_CODE},
            {"card_id_code": ASCII_CODE.decode(), "region": "350200"}),
    Variant("01 as 32 packed hex digits, no padding", {0x01: bytes.fromhex("330182D156000005001D9DEADF188001")},
            {"card_id_code": "330182D156000005001D9DEADF188001", "region": "330182"}),
    Variant("01 as ASCII padded with spaces", {0x01: b"350200D15600000599110145" + b" " * 8},
            {"card_id_code": "350200D15600000599110145"}),
    Variant("01 as lower-case ASCII padded with 00", {0x01: ASCII_CODE.lower()[:28] + bytes(4)},
            {"card_id_code": ASCII_CODE.decode()[:28]}),
    Variant("04 as ASCII digits", {0x04: b"350200000000"}),
    Variant("04 as 24 ASCII digits", {0x04: b"350200000000350200000000"},
            {"issuer": "350200000000350200000000"}),
    Variant("04 as ASCII padded with FF", {0x04: b"350200" + b"\xff" * 6}, {"issuer": "350200"}),
    Variant("04 empty (all FF)", {0x04: b"\xff" * 12}, {"issuer": ""}),
    Variant("dates 05, 06, 0D as ASCII digits", {0x05: b"20200701", 0x06: b"20300701", 0x0D: b"19491231"}),
    Variant("0B as two ASCII digits", {0x0B: b"01"}),
    Variant("0B as a packed digit padded with F", {0x0B: b"\x1f"}),
    Variant("0B packed, another nation", {0x0B: b"\x31"}, {"nation": "达斡尔"}),
    Variant("09 padded with FF", {0x09: "张三".encode("gbk") + b"\xff" * 26}),
    Variant("09 padded with spaces", {0x09: "张三".encode("gbk") + b" " * 26}),
    Variant("03 padded with a space", {0x03: b"2.0 "}, {"version": "2.0"}),
    Variant("08 with a lower-case check character", {0x08: b"11010519491231002x"}),
    Variant("06 no expiry: packed 00000000", {0x06: bytes(4)}, {"expiry_date": ""}),
    Variant("06 no expiry: ASCII 00000000", {0x06: b"00000000"}, {"expiry_date": ""}),
    Variant("06 no expiry: all F", {0x06: b"\xff" * 4}, {"expiry_date": ""}),
    Variant("06 no expiry: ASCII FFFFFFFF", {0x06: b"FFFFFFFF"}, {"expiry_date": ""}),
    Variant("a whole card in ASCII", {0x01: ASCII_CODE, 0x04: b"350200000000", 0x05: b"20200701",
                                      0x06: b"20300701", 0x0B: b"01", 0x0D: b"19491231"},
            {"card_id_code": ASCII_CODE.decode()}),
]

REFUSED = [
    Variant("01 ASCII whose region is no mainland province", {0x01: b"810000D156000005C00D53E43E44E1C3"},
            refused=r"tag 01 \(card identification code\): 32 bytes \[3· 3· 3· .*\]: read as ASCII: "
                    "does not start with the 6-digit code of a mainland region"),
    Variant("01 packed without the RID", {0x01: bytes.fromhex("350200A15600000599110145FFFFFFFF")},
            refused=r"tag 01 \(card identification code\): 16 bytes \[.* FF FF FF FF\]: read as packed: no RID"),
    Variant("01 too short", {0x01: b"350200D1"},
            refused=r"tag 01 .*: read as ASCII: 8 characters, expected 16 to 32"),
    Variant("04 with letters", {0x04: b"35AB"},
            refused=r"tag 04 \(issuing organisation\): 4 bytes \[33 35 41 42\]: ASCII text that is not only digits"),
    Variant("04 neither packed nor ASCII", {0x04: bytes.fromhex("35020A")},
            refused=r"tag 04 \(issuing organisation\): 3 bytes \[35 02 0A\]: neither ASCII digits nor packed"),
    Variant("05 not a calendar date", {0x05: b"20200230"},
            refused=r"tag 05 \(issue date\): 8 bytes \[32 30 32 30 30 32 33 30\]: not a calendar date"),
    Variant("05 before any card was issued", {0x05: b"19800101"}, refused=r"tag 05 .*: before 1990"),
    Variant("06 half padding", {0x06: bytes.fromhex("2030FFFF")},
            refused=r"tag 06 \(expiry date\): 4 bytes \[20 30 FF FF\]: neither 4 bytes of packed digits "
                    r"nor 8 ASCII digits"),
    Variant("06 before the issue date", {0x06: b"20190101"}, refused=r"tag 06 .*: not after the issue date"),
    Variant("0B as three ASCII digits", {0x0B: b"001"},
            refused=r"tag 0B \(nation\): 3 bytes \[3· 3· 3·\]: expected 1 to 2 bytes"),
    Variant("0B as two packed bytes", {0x0B: b"\x00\x01"},
            refused=r"tag 0B \(nation\): 2 bytes \[00 ··\]: neither 1 byte of packed digits nor 2 ASCII"),
    Variant("0B as ASCII that is no nation", {0x0B: b"77"}, refused=r"tag 0B .*: not a nation code"),
    Variant("0D differs from the social security number", {0x0D: b"19491230"},
            refused=r"tag 0D \(birth date\): differs from the birth date in the social security number"),
    Variant("0D as ASCII that is no date", {0x0D: b"1949123A"},
            refused=r"tag 0D \(birth date\): 8 bytes \[3· 3· 3· 3· 3· 3· 3· 4·\]: neither"),
]


def _raw(variant: Variant) -> dict[int, bytes]:
    values = encode_fields(BASE)
    values.update(variant.fields)
    return values


def _expected(variant: Variant) -> dict[str, str]:
    return {**BASE.revealed(), **variant.expect}


def _ids(variants: list[Variant]) -> list[str]:
    return [v.name for v in variants]


# -- through pyscard, the private pcscd, vpcd and the virtual card -------------------------------------


def _read(make_card: Any, variant: Variant) -> Any:
    vcard = make_card(BASE, slot=1)
    for tag, value in variant.fields.items():
        vcard.set_record(tag, tlv.encode(tag, value))
    vcard.insert()
    return SscReader("00 01").read_card(timeout_s=WAIT_S)


@pytest.mark.parametrize("variant", ACCEPTED, ids=_ids(ACCEPTED))
def test_each_issuers_encoding_is_read_as_written(make_card: Any, variant: Variant) -> None:
    card = _read(make_card, variant)
    assert card.revealed() == _expected(variant)


@pytest.mark.parametrize("variant", REFUSED, ids=_ids(REFUSED))
def test_what_no_issuer_writes_is_refused_naming_tag_and_bytes(make_card: Any, variant: Variant) -> None:
    with pytest.raises(SscDataError, match=variant.refused) as info:
        _read(make_card, variant)
    assert info.value.retryable is False
    assert "11010519491231002X" not in str(info.value) and "张三" not in str(info.value)


# -- the same table without pcscd (quick to run while changing the decoder) ---------------------------


@pytest.mark.parametrize("variant", ACCEPTED, ids=_ids(ACCEPTED))
def test_decode_accepts_each_variant(variant: Variant) -> None:
    assert decode_fields(_raw(variant), today=TODAY).revealed() == _expected(variant)


@pytest.mark.parametrize("variant", REFUSED, ids=_ids(REFUSED))
def test_decode_refuses_each_variant(variant: Variant) -> None:
    with pytest.raises(SscDataError, match=variant.refused):
        decode_fields(_raw(variant), today=TODAY)


def test_ascii_tags_01_and_04_are_never_read_as_packed() -> None:
    # The misread an earlier decoder made: ASCII "350200…" taken as packed digits gave region 333530.
    card = decode_fields(_raw(ACCEPTED[-1]), today=TODAY)
    assert (card.region, card.issuer) == ("350200", "350200000000")
