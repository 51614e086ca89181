"""Turns a finished print item into the receipt layout the printer renders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devices.printer.receipt import ReceiptLayout
from kiosk.qrcodes import PROGRESS_URL, progress_url  # noqa: F401  (re-exported for callers)

RATING_PROMPT = "请对本次服务进行评价（好差评）"


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
        rating_prompt=RATING_PROMPT,
    )
