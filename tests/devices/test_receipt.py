"""The receipt as the resident holds it: Chinese intact, masked data as given, QR scannable, fits the paper."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image

from devices.printer.escpos_stream import (
    PaperItem,
    display_width,
    draw_paper,
    paper_items,
    qr_payloads,
    stream_to_text,
    tokenize,
)
from devices.printer.receipt import ReceiptLayout, render_escpos, render_png, render_text, wrap
from kiosk.privacy import mask_id_number, mask_name, mask_phone

FULL_ID = "350203199001011234"
QR_URL = "https://zwfw.xm.gov.cn/progress?no=HC20250601-00123"
NOTE = "本证明用于办理“居住证签注”，请妥善保管（有效期30天）。缴费金额：¥1,234.50元、单位：元。"


def social_security_receipt(**changes: object) -> ReceiptLayout:
    fields: dict[str, object] = {
        "title": "社保参保缴费证明",
        "subtitle": "厦门市海沧区 24小时自助服务区",
        "lines": [NOTE],
        "rows": [("姓名", mask_name("张三丰")), ("公民身份号码", mask_id_number(FULL_ID)),
                 ("手机号码", mask_phone("13912345678")),
                 ("参保单位", "厦门海沧某某精密机械科技有限公司（台资企业）"),
                 ("缴费月数", "36个月")],
        "tracking_no": "HC20250601-00123",
        "qr_url": QR_URL,
        "verification_code": "7K3Q9XPA",
        "kiosk_id": "HC-SQ-017",
        "place": "海沧街道海虹社区服务站",
        "printed_at": datetime(2025, 6, 1, 21, 30, 5),
        "rating_prompt": "请对本次服务进行评价（好差评）",
    }
    fields.update(changes)
    return ReceiptLayout(**fields)  # type: ignore[arg-type]


def flat(text: str) -> str:
    """The receipt text with line breaks and indentation removed, to find wrapped sentences."""
    return "".join(line.strip() for line in text.splitlines())


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_chinese_receipt_round_trips_through_the_printer_bytes(paper_mm: int) -> None:
    layout = social_security_receipt()
    data = render_escpos(layout, paper_mm)
    printed = stream_to_text(data, paper_mm)
    assert printed == render_text(layout, paper_mm)
    assert NOTE in flat(printed)  # “，：（）¥、 all survive
    assert "社保参保缴费证明" in flat(printed)
    assert "?" not in printed and "\ufffd" not in printed


def test_every_chinese_run_is_wrapped_in_fs_and_encoded_gb18030() -> None:
    data = render_escpos(social_security_receipt())
    tokens = tokenize(data)
    chinese = [i for i, t in enumerate(tokens) if t.kind == "text" and not t.value.isascii()]
    assert len(chinese) > 10
    for i in chinese:
        assert tokens[i].cjk
        assert tokens[i - 1].kind == "cjk_on" and tokens[i - 1].raw == b"\x1c\x26"
        assert tokens[i + 1].kind == "cjk_off" and tokens[i + 1].raw == b"\x1c\x2e"
    assert "“居住证签注”，".encode("gb18030") in data
    assert "（台资企业）".encode("gb18030") in data
    # outside FS & … FS . nothing but ASCII is sent
    assert all(t.value.isascii() for t in tokens if t.kind == "text" and not t.cjk)


def test_receipt_starts_with_init_has_a_bold_double_centred_title_and_ends_with_a_partial_cut() -> None:
    data = render_escpos(social_security_receipt())
    assert data.startswith(b"\x1b\x40")
    # GS V 66 0: the printer feeds just to its cutter and cuts; no blank lines of our own before it.
    assert data.endswith(b"2025-06-01 21:30:05\x1c.\n\x1dVB\x00")
    title = next(it for it in paper_items(tokenize(data)) if it.kind == "line")
    assert (title.text, title.align, title.bold, title.width, title.height) == (
        "社保参保缴费证明", "center", True, 2, 2)
    assert [t.value for t in tokenize(data) if t.kind == "cut"] == ["partial"]


def test_qr_is_native_model_2_level_m_and_carries_the_progress_link() -> None:
    data = render_escpos(social_security_receipt())
    assert qr_payloads(data) == [QR_URL]
    qr = [t.value for t in tokenize(data) if t.kind == "qr"]
    assert [q["fn"] for q in qr] == [65, 67, 69, 80, 81]
    assert qr[0]["model"] == 2 and qr[2]["error_level"] == "M"
    assert qr_payloads(render_escpos(social_security_receipt(qr_url=None))) == []


@pytest.mark.parametrize("paper_mm, columns", [(58, 32), (80, 48)])
def test_no_printed_line_is_wider_than_the_paper(paper_mm: int, columns: int) -> None:
    layout = social_security_receipt(
        title="香港澳门台湾居民居住证申领受理回执单",
        lines=[NOTE * 3, "Please keep this receipt; quote the tracking number when you call 12345."],
        rows=[("申请事项", "港澳台居民居住证申领（首次申领）" * 2), ("Passport", "AB" * 30)])
    items = paper_items(tokenize(render_escpos(layout, paper_mm)))
    for it in items:
        assert display_width(it.text) * it.width <= columns, it.text
    for line in render_text(layout, paper_mm).splitlines():
        if not line.strip().startswith(("[", layout.title[:3])):
            assert display_width(line) <= columns, line


def test_row_values_start_in_one_column() -> None:
    text = render_text(social_security_receipt(), 80)
    starts = []
    for value in ("张**", "3502**********1234", "139****5678", "36个月"):
        line = next(ln for ln in text.splitlines() if value in ln)
        starts.append(display_width(line[: line.index(value)]))
    assert len(set(starts)) == 1


@pytest.mark.parametrize("renderer", [render_text, render_escpos])
def test_masked_values_are_printed_exactly_as_given(renderer) -> None:  # type: ignore[no-untyped-def]
    out = renderer(social_security_receipt(), 58)
    text = out if isinstance(out, str) else stream_to_text(out, 58)
    for masked in ("3502**********1234", "139****5678", "张**"):
        assert flat(text).count(masked) == 1
    assert FULL_ID not in text and "张三丰" not in text


def test_long_id_is_moved_to_its_own_line_rather_than_split() -> None:
    text = render_text(social_security_receipt(), 58)
    assert any(line.strip() == "3502**********1234" for line in text.splitlines())


def test_wrapping_keeps_closing_punctuation_off_the_start_of_a_line() -> None:
    for width in range(6, 33):
        for line in wrap(NOTE, width):
            assert line[:1] not in "，。、：）”", (width, line)
        assert "".join(wrap(NOTE, width)) == NOTE


def test_english_labels_when_asked() -> None:
    text = render_text(social_security_receipt(language="en"))
    assert "Tracking no.:\n" in text and "HC20250601-00123" in text
    assert "办件编号" not in text


@pytest.mark.parametrize("paper_mm, width", [(58, 384), (80, 576)])
def test_png_preview_is_a_real_picture_of_the_right_width(paper_mm: int, width: int) -> None:
    png = render_png(social_security_receipt(), paper_mm)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == width and image.height > 600
    gray = image.convert("L")
    dark = sum(gray.histogram()[:128])
    assert dark > 5000  # text and a QR code, not a blank strip


def test_png_draws_chinese_glyphs_not_tofu_boxes() -> None:
    def glyph(ch: str) -> bytes:
        image = Image.open(io.BytesIO(draw_paper([PaperItem("line", ch * 4)], 58))).convert("L")
        assert image.getextrema()[0] < 100
        return image.tobytes()

    # a font without Chinese would draw the same box for every hanzi
    assert glyph("社") != glyph("保")
    assert glyph("保") != glyph("缴")
    preview_a = render_png(social_security_receipt(title="社保证明"))
    preview_b = render_png(social_security_receipt(title="公积金证明"))
    assert preview_a != preview_b


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_the_qr_in_the_png_preview_scans_to_the_progress_link(paper_mm: int) -> None:
    import cv2
    import numpy as np

    png = render_png(social_security_receipt(), paper_mm)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert text == QR_URL


def test_the_png_preview_is_black_and_white_like_thermal_paper() -> None:
    image = Image.open(io.BytesIO(render_png(social_security_receipt(), 58)))
    histogram = image.convert("L").histogram()
    assert [level for level, count in enumerate(histogram) if count] == [0, 255]


def test_the_tracking_number_is_bold_double_height_on_a_line_of_its_own() -> None:
    """HC-… is what a resident reads out or types: taller than the printer's narrow Font A."""
    items = paper_items(tokenize(render_escpos(social_security_receipt())))
    number = next(it for it in items if it.kind == "line" and it.text.strip() == "HC20250601-00123")
    assert (number.bold, number.width, number.height) == (True, 1, 2)


def test_the_rating_is_a_qr_to_the_platforms_page_for_this_receipt() -> None:
    from datetime import datetime

    from kiosk.qrcodes import rating_url
    from kiosk.terminal.receipts import slip_layout

    receipt_no = "HC-DEMO-001-20261121-123456-0001"
    layout = slip_layout("receipt", {"item_name": "测试", "kind": "apply", "receipt_no": receipt_no,
                                     "promised_days": 5}, kiosk_id="HC-DEMO-001", place="大厅",
                         now=datetime(2026, 11, 21, 10, 0))
    data = render_escpos(layout)
    assert rating_url(receipt_no) in qr_payloads(data)
    text = render_text(layout)
    assert "扫码评价本次服务" in text and "请对本次服务进行评价" not in text  # no dead line
    booking = slip_layout("appointment", {"item_name": "预约", "receipt_no": "HCYY20261121000001"},
                          kiosk_id="HC-DEMO-001", place="大厅", now=datetime(2026, 11, 21, 10, 0))
    assert all("/hcp" not in url for url in qr_payloads(render_escpos(booking)))


def test_a_certification_slip_says_it_succeeded_and_when_the_next_is_due() -> None:
    from datetime import datetime

    from kiosk.terminal.receipts import slip_layout

    layout = slip_layout("receipt", {"item_name": "退休人员养老金领取资格认证", "kind": "certification",
                                     "next_due": "2027-11-21", "receipt_no": "HC-DEMO-001-20261121-123456-0002"},
                         kiosk_id="HC-DEMO-001", place="大厅", now=datetime(2026, 11, 21, 10, 0))
    text = flat(render_text(layout))
    assert "认证成功" in text and "下次认证请于2027年11月21日前完成" in text and "承诺办结时限" not in text


def test_latin_in_the_preview_keeps_to_its_cells() -> None:
    """Each ASCII character is drawn inside its own 12-dot column, as the printer's Font A prints it:
    wide letters such as M never run into their neighbours (a gap between every two)."""
    import numpy as np

    image = np.array(Image.open(io.BytesIO(draw_paper([PaperItem("line", "M" * 10)], 80))).convert("L"))
    ink = (image < 128).any(axis=0)
    xs = np.nonzero(ink)[0]
    gaps = int((~ink[xs[0]:xs[-1] + 1]).sum())
    assert xs[-1] - xs[0] < 10 * 12 and gaps >= 9


def test_a_paid_fee_prints_amount_time_bill_and_a_qr_to_verify_the_bill() -> None:
    from kiosk.terminal.receipts import slip_layout

    verify = "https://pjcy.mof.example/verify?no=350201260000000001"
    layout = slip_layout("receipt", {
        "item_name": "普通护照申领", "kind": "apply", "receipt_no": "HC-DEMO-001-20261204-123456-0001",
        "promised_days": 7, "payment": {"amount": "¥120.00", "paid_at": "2026-12-04T10:05:00+08:00",
                                        "order_no": "FJFS2026120400000001", "bill_no": "350201260000000001",
                                        "check_code": "3F9A1C", "verify_url": verify}},
        kiosk_id="HC-DEMO-001", place="大厅", now=datetime(2026, 12, 4, 10, 6))
    text = flat(render_text(layout))
    assert "已缴费" in text and "¥120.00" in text and "2026-12-04 10:05:00" in text
    assert "350201260000000001" in text and "3F9A1C" in text and "扫码查验或下载财政电子票据" in text
    assert verify in qr_payloads(render_escpos(layout))
