"""Social security card 社会保障卡 over PC/SC: TLV decoding, the card's fields and APDUs, the
pyscard adapter with its own supervision, reader discovery, a vpcd virtual card and a private
pcscd environment for tests and the simulator mode.

Importing this package opens nothing, starts nothing and does not load pyscard.
"""

from devices.smartcard.bounded import read_card_bounded
from devices.smartcard.discovery import list_readers
from devices.smartcard.exchange import read_fields, read_social_security_card
from devices.smartcard.pcsc import CardGone, CardMute, PcscServiceUnavailable, ReaderGone
from devices.smartcard.pcscd_env import PcscdEnvironment, PcscdUnavailable
from devices.smartcard.reader import SscReader
from devices.smartcard.simulator import SscReaderSimulator
from devices.smartcard.ssc import (
    FIELDS,
    SSSE_AID,
    CardStatusError,
    NotSocialSecurityCard,
    SocialSecurityCard,
    SscDataError,
    decode_fields,
    encode_fields,
    sample_cards,
)
from devices.smartcard.tlv import Tlv, TlvError
from devices.smartcard.virtual_card import VirtualSscCard

__all__ = [
    "FIELDS", "SSSE_AID", "CardGone", "CardMute", "CardStatusError", "NotSocialSecurityCard", "PcscServiceUnavailable",
    "PcscdEnvironment", "PcscdUnavailable", "ReaderGone", "SocialSecurityCard", "SscDataError", "SscReader",
    "SscReaderSimulator", "Tlv", "TlvError", "VirtualSscCard", "decode_fields", "encode_fields", "list_readers",
    "read_card_bounded", "read_fields", "read_social_security_card", "sample_cards",
]
