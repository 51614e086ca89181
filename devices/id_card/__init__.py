"""Resident ID card reader (二代证 SAM_V over UART): protocol, identity decoding, driver, simulator.

Importing this package opens nothing and starts nothing.
"""

from devices.id_card.checks import InvalidCard, card_problems
from devices.id_card.identity import (
    NATIONS,
    IdentityCard,
    UnsupportedCardType,
    sample_cards,
    sample_foreign_cards,
)
from devices.id_card.protocol import (
    SW3_MEANINGS,
    Command,
    FrameAssembler,
    Response,
    SamRefused,
    build_frame,
    build_response,
    parse_request,
    parse_response,
)
from devices.id_card.reader import IdCardReader
from devices.id_card.simulator import IdReaderSimulator
from devices.id_card.textblock import decode_text_block, encode_text_block

__all__ = [
    "NATIONS", "SW3_MEANINGS", "Command", "FrameAssembler", "IdCardReader", "IdReaderSimulator",
    "IdentityCard", "InvalidCard", "Response", "SamRefused", "UnsupportedCardType", "build_frame",
    "build_response", "card_problems", "decode_text_block", "encode_text_block", "parse_request",
    "parse_response", "sample_cards", "sample_foreign_cards",
]
