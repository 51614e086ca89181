"""The kiosk's receipt: one layout model, rendered to ESC/POS bytes, plain text or a PNG preview.

All three renderers start from the same list of paper items (:func:`layout_items`), so the
text in a log, the preview on screen and the paper agree line for line.

Personal data: :class:`ReceiptLayout` never masks anything. Callers pass values that are
already masked (``kiosk.privacy.mask_id_number`` and friends, GB/T 35273 §7.2); the
renderers print them exactly as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .escpos_lib import feed_and_cut, qr_command
from .escpos_stream import (
    PaperItem,
    char_width,
    columns_for,
    display_width,
    draw_paper,
    item_text,
)

# Text bytes are built here rather than through python-escpos: it re-encodes text (mangling
# Chinese, DEVICES.md §3). Its QR command and cut bytes are used (devices.printer.escpos_lib).
INIT = b"\x1b@"
CJK_ON, CJK_OFF = b"\x1c&", b"\x1c."
LF = b"\n"
_ALIGN_BYTES = {"left": b"\x1ba\x00", "center": b"\x1ba\x01", "right": b"\x1ba\x02"}
QR_MODULE = {58: 5, 80: 6}  # dots per QR module: ~ 0.6–0.75 mm, easy for phone cameras
RATING_QR_MODULE = {58: 4, 80: 5}  # the rating link is shorter and secondary: a smaller code

_LABELS = {
    "zh": {"tracking_no": "办件编号", "verification_code": "验证码", "kiosk_id": "终端编号",
           "place": "办理地点", "printed_at": "打印时间", "scan": "扫码查询办理进度",
           "rate": "扫码评价本次服务（好差评）", "bill": "扫码查验或下载财政电子票据", "colon": "："},
    "en": {"tracking_no": "Tracking no.", "verification_code": "Verification code",
           "kiosk_id": "Kiosk", "place": "Place", "printed_at": "Printed",
           "scan": "Scan to follow progress", "rate": "Scan to rate this service",
           "bill": "Scan to verify or download the electronic fiscal bill", "colon": ": "},
}


@dataclass(frozen=True)
class ReceiptLayout:
    """Everything printed on one receipt (凭条 / 回执).

    ``rows`` are (label, value) pairs whose values are ALREADY MASKED by the caller
    (ID numbers ``3502**********1234``, phones ``139****5678``, names ``张**``): the
    renderers print them unchanged. ``lines`` are free text paragraphs, wrapped to the
    paper width. ``language`` ("zh" or "en") picks the fixed labels.
    """

    title: str
    tracking_no: str
    kiosk_id: str
    place: str
    printed_at: datetime
    subtitle: str | None = None
    lines: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)
    qr_url: str | None = None
    verification_code: str | None = None
    rating_prompt: str | None = None
    """A line of text in the footer (the test slip's hint); a receipt's rating is ``rating_url``."""
    rating_url: str | None = None
    """The platform's 好差评 page for this receipt, printed as a QR code the resident rates by."""
    language: str = "zh"
    bill_url: str | None = None
    """A paid fee's 财政电子票据: its verification URL, printed as a QR code to verify or download it."""


def wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` columns.

    Chinese may break between any two characters; Latin words and numbers are kept
    whole unless longer than a line. Closing punctuation (，。）etc.) is not left at
    the start of a line (避头点): the character before it moves down with it.
    """
    if width < 2:
        raise ValueError("line width must be at least 2 columns")
    lines: list[str] = []
    for para in text.split("\n"):
        pieces = _pieces(para)
        line = ""
        for piece in pieces:
            if display_width(line + piece) <= width:
                line += piece
                continue
            if piece.isspace():
                lines.append(line.rstrip())
                line = ""
                continue
            carried = ""
            while len(line) > 1 and (carried + piece)[0] in _NO_LINE_START:
                line, carried = line[:-1], line[-1] + carried
            piece = carried + piece
            if line.strip():
                lines.append(line.rstrip())
            line = ""
            for ch in piece:  # a piece wider than a line is split by characters
                if display_width(line) + char_width(ch) > width:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line.rstrip())
    return lines


def wrap_balanced(text: str, width: int) -> list[str]:
    """Like :func:`wrap` but with lines of similar length (for centred titles):
    the narrowest width that still needs no more lines than ``width`` does."""
    lines = wrap(text, width)
    best = lines
    for narrower in range(width - 1, 1, -1):
        trial = wrap(text, narrower)
        if len(trial) > len(lines):
            break
        best = trial
    return best


_NO_LINE_START = set("，。、；：？！）》」』】〕”’,.;:?!)")


def _pieces(text: str) -> list[str]:
    """Split into unbreakable pieces: runs of ASCII non-space, single spaces, single other chars."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) < 0x80 and not ch.isspace():
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out


def _row_lines(label: str, value: str, key_cols: int | None, columns: int, colon: str) -> list[str]:
    """A label/value row: values start in column ``key_cols`` (right after the label when
    None) and wrap under themselves. A value that would have to be cut inside a number or
    word (an ID, a tracking number) goes on its own line instead, indented."""
    label = label.rstrip("：: ") + colon
    label_w = display_width(label)
    if key_cols is None:
        key_cols = label_w
    room = columns - key_cols
    if label_w > key_cols or room < 2 or any(display_width(p) > room for p in _pieces(value)):
        return wrap(label, columns) + [("  " + v).rstrip() for v in wrap(value, columns - 2)]
    value_lines = wrap(value, columns - key_cols) or [""]
    first = label + " " * (key_cols - label_w) + value_lines[0]
    return [first.rstrip()] + [(" " * key_cols + v).rstrip() for v in value_lines[1:]]


def layout_items(layout: ReceiptLayout, paper_mm: int = 80) -> list[PaperItem]:
    """The receipt as paper items (styled lines, QR, cut): the single source for every renderer."""
    columns = columns_for(paper_mm)
    labels = _LABELS.get(layout.language, _LABELS["zh"])
    colon = labels["colon"]
    rule = PaperItem("line", "-" * columns)
    items: list[PaperItem] = []

    def text(t: str, align: str = "left", bold: bool = False) -> None:
        items.extend(PaperItem("line", ln, align, bold) for ln in wrap(t, columns))

    # Double size halves the columns a line can hold.
    items.extend(PaperItem("line", ln, "center", True, 2, 2)
                 for ln in wrap_balanced(layout.title, columns // 2))
    if layout.subtitle:
        text(layout.subtitle, "center")
    items.append(rule)
    for para in layout.lines:
        text(para)
    if layout.rows:
        if layout.lines:
            items.append(PaperItem("line"))
        key_cols = min(columns // 2, max(display_width(k.rstrip("：: ") + colon) for k, _ in layout.rows) + 1)
        for key, value in layout.rows:
            items.extend(PaperItem("line", ln) for ln in _row_lines(key, value, key_cols, columns, colon))
    items.append(rule)
    # The number a resident reads out or types: its Latin letters and digits printed bold and double
    # height (the printer's 12-dot Font A is narrow), on a line of its own under the label. A sheet that
    # is no case (a printed guide) has none: "" leaves the block out.
    if layout.tracking_no:
        items.append(PaperItem("line", labels["tracking_no"].rstrip("：: ") + colon.rstrip()))
        items.extend(PaperItem("line", ln, "center", True, 1, 2) for ln in wrap(layout.tracking_no, columns))
    if layout.verification_code:
        items.extend(PaperItem("line", ln) for ln in
                     _row_lines(labels["verification_code"], layout.verification_code, None, columns, colon))
    if layout.qr_url:
        items.append(PaperItem("line"))  # a quiet zone above the code, or phones struggle to find it
        items.append(PaperItem("qr", align="center", qr_data=layout.qr_url,
                               qr_module=QR_MODULE.get(paper_mm, 6), qr_error="M"))
        text(labels["scan"], "center")
    # Secondary codes (the 财政电子票据, the 好差评 page): each under a rule, smaller than the progress code.
    for url, label in ((layout.bill_url, "bill"), (layout.rating_url, "rate")):
        if url:
            items.append(rule)
            items.append(PaperItem("line"))
            items.append(PaperItem("qr", align="center", qr_data=url,
                                   qr_module=RATING_QR_MODULE.get(paper_mm, 5), qr_error="M"))
            text(labels[label], "center")
    if items[-1] is not rule:  # a sheet with no number and no codes (a guide) has one rule, not two
        items.append(rule)
    if layout.rating_prompt:
        text(layout.rating_prompt, "center")
    for key in ("kiosk_id", "place"):
        items.extend(PaperItem("line", ln) for ln in
                     _row_lines(labels[key], getattr(layout, key), None, columns, colon))
    stamp = layout.printed_at.strftime("%Y-%m-%d %H:%M:%S")
    items.extend(PaperItem("line", ln) for ln in _row_lines(labels["printed_at"], stamp, None, columns, colon))
    items.append(PaperItem("cut"))  # the cut command itself feeds to the cutter (feed_and_cut)
    return items


def encode_text(text: str) -> bytes:
    """Text bytes for the printer: pure ASCII as is; anything else as FS & + GB18030 + FS .

    GB18030 covers every Unicode character, so nothing is replaced by '?'. Characters
    outside GBK (e.g. ¥ U+00A5, which GB18030 writes in 4 bytes) need a printer with a
    GB18030 font; ￥ (U+FFE5) is the GBK full-width sign if a printer lacks one.
    """
    if text.isascii():
        return text.encode("ascii")
    return CJK_ON + text.encode("gb18030") + CJK_OFF


def items_to_escpos(items: list[PaperItem]) -> bytes:
    """ESC/POS bytes for paper items; styles are sent only when they change."""
    out = bytearray(INIT)
    align, bold, size = "left", False, (1, 1)
    for it in items:
        if it.kind == "cut":
            out += feed_and_cut()
            continue
        if it.kind == "line" and not it.text:
            out += LF  # blank lines ignore style
            continue
        if it.align != align:
            out += _ALIGN_BYTES[it.align]
            align = it.align
        if it.kind == "qr":
            out += qr_command(it.qr_data, it.qr_module, it.qr_error)
            continue
        if it.bold != bold:
            out += b"\x1bE" + (b"\x01" if it.bold else b"\x00")
            bold = it.bold
        if (it.width, it.height) != size:
            out += b"\x1d!" + bytes([((it.width - 1) << 4) | (it.height - 1)])
            size = (it.width, it.height)
        out += encode_text(it.text) + LF
    return bytes(out)


def render_escpos(layout: ReceiptLayout, paper_mm: int = 80) -> bytes:
    """The receipt as ESC/POS bytes ready for :meth:`ReceiptPrinter.print_job`.

    ESC @, a centred bold double-size title, Chinese runs as FS & GB18030 FS ., rows
    aligned by display width, a native QR (GS ( k, model 2, level M) and a partial cut.
    """
    return items_to_escpos(layout_items(layout, paper_mm))


def render_text(layout: ReceiptLayout, paper_mm: int = 80) -> str:
    """The receipt as monospace text, line for line as printed (QR as ``[QR]``, cut as ``[cut]``)."""
    columns = columns_for(paper_mm)
    return "\n".join(item_text(it, columns) for it in layout_items(layout, paper_mm))


def render_png(layout: ReceiptLayout, paper_mm: int = 80) -> bytes:
    """A PNG preview (384 px wide for 58 mm, 576 px for 80 mm), Chinese drawn in Noto Sans SC."""
    return draw_paper(layout_items(layout, paper_mm), paper_mm)
