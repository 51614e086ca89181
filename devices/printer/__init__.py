"""Receipt printing: layout and rendering, the ESC/POS printer adapter, and a virtual printer."""

from kiosk.endpoints import UsbAddress, parse_usb_uri

from .connections import printer_endpoint
from .escpos_stream import (
    Token,
    columns_for,
    display_width,
    qr_payloads,
    stream_to_png,
    stream_to_text,
    tokenize,
)
from .health import PaperLevel, PrinterHealth, decode_status
from .jobs import PrintOutcome, PrintState
from .printer import REPRINT_MARK, ReceiptPrinter
from .receipt import ReceiptLayout, render_escpos, render_png, render_text
from .simulator import VirtualPrinter

__all__ = [
    "REPRINT_MARK",
    "PaperLevel",
    "PrintOutcome",
    "PrintState",
    "PrinterHealth",
    "ReceiptLayout",
    "ReceiptPrinter",
    "Token",
    "UsbAddress",
    "VirtualPrinter",
    "columns_for",
    "decode_status",
    "display_width",
    "parse_usb_uri",
    "printer_endpoint",
    "qr_payloads",
    "render_escpos",
    "render_png",
    "render_text",
    "stream_to_png",
    "stream_to_text",
    "tokenize",
]
