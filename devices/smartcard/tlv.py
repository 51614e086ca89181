"""TLV (tag, length, value) decoding for the social security card's records (DEVICES.md §2).

The card's records are simple TLV: a one-byte tag, a length, the value. Lengths follow BER
(``0x81 nn`` and ``0x82 nn nn`` for long values) so a card that uses them still decodes; a tag
with bit 6 set (``0x20``) is constructed and holds TLVs itself, which :meth:`Tlv.children`
decodes with offsets counted from the start of the outermost data.

Hand-written rather than taken from a BER library: the card needs a few dozen lines, and every
error must name the offset and what was wrong, in plain words, so a technician can tell a bad
card from a bad reader. Errors carry no value bytes (they may be personal data).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from devices.base import DeviceProtocolError

CONSTRUCTED = 0x20


class TlvError(DeviceProtocolError):
    """TLV data that breaks its own structure: truncated, overlong, or wrongly nested."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"TLV at offset {offset}: {message}")
        self.offset = offset


@dataclass(frozen=True)
class Tlv:
    """One decoded item. ``offset`` is where its tag byte sits in the outermost data."""

    tag: int
    value: bytes
    offset: int = 0
    header: int = 2  # bytes of tag and length before the value

    @property
    def constructed(self) -> bool:
        return bool(self.tag & CONSTRUCTED)

    def children(self) -> list[Tlv]:
        """The TLVs inside a constructed item. Raises :class:`TlvError` for a primitive one or
        when the inner items do not exactly fill the value (wrong nesting)."""
        if not self.constructed:
            raise TlvError(f"tag {self.tag:02X} is primitive and holds no nested TLVs", offset=self.offset)
        return decode_all(self.value, base=self.offset + self.header, within=f"tag {self.tag:02X}")

    def __repr__(self) -> str:  # values may be personal data: show only their size
        return f"Tlv(tag=0x{self.tag:02X}, length={len(self.value)}, offset={self.offset})"


def _read_length(data: bytes, pos: int, base: int) -> tuple[int, int]:
    """The length at ``data[pos]`` and the position after it."""
    if pos >= len(data):
        raise TlvError("the data ends after the tag, where its length should be", offset=base + pos - 1)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 2:
        raise TlvError(f"length byte {first:02X} is not a length this card uses "
                       "(one byte, or 81/82 followed by one or two bytes)", offset=base + pos)
    if pos + 1 + count > len(data):
        raise TlvError(f"the data ends inside a {count + 1}-byte length field", offset=base + pos)
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def iter_tlv(data: bytes, *, base: int = 0, within: str = "the data") -> Iterator[Tlv]:
    """Decode consecutive TLVs that exactly fill ``data``; ``base`` shifts reported offsets."""
    pos = 0
    while pos < len(data):
        start = pos
        tag = data[pos]
        if tag in (0x00, 0xFF):
            # ISO 7816-4 padding between or after items: nothing more follows that matters.
            if any(b not in (0x00, 0xFF) for b in data[pos:]):
                raise TlvError(f"padding byte {tag:02X} followed by more data inside {within}",
                               offset=base + pos)
            return
        if tag & 0x1F == 0x1F:
            raise TlvError(f"multi-byte tag {tag:02X}.. is not used by this card", offset=base + pos)
        length, pos = _read_length(data, pos + 1, base)
        end = pos + length
        if end > len(data):
            raise TlvError(
                f"tag {tag:02X} says {length} bytes but only {len(data) - pos} remain inside {within} "
                "(truncated answer)", offset=base + start)
        yield Tlv(tag, bytes(data[pos:end]), base + start, pos - start)
        pos = end


def decode_all(data: bytes, *, base: int = 0, within: str = "the data") -> list[Tlv]:
    """Every TLV in ``data``, nested ones checked too: a constructed item whose children overrun
    or underfill it raises :class:`TlvError` here, not later."""
    items = list(iter_tlv(data, base=base, within=within))
    for item in items:
        if item.constructed:
            item.children()
    return items


def decode_record(data: bytes, expected_tag: int) -> bytes:
    """The value of a record that must hold exactly one TLV with ``expected_tag``.

    Raises :class:`TlvError` for an empty record, a different tag (the card answered for another
    field), or bytes left over after the item.
    """
    if not data:
        raise TlvError(f"record for tag {expected_tag:02X} is empty", offset=0)
    items = decode_all(data, within=f"the record for tag {expected_tag:02X}")
    if not items:
        raise TlvError(f"record for tag {expected_tag:02X} holds only padding", offset=0)
    first = items[0]
    if first.tag != expected_tag:
        raise TlvError(f"expected tag {expected_tag:02X}, found tag {first.tag:02X}", offset=first.offset)
    if len(items) > 1:
        raise TlvError(f"unexpected tag {items[1].tag:02X} after tag {expected_tag:02X} in one record",
                       offset=items[1].offset)
    return first.value


def encode(tag: int, value: bytes) -> bytes:
    """One TLV with the shortest BER length (used by the virtual card and tests)."""
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    elif n <= 0xFFFF:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    else:
        raise ValueError(f"a TLV value of {n} bytes is too long")
    return bytes([tag]) + length + value
