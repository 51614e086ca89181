"""The read of one social security card, as a sequence of APDUs over any transport.

:func:`read_social_security_card` takes a ``transmit(apdu) -> answer`` function (the answer is the
response data followed by SW1 SW2), so the sequence is the same over pyscard, in tests and in
benchmarks. It follows ISO 7816-4's T=0 conventions a reader may pass through: ``61xx`` (more data:
GET RESPONSE) and ``6Cxx`` (wrong Le: repeat with the right one).

A card is read whole or not at all: any refused command, malformed answer or failing field
raises, and nothing of the partly read card is returned or kept.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from devices.base import DeviceProtocolError
from devices.smartcard import tlv
from devices.smartcard.pcsc import CARD_REMOVED, CardGone
from devices.smartcard.ssc import (
    FIELDS,
    SELECT_EF05,
    SELECT_EF06,
    SELECT_SSSE,
    SW_OK,
    CardStatusError,
    NotSocialSecurityCard,
    SocialSecurityCard,
    decode_fields,
    read_record,
)

Transmit = Callable[[bytes], bytes]

_MAX_GET_RESPONSE = 16  # a record is at most 256 bytes; a longer chain means a confused card
_SELECTS = {0xEF05: SELECT_EF05, 0xEF06: SELECT_EF06}


def get_response(le: int) -> bytes:
    """GET RESPONSE for ``le`` bytes (ISO 7816-4; after a ``61xx``)."""
    return bytes([0x00, 0xC0, 0x00, 0x00, le])


def split_answer(step: str, answer: bytes) -> tuple[bytes, int]:
    """``(data, status word)`` of an answer; :class:`DeviceProtocolError` when it is too short.

    No answer at all is :class:`~devices.smartcard.pcsc.CardGone`: every card answer carries a
    status word, and an empty one is what a reader passes on when the card left mid-command (vpcd
    does).
    """
    if not answer:
        raise CardGone(f"{step}: the card gave no answer: {CARD_REMOVED}")
    if len(answer) < 2:
        raise DeviceProtocolError(f"{step}: the card answered {len(answer)} byte(s), "
                                  "too few for a status word")
    return bytes(answer[:-2]), (answer[-2] << 8) | answer[-1]


def exchange(transmit: Transmit, apdu: bytes, step: str) -> tuple[bytes, int]:
    """Send ``apdu`` and return ``(data, status word)``, following 61xx and 6Cxx."""
    data, sw = split_answer(step, transmit(apdu))
    if sw >> 8 == 0x6C and len(apdu) >= 5:
        data, sw = split_answer(step, transmit(apdu[:-1] + bytes([sw & 0xFF])))
    chunks = [data]
    for _ in range(_MAX_GET_RESPONSE):
        if sw >> 8 != 0x61:
            return b"".join(chunks), sw
        data, sw = split_answer(f"{step} (GET RESPONSE)", transmit(get_response(sw & 0xFF)))
        chunks.append(data)
    raise DeviceProtocolError(f"{step}: the card kept announcing more data after "
                              f"{_MAX_GET_RESPONSE} GET RESPONSE commands")


def read_fields(transmit: Transmit) -> dict[int, bytes]:
    """SELECT the SSSE application, then EF05 and EF06, and READ RECORD every field of
    :data:`~devices.smartcard.ssc.FIELDS`: the raw value by tag.

    Raises :class:`NotSocialSecurityCard` when the card has no SSSE application,
    :class:`CardStatusError` for a refused command, :class:`~devices.smartcard.tlv.TlvError` for
    a malformed record.
    """
    _, sw = exchange(transmit, SELECT_SSSE, "SELECT SSSE")
    if sw != SW_OK:
        if sw in (0x6283, 0x9303):  # the application exists but is blocked: a card for the counter
            raise CardStatusError("SELECT SSSE", sw, retryable=False)
        raise NotSocialSecurityCard(sw)
    values: dict[int, bytes] = {}
    current_ef = 0
    for spec in FIELDS:
        if spec.ef != current_ef:
            step = f"SELECT {spec.ef:04X}"  # "SELECT EF05"
            _, sw = exchange(transmit, _SELECTS[spec.ef], step)
            if sw != SW_OK:
                raise CardStatusError(step, sw)
            current_ef = spec.ef
        step = f"READ RECORD {spec.tag:02X} ({spec.label})"
        data, sw = exchange(transmit, read_record(spec.tag), step)
        if sw != SW_OK:
            raise CardStatusError(step, sw)
        values[spec.tag] = tlv.decode_record(data, spec.tag)
    return values


def read_social_security_card(transmit: Transmit, *, today: _dt.date | None = None) -> SocialSecurityCard:
    """Read and decode the card behind ``transmit``; see :func:`read_fields` for the errors, plus
    :class:`~devices.smartcard.ssc.SscDataError` for a field that fails its check."""
    values = read_fields(transmit)
    try:
        return decode_fields(values, today=today)
    finally:
        values.clear()  # raw personal bytes: drop them as soon as the card is decoded
