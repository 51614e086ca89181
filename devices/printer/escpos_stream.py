"""Read an ESC/POS byte stream back: tokens, plain text and a picture of the paper.

The kiosk's tests and the printer simulator use this to look at what was actually
*sent* rather than at what the code meant to send. The tokenizer knows the handful
of commands the kiosk emits (DEVICES.md §3) and a few common ones;
anything else becomes a ``raw`` token so a stream from another program never
crashes it. Joining every token's ``raw`` bytes gives back the input exactly.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.fonts import cjk_font_path

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A

#: Font A is 12 × 24 dots; a column is 12 dots, so 384 dots (58 mm) hold 32 columns, 576 (80 mm) 48.
COLUMN_DOTS = 12
PAPER_DOTS = {58: 384, 80: 576}


def paper_dots(paper_mm: int) -> int:
    """Printable width in dots (203 dpi) of a 58 mm or 80 mm roll."""
    try:
        return PAPER_DOTS[paper_mm]
    except KeyError:
        raise ValueError(f"paper width {paper_mm} mm not supported; use 58 or 80") from None


def columns_for(paper_mm: int) -> int:
    """Characters per line in font A: 32 on 58 mm paper, 48 on 80 mm."""
    return paper_dots(paper_mm) // COLUMN_DOTS


def char_width(ch: str) -> int:
    """Columns one character takes on a Chinese ESC/POS printer.

    In Chinese (FS &) mode every GB18030 multi-byte character prints from the 24 × 24
    font, i.e. two columns, including punctuation such as “ ” that Unicode calls
    "ambiguous" width. So the rule is simply: ASCII is one column, the rest two.
    """
    if ch < " ":
        return 0
    return 1 if ord(ch) < 0x80 else 2


def display_width(text: str) -> int:
    """Columns ``text`` takes on paper (see :func:`char_width`)."""
    return sum(char_width(c) for c in text)


@dataclass(frozen=True)
class Token:
    """One command or text run of an ESC/POS stream.

    ``kind`` is one of: ``init``, ``text`` (``value``: decoded str; ``cjk``: whether
    it was inside FS & … FS .), ``newline``, ``bold`` (bool), ``align`` ("left" /
    "center" / "right"), ``size`` ((width, height) multipliers), ``print_mode``
    (ESC ! byte), ``cjk_on``, ``cjk_off``, ``feed`` (lines), ``cut`` ("full" /
    "partial"), ``qr`` (``value``: dict with ``fn`` and, for the store function,
    ``data``), ``status_query`` (n), ``command`` (a known command this module
    does not interpret, ``value`` its name) and ``raw`` (bytes not understood).
    """

    kind: str
    raw: bytes
    value: Any = None
    cjk: bool = False


# Known fixed-length commands: prefix → (name, total length). Their parameters are skipped.
_FIXED: dict[bytes, tuple[str, int]] = {
    b"\x1b-": ("underline", 3), b"\x1bM": ("font", 3), b"\x1bJ": ("feed_dots", 3),
    b"\x1bt": ("codepage", 3), b"\x1bG": ("double_strike", 3), b"\x1b2": ("line_spacing_default", 2),
    b"\x1b3": ("line_spacing", 3), b"\x1bR": ("charset", 3), b"\x1b{": ("upside_down", 3),
    b"\x1bp": ("drawer", 5), b"\x1bV": ("rotate", 3), b"\x1bi": ("cut_legacy", 2), b"\x1bm": ("cut_legacy", 2),
    b"\x1dB": ("reverse", 3), b"\x1dH": ("hri", 3), b"\x1dh": ("barcode_height", 3),
    b"\x1dw": ("barcode_width", 3), b"\x1db": ("smoothing", 3), b"\x1dL": ("left_margin", 4),
    b"\x1dW": ("print_width", 4), b"\x1ca": ("kanji_mode_select", 3), b"\x1cC": ("kanji_code_system", 3),
    b"\x1c!": ("kanji_print_mode", 3), b"\x1c-": ("kanji_underline", 3), b"\x1cW": ("kanji_quad", 3),
}
_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


def tokenize(data: bytes) -> list[Token]:
    """Split ``data`` into :class:`Token` objects. Never raises on odd input."""
    out: list[Token] = []
    i, n = 0, len(data)
    cjk = False
    while i < n:
        b = data[i]
        if b >= 0x20 and b != 0x7F:
            # A text run ends at the next control byte; GB18030 never uses bytes < 0x30
            # inside a character, so control bytes cannot split one.
            j = i
            while j < n and data[j] >= 0x20 and data[j] != 0x7F:
                j += 1
            chunk = data[i:j]
            text = chunk.decode("gb18030", errors="replace") if cjk else chunk.decode("cp437")
            out.append(Token("text", chunk, text, cjk))
            i = j
            continue
        tok = _command_at(data, i)
        if tok.kind == "cjk_on":
            cjk = True
        elif tok.kind in ("cjk_off", "init"):
            cjk = False
        out.append(tok)
        i += len(tok.raw)
    return out


def _command_at(data: bytes, i: int) -> Token:
    """The command token starting at ``data[i]`` (a control byte); 1-byte ``raw`` if unknown."""
    b = data[i]
    nxt = data[i + 1] if i + 1 < len(data) else None
    arg = data[i + 2] if i + 2 < len(data) else None
    unknown = Token("raw", data[i:i + 1])
    if b == LF:
        return Token("newline", b"\n")
    if b == ESC and nxt is not None:
        if nxt == 0x40:
            return Token("init", data[i:i + 2])
        if arg is None:
            return unknown
        raw3 = data[i:i + 3]
        if nxt == 0x45:  # ESC E n: emphasized on/off
            return Token("bold", raw3, bool(arg & 1))
        if nxt == 0x61:  # ESC a n: justification
            return Token("align", raw3, _ALIGN.get(arg, "left"))
        if nxt == 0x21:  # ESC ! n: print mode (bold 0x08, double height 0x10, double width 0x20)
            return Token("print_mode", raw3, arg)
        if nxt == 0x64:  # ESC d n: print and feed n lines
            return Token("feed", raw3, arg)
    if b == GS and nxt is not None:
        if nxt == 0x21 and arg is not None:  # GS ! n: character size
            return Token("size", data[i:i + 3], ((arg >> 4) + 1, (arg & 0x0F) + 1))
        if nxt == 0x56 and arg is not None:  # GS V m [n]: cut
            length = 4 if arg in (65, 66) else 3
            if i + length > len(data):
                return unknown
            return Token("cut", data[i:i + length], "partial" if arg in (1, 49, 66) else "full")
        if nxt == 0x28 and arg is not None and i + 5 <= len(data):  # GS ( x pL pH ...
            body_len = data[i + 3] | (data[i + 4] << 8)
            end = i + 5 + body_len
            if end > len(data):
                return unknown
            raw = data[i:end]
            body = data[i + 5:end]
            if arg == 0x6B and len(body) >= 2 and body[0] == 0x31:  # GS ( k, cn = 49: QR code
                return Token("qr", raw, _qr_value(body))
            return Token("command", raw, f"GS ( {chr(arg)}")
        if nxt == 0x76 and arg == 0x30 and i + 8 <= len(data):  # GS v 0 m xL xH yL yH raster image
            width = data[i + 4] | (data[i + 5] << 8)
            height = data[i + 6] | (data[i + 7] << 8)
            end = i + 8 + width * height
            if end <= len(data):
                return Token("command", data[i:end], "raster_image")
            return unknown
    if b == FS and nxt is not None:
        if nxt == 0x26:
            return Token("cjk_on", data[i:i + 2])
        if nxt == 0x2E:
            return Token("cjk_off", data[i:i + 2])
    if b == DLE and nxt == 0x04 and arg is not None:
        return Token("status_query", data[i:i + 3], arg)
    for prefix, (name, length) in _FIXED.items():
        if data.startswith(prefix, i) and i + length <= len(data):
            return Token("command", data[i:i + length], name)
    return unknown


def _qr_value(body: bytes) -> dict[str, Any]:
    """Decode a GS ( k (cn = 49) body: function 65 model, 67 size, 69 error level, 80 store, 81 print."""
    fn = body[1]
    value: dict[str, Any] = {"fn": fn}
    if fn == 65 and len(body) >= 3:
        value["model"] = body[2] - 48
    elif fn == 67 and len(body) >= 3:
        value["module_size"] = body[2]
    elif fn == 69 and len(body) >= 3:
        value["error_level"] = "LMQH"[body[2] - 48] if 48 <= body[2] <= 51 else "?"
    elif fn == 80:
        value["data"] = body[3:].decode("utf-8", errors="replace")
    return value


# ---------------------------------------------------------------- what the printer would print


@dataclass
class _Style:
    align: str = "left"
    bold: bool = False
    width: int = 1
    height: int = 1


@dataclass(frozen=True)
class PaperItem:
    """One printed thing, in paper order: a text ``line``, a ``qr`` code or a ``cut``."""

    kind: str
    text: str = ""
    align: str = "left"
    bold: bool = False
    width: int = 1
    height: int = 1
    qr_data: str = ""
    qr_module: int = 3
    qr_error: str = "L"


def paper_items(tokens: Iterable[Token]) -> list[PaperItem]:
    """Interpret tokens the way a printer would: styled text lines, QR codes and cuts."""
    items: list[PaperItem] = []
    st = _Style()
    line = ""
    line_style = _Style()
    qr: dict[str, Any] = {"data": "", "module": 3, "error": "L"}

    def flush(force: bool) -> None:
        nonlocal line
        if line or force:
            items.append(PaperItem("line", line, line_style.align, line_style.bold,
                                   line_style.width, line_style.height))
        line = ""

    for t in tokens:
        if t.kind == "text":
            if not line:
                # A printer applies alignment and size per line as the line is printed.
                line_style = _Style(st.align, st.bold, st.width, st.height)
            line += t.value
        elif t.kind == "newline":
            if not line:
                line_style = _Style(st.align, st.bold, st.width, st.height)
            flush(True)
        elif t.kind == "feed":
            flush(False)
            items.extend(PaperItem("line") for _ in range(t.value))
        elif t.kind == "init":
            st = _Style()
        elif t.kind == "bold":
            st.bold = t.value
        elif t.kind == "align":
            st.align = t.value
        elif t.kind == "size":
            st.width, st.height = t.value
        elif t.kind == "print_mode":
            st.bold = bool(t.value & 0x08)
            st.height = 2 if t.value & 0x10 else 1
            st.width = 2 if t.value & 0x20 else 1
        elif t.kind == "qr":
            v = t.value
            if v["fn"] == 67:
                qr["module"] = v.get("module_size", 3)
            elif v["fn"] == 69:
                qr["error"] = v.get("error_level", "L")
            elif v["fn"] == 80:
                qr["data"] = v.get("data", "")
            elif v["fn"] == 81:
                flush(False)
                items.append(PaperItem("qr", align=st.align, qr_data=str(qr["data"]),
                                       qr_module=int(qr["module"]), qr_error=str(qr["error"])))
        elif t.kind == "cut":
            flush(False)
            items.append(PaperItem("cut"))
    flush(False)
    return items


QR_PLACEHOLDER = "[QR]"
CUT_MARK = "[cut]"


def item_text(item: PaperItem, columns: int) -> str:
    """One paper item as a monospace text line of at most ``columns`` columns (when it fits)."""
    if item.kind == "cut":
        return CUT_MARK
    text = QR_PLACEHOLDER if item.kind == "qr" else item.text
    used = display_width(text) * item.width
    room = max(0, columns - used)
    pad = {"center": room // 2, "right": room}.get(item.align, 0)
    return (" " * pad + text).rstrip()


def stream_to_text(data: bytes, paper_mm: int = 80) -> str:
    """The receipt text a printer would print from ``data``, one paper line per text line.

    QR codes appear as ``[QR]`` and cuts as ``[cut]``; centred and right-aligned lines
    are padded with spaces as the printer would place them.
    """
    columns = columns_for(paper_mm)
    return "\n".join(item_text(it, columns) for it in paper_items(tokenize(data)))


def qr_payloads(data: bytes) -> list[str]:
    """The payload of every QR code the stream prints, in order."""
    return [it.qr_data for it in paper_items(tokenize(data)) if it.kind == "qr"]


def stream_to_png(data: bytes, paper_mm: int = 80) -> bytes:
    """A PNG of the paper a printer would produce from ``data`` (203 dpi, 1 px per dot)."""
    return draw_paper(paper_items(tokenize(data)), paper_mm)


# Glyph masks by (character, bold, pixel size). Drawing a glyph through FreeType costs ~0.2 ms,
# pasting a cached mask a few µs, and receipts reuse the same few hundred characters. Bounded,
# and harmless for privacy: it holds single character shapes, not what was printed in what order.
_GLYPHS: dict[tuple[str, bool, int], tuple[Any, int, int]] = {}
_GLYPH_LIMIT = 4096
_FONTS: dict[tuple[bool, int], Any] = {}


def _glyph(ch: str, bold: bool, size: int) -> tuple[Any, int, int]:
    """(mask, dx, dy): the glyph's coverage mask and its top-left offset from the glyph's centre."""
    key = (ch, bold, size)
    hit = _GLYPHS.get(key)
    if hit is not None:
        return hit
    from PIL import Image, ImageDraw, ImageFont  # lazy: Pillow costs 12 ms at start-up; only previews need it

    font = _FONTS.get((bold, size))
    if font is None:
        font = _FONTS[(bold, size)] = ImageFont.truetype(str(cjk_font_path(bold)), size)
    tile = Image.new("L", (3 * size, 3 * size), 0)
    ImageDraw.Draw(tile).text((1.5 * size, 1.5 * size), ch, fill=255, font=font, anchor="mm")
    box = tile.getbbox() or (0, 0, 1, 1)
    mask = tile.crop(box)
    # Offsets are from the pixel the glyph is centred on, as draw.text(anchor="mm") would place it.
    hit = (mask, box[0] - int(1.5 * size), box[1] - int(1.5 * size))
    if len(_GLYPHS) >= _GLYPH_LIMIT:
        _GLYPHS.clear()
    _GLYPHS[key] = hit
    return hit


def _latin_glyph(ch: str, bold: bool, width: int, height: int) -> tuple[Any, int, int]:
    """An ASCII character as the printer's Font A draws it: monospace, one 12 × 24-dot cell (times
    the size multipliers), so HC-DEMO-001 reads as on paper instead of proportional glyphs squeezed
    into half-width cells. Fira Code (bundled with pygame_gui) stands in for the printer's ROM font;
    bold is the printer's double strike (the glyph drawn twice, one dot apart)."""
    key = (ch, bold, -(width * 10 + height))
    hit = _GLYPHS.get(key)
    if hit is not None:
        return hit
    from PIL import Image, ImageChops, ImageDraw, ImageFont  # lazy: only previews draw glyphs

    size = 19 * width  # Fira Code's advance is 0.6 em: 19 px ≈ an 11-dot glyph in a 12-dot cell
    font = _FONTS.get((False, -size))
    if font is None:
        font = _FONTS[(False, -size)] = ImageFont.truetype(str(_mono_font_path()), size)
    tile = Image.new("L", (3 * size, 3 * size), 0)
    ImageDraw.Draw(tile).text((1.5 * size, 1.5 * size), ch, fill=255, font=font, anchor="mm")
    if bold:
        tile = ImageChops.lighter(tile, ImageChops.offset(tile, 1, 0))
    box = tile.getbbox() or (0, 0, 1, 1)
    mask = tile.crop(box)
    stretch = 1.25 * height / width  # Font A's cell is twice as tall as wide; Fira Code's is not
    mask = mask.resize((mask.width, max(1, round(mask.height * stretch))))
    hit = (mask, box[0] - int(1.5 * size), round((box[1] - 1.5 * size) * stretch))
    if len(_GLYPHS) >= _GLYPH_LIMIT:
        _GLYPHS.clear()
    _GLYPHS[key] = hit
    return hit


def _mono_font_path() -> Any:
    """Fira Code from pygame_gui's data folder (next to the Noto Sans SC the receipt uses)."""
    return cjk_font_path().with_name("FiraCode-Regular.ttf")


def _qr_image(data: str, error: str, scale: int) -> Any:
    """The QR symbol as a greyscale image, ``scale`` dots per module, no quiet zone."""
    import segno  # lazy: segno costs 35 ms at start-up; only PNG previews draw QR symbols
    from PIL import Image  # lazy: Pillow costs 12 ms at start-up; only PNG previews need it

    # A fixed mask pattern: the printer's firmware draws its own symbol from GS ( k, so the preview
    # needs a valid, scannable code rather than segno's best mask, whose search is ~5× the encoding.
    qr = segno.make_qr(data or " ", error=error.lower(), mask=2)
    n = len(qr.matrix)
    pixels = bytes(0 if dark else 255 for row in qr.matrix for dark in row)
    return Image.frombytes("L", (n, n), pixels).resize((n * scale, n * scale), Image.Resampling.NEAREST)


def draw_paper(items: list[PaperItem], paper_mm: int) -> bytes:
    """Draw paper items on a white strip as wide as the roll, in Noto Sans SC. Returns PNG bytes."""
    from PIL import Image, ImageDraw  # lazy: Pillow costs 12 ms at start-up; only previews need it

    width = paper_dots(paper_mm)
    line_dots = 30  # ESC 2 default line spacing ≈ 1/6 inch at 203 dpi
    margin = 16

    # Lay out first (heights vary with QR size), then paint on one image.
    placed: list[tuple[int, PaperItem, Any]] = []
    y = margin
    for it in items:
        extra: Any = None
        if it.kind == "line":
            placed.append((y, it, None))
            y += line_dots * it.height
        elif it.kind == "qr":
            extra = _qr_image(it.qr_data, it.qr_error, max(1, it.qr_module))
            placed.append((y, it, extra))
            y += extra.height + 8
        else:
            placed.append((y, it, None))
            y += 24
    image = Image.new("L", (width, y + margin), 255)
    draw = ImageDraw.Draw(image)
    columns = width // COLUMN_DOTS
    for top, it, qr in placed:
        if it.kind == "line" and it.text:
            used = display_width(it.text) * it.width
            room = max(0, columns - used)
            col = {"center": room // 2, "right": room}.get(it.align, 0)
            size = 24 * it.height
            for ch in it.text:
                # Place every character on the printer's column grid so rows line up as on paper.
                w = char_width(ch) * it.width * COLUMN_DOTS
                if ch != " ":
                    mask, dx, dy = _latin_glyph(ch, it.bold, it.width, it.height) if ch.isascii() \
                        else _glyph(ch, it.bold, size)
                    x0, y0 = int(col * COLUMN_DOTS + w / 2) + dx, top + 12 * it.height + dy
                    image.paste(0, (x0, y0, x0 + mask.width, y0 + mask.height), mask)
                col += char_width(ch) * it.width
        elif it.kind == "qr":
            left = {"center": (width - qr.width) // 2, "right": width - qr.width}.get(it.align, 0)
            image.paste(qr, (left, top))
        elif it.kind == "cut":
            for x in range(0, width, 12):
                draw.line((x, top + 12, x + 6, top + 12), fill=0, width=2)
    buf = io.BytesIO()
    # A thermal head prints dots, on or off: one bit a pixel is both what the paper looks like and
    # an eighth of the bytes to compress (the PNG encoder was half the time in greyscale).
    image.convert("1", dither=Image.Dither.NONE).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
