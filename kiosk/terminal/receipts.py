"""Turns a finished print item into the receipt layout the printer renders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from devices.printer.receipt import ReceiptLayout
from kiosk.qrcodes import PROGRESS_URL, progress_url, rating_url

#: The sentence every printer must get right: Chinese punctuation and the yuan sign.
TEST_SENTENCE = "中文标点测试：“全角引号”，逗号、顿号（括号）；金额¥12.50元。"


def print_item_layout(content: dict[str, Any], *, kiosk_id: str, place: str, now: datetime) -> ReceiptLayout:
    """The certificate slip of a print item: the platform's document rows plus the receipt footer.

    ``content`` comes from the flow and holds only masked values; the platform's rows are masked
    at the source.
    """
    document = content.get("document") or {}
    rows = [("办理事项", str(content.get("item_name", "")))]
    # The platform's rows carry the applicant's (masked) name and ID number.
    rows += [(str(k), str(v)) for k, v in document.get("rows", [])]
    if document.get("doc_no"):
        rows.append(("证明编号", str(document["doc_no"])))
    return ReceiptLayout(
        title=str(document.get("title") or content.get("item_name", "")),
        subtitle="自助终端打印件",
        lines=[str(document["note"])] if document.get("note") else [],
        rows=rows,
        tracking_no=str(content["receipt_no"]),
        qr_url=progress_url(str(content["receipt_no"])),
        verification_code=str(document.get("verification_code", "")) or None,
        kiosk_id=kiosk_id,
        place=place,
        printed_at=now,
        rating_url=_safe_rating_url(str(content["receipt_no"])),
    )


def slip_layout(layout: str, content: dict[str, Any], *, kiosk_id: str, place: str,
                now: datetime) -> ReceiptLayout:
    """The slip for a finished step of any item kind: ``certificate`` (print items), ``receipt``
    (an application or certification was received), ``appointment``, ``query`` or ``guide``.
    Every value in ``content`` is already masked by the flow."""
    if layout == "certificate":
        return print_item_layout(content, kiosk_id=kiosk_id, place=place, now=now)
    name = str(content.get("item_name", ""))
    receipt_no = str(content.get("receipt_no") or "")
    rows: list[tuple[str, str]] = [("办理事项", name)]
    lines: list[str] = []
    title, subtitle = name, "自助终端"
    if layout == "guide":
        return guide_layout(content, kiosk_id=kiosk_id, place=place, now=now)
    if layout == "query":
        answer = content.get("answer") or {}
        title, subtitle = str(answer.get("title") or name), "查询结果"
        rows += [(str(k), str(v)) for k, v in answer.get("rows", [])]
        receipt_no = receipt_no or str(answer.get("query_no", ""))
    elif layout == "appointment":
        title, subtitle = "预约凭条", name
        rows += [("预约时间", str(content.get("slot", ""))), ("办理地点", str(content.get("place", "")))]
        lines.append("请按预约时间携带身份证原件到窗口办理。")
    elif layout == "bundle":  # 一件事: every item with its own number; the QR follows the bundle's first
        title, subtitle = "一件事受理回执", str(content.get("bundle_name", ""))
        rows = bundle_rows(content)
        lines.append("以下事项已一次受理，各事项凭其受理编号查询办理进度。")
    elif content.get("kind") == "certification":
        title, subtitle = "资格认证回执", name
        lines.append("认证成功。")
        if content.get("next_due"):
            lines.append(f"下次认证请于{_day(str(content['next_due']))}前完成。")
    else:
        title, subtitle = "受理回执", name
        days = content.get("promised_days")
        lines.append(f"承诺办结时限：{days}个工作日。" if days else "即办件，请留意短信通知。")
    if content.get("applicant_name"):
        rows += [("申请人", str(content["applicant_name"])), ("证件号码", str(content.get("applicant_id", "")))]
    payment = content.get("payment") or {}
    if payment:  # a fee paid through the unified public payment platform, with its 财政电子票据
        lines.append("已缴费。")
        rows += [("缴费金额", str(payment.get("amount", ""))), ("缴费时间", _when(str(payment.get("paid_at", "")))),
                 ("缴款单号", str(payment.get("order_no", ""))), ("票据号码", str(payment.get("bill_no", ""))),
                 ("校验码", str(payment.get("check_code", "")))]
    return ReceiptLayout(
        title=title, subtitle=subtitle, lines=lines, rows=rows,
        tracking_no=receipt_no or "-",
        qr_url=_safe_url(receipt_no),
        kiosk_id=kiosk_id, place=place, printed_at=now,
        rating_url=_safe_rating_url(receipt_no),
        bill_url=str(payment.get("verify_url") or "") or None,
    )


def guide_layout(content: dict[str, Any], *, kiosk_id: str, place: str, now: datetime) -> ReceiptLayout:
    """The printed 办事指南 (kiosk/catalog/guide.py, :func:`printable_guide`): titled once (the item's name with
    办事指南, or the guide item's own name), the department under it, then each section as 【heading】 and its
    paragraphs. A guide is no case: no 办件编号, no progress or rating code."""
    guide = content.get("guide") or {}
    name = str(content.get("item_name", ""))
    lines: list[str] = []
    for heading, paragraphs in guide.get("sections") or []:
        lines.append(f"【{heading}】")
        lines += [str(p) for p in paragraphs]
    # A job without the sections (kept from before an update) is still titled as a guide, once.
    title = str(guide.get("title") or (name if name.endswith("指南") else f"{name}办事指南"))
    return ReceiptLayout(
        title=title, subtitle=str(guide.get("department") or "") or None,
        lines=lines, tracking_no="", kiosk_id=kiosk_id, place=place, printed_at=now)


#: What the bundle's receipt says of an item that has no number.
BUNDLE_STATES = {"failed": "未能提交，请到窗口办理", "printed": "办事指南已打印", "separate": "请另行办理"}


def bundle_rows(content: dict[str, Any]) -> list[tuple[str, str]]:
    """A bundle's receipt rows: the bundle's id, then each item (its department) and its number."""
    rows = [("一件事编号", str(content.get("bundle_id", "")))]
    for entry in content.get("items") or []:
        state = str(entry.get("state", ""))
        number = str(entry.get("receipt_no") or "") if state == "accepted" else BUNDLE_STATES.get(state, "-")
        rows.append((f"{entry.get('item_name', '')}（{entry.get('department', '')}）", number))
    return rows


def _when(iso: str) -> str:
    """An ISO time as printed: 2026-12-04 10:00:00 (as the payment platform dated it)."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def _day(iso: str) -> str:
    """2027-11-21 as 2027年11月21日 (the text as it came if it is not a date)."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.year}年{day.month}月{day.day}日"


def _safe_rating_url(receipt_no: str) -> str | None:
    """The 好差评 page for a gateway receipt number; None for other references (a booking, a query),
    which the platform's rating page does not know."""
    try:
        return rating_url(receipt_no) if receipt_no else None
    except ValueError:
        return None


def _safe_url(receipt_no: str) -> str | None:
    """The progress link for a gateway receipt number; None for the platform's own references."""
    try:
        return progress_url(receipt_no) if receipt_no else None
    except ValueError:
        return None


def test_slip(kiosk_id: str, place: str, now: datetime) -> ReceiptLayout:
    """The test slip's layout (``kiosk devices print-test``, maintenance mode, the technician page):
    every hard case on one short receipt (DEVICES.md §3)."""
    # Shaped like a real receipt number, so the kiosk's own QR check accepts the test code too.
    number = f"{kiosk_id}-{now:%Y%m%d}-000000"
    return ReceiptLayout(
        title="打印测试 Print test",
        subtitle="自助终端打印机自检",
        lines=[TEST_SENTENCE, "ASCII: 0123456789 ABC abc"],
        rows=[("中文", "政务服务自助终端"), ("金额", "¥1,234.50（元）"), ("纸宽", "58/80 mm")],
        tracking_no=number,
        qr_url=PROGRESS_URL.format(receipt_no=number),
        verification_code="TEST0000",
        kiosk_id=kiosk_id,
        place=place,
        printed_at=now,
        rating_prompt="扫码应打开办件进度查询页面",
    )


test_slip.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name
