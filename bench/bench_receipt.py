"""P7 (receipt): one certificate slip from its layout to ESC/POS bytes and to a PNG preview.

The slip is the kiosk's own 社保参保缴费证明 receipt on 80 mm paper (the default): title,
a note with Chinese punctuation and ¥, masked rows, tracking number, QR, footer, cut.

- P7 ESC/POS: ``render_escpos(layout, 80)``. Anchor: python-escpos's ``Dummy`` printer emitting
  the same lines, QR (native) and cut, measured in the same run (what the library would cost,
  had it not mangled Chinese, DEVICES.md §3). Target ≤ 5 ms (TARGETS.md P7).
- P7 PNG: ``render_png(layout, 80)``. Anchor: Pillow drawing the same lines with one
  ``draw.text`` call each plus a segno QR, saved as PNG: the floor for any such picture.
  Target ≤ 30 ms.

Both report the median (pass/miss) and the p99 in the note.

    .venv/bin/python -m bench.run --only P7
"""

from __future__ import annotations

import io
from datetime import datetime

from bench.common import Figure, median, percentile, timed
from devices.printer.receipt import ReceiptLayout, render_escpos, render_png, render_text

ESCPOS_TARGET_MS = 5.0
PNG_TARGET_MS = 30.0
PAPER_MM = 80


def slip() -> ReceiptLayout:
    """The benchmark receipt (values already masked, as the flow hands them over)."""
    return ReceiptLayout(
        title="社保参保缴费证明",
        subtitle="厦门市海沧区 24小时自助服务区",
        lines=["本证明用于办理“居住证签注”，请妥善保管（有效期30天）。缴费金额：¥1,234.50元、单位：元。"],
        rows=[("姓名", "张**"), ("公民身份号码", "3502**********1234"), ("手机号码", "139****5678"),
              ("参保单位", "厦门海沧某某精密机械科技有限公司（台资企业）"), ("缴费月数", "36个月")],
        tracking_no="HC-DEMO-001-20250601-000123",
        qr_url="https://zwfw.example.gov.cn/progress?no=HC-DEMO-001-20250601-000123",
        verification_code="7K3Q9XPA", kiosk_id="HC-DEMO-001", place="海沧区霞阳社区便民服务站",
        printed_at=datetime(2025, 6, 1, 21, 30, 5), rating_prompt="请对本次服务进行评价（好差评）")


def _escpos_anchor(lines: list[str], url: str) -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.text(lines[0] + "\n")
    p.set(align="left", normal_textsize=True)
    for line in lines[1:]:
        p.text(line + "\n")
    p.qr(url, native=True, size=6)
    p.cut()
    return p.output


def _png_anchor(lines: list[str], url: str) -> bytes:
    import segno
    from PIL import Image, ImageDraw, ImageFont

    from kiosk.fonts import cjk_font_path

    font = ImageFont.truetype(str(cjk_font_path(False)), 24)
    qr = segno.make_qr(url, error="m")
    image = Image.new("L", (576, 30 * len(lines) + 400), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((0, 30 * i), line, fill=0, font=font)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=6)
    image.paste(Image.open(io.BytesIO(buf.getvalue())).convert("L"), (150, 30 * len(lines)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _figure(name: str, samples: list[float], anchor: list[float], anchor_name: str,
            target_ms: float) -> Figure:
    value = median(samples) * 1000
    anchor_ms = median(anchor) * 1000
    p99 = percentile(samples, 99) * 1000
    return Figure(id="P7", name=name, value=value, unit="ms", target=f"≤ {target_ms:g} ms",
                  passed=value <= target_ms, anchor=anchor_name, anchor_value=anchor_ms,
                  ratio=value / anchor_ms if anchor_ms else None,
                  note=f"n={len(samples)}; p99 {p99:.2f} ms ({'within' if p99 <= target_ms else 'over'} target)")


def run(quick: bool) -> list[Figure]:
    layout = slip()
    text_lines = [ln.strip() for ln in render_text(layout, PAPER_MM).splitlines()
                  if ln.strip() and ln.strip() not in ("[QR]", "[cut]")]
    url = layout.qr_url or ""
    repeat_bytes, repeat_png = (50, 10) if quick else (400, 60)
    # Warm-up: font files, segno and python-escpos imports and profile loading are first-call costs.
    render_escpos(layout, PAPER_MM), render_png(layout, PAPER_MM)
    _escpos_anchor(text_lines, url), _png_anchor(text_lines, url)
    escpos = timed(lambda: render_escpos(layout, PAPER_MM), repeat_bytes)
    escpos_anchor = timed(lambda: _escpos_anchor(text_lines, url), repeat_bytes)
    png = timed(lambda: render_png(layout, PAPER_MM), repeat_png)
    png_anchor = timed(lambda: _png_anchor(text_lines, url), repeat_png)
    return [
        _figure("receipt layout → ESC/POS bytes, 80 mm (median)", escpos, escpos_anchor,
                "python-escpos Dummy, same lines + native QR + cut (ms)", ESCPOS_TARGET_MS),
        _figure("receipt layout → PNG preview, 80 mm (median)", png, png_anchor,
                "Pillow: same lines, one draw.text each, + segno QR (ms)", PNG_TARGET_MS),
    ]


if __name__ == "__main__":
    for figure in run(quick=True):
        print(figure)
