"""Receipt printing: layout and rendering, the ESC/POS printer adapter, and a virtual printer."""

from .escpos_stream import (
    Token,
    columns_for,
    display_width,
    qr_payloads,
    stream_to_png,
    stream_to_text,
    tokenize,
)
from .printer import PaperLevel, PrinterHealth, PrintOutcome, ReceiptPrinter, decode_status
from .receipt import ReceiptLayout, render_escpos, render_png, render_text
from .simulator import VirtualPrinter

__all__ = [
    "PaperLevel",
    "PrintOutcome",
    "PrinterHealth",
    "ReceiptLayout",
    "ReceiptPrinter",
    "Token",
    "VirtualPrinter",
    "columns_for",
    "decode_status",
    "display_width",
    "qr_payloads",
    "render_escpos",
    "render_png",
    "render_text",
    "stream_to_png",
    "stream_to_text",
    "tokenize",
]
