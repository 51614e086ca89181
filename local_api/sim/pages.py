"""The platform's public page a receipt's 好差评 QR code opens: ``/hcp?no=<receipt number>``.

A resident scans the code on the slip with a phone and rates the service there (GB/T 39046 levels,
1 非常满意 … 5 非常不满意, all five alike and none chosen beforehand). The simulator serves the page
and keeps the rating with the others (``/admin/received`` lists it), marked ``via: receipt_qr``.
The real platform's page is on its public site (``kiosk.qrcodes.RATING_URL``); this is its stand-in.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from flask import Blueprint, request

from kiosk.qrcodes import RATING_PATH, is_receipt_no
from local_api.sim.state import state

pages = Blueprint("pages", __name__)

LEVELS = ((1, "非常满意"), (2, "满意"), (3, "基本满意"), (4, "不满意"), (5, "非常不满意"))
_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>好差评</title></head>
<body><h1>请对本次服务进行评价</h1><p>办件编号：{no}</p>
<form method="post" action="{path}?no={no}">{buttons}</form></body></html>"""
_BUTTON = '<p><button type="submit" name="level" value="{level}">{label}</button></p>'


@pages.get(RATING_PATH)
def rating_page() -> Any:
    no = request.args.get("no", "")
    if not is_receipt_no(no):
        return "这不是有效的办件编号", 404, {"Content-Type": "text/plain; charset=utf-8"}
    buttons = "".join(_BUTTON.format(level=level, label=label) for level, label in LEVELS)
    return _PAGE.format(no=escape(no), path=RATING_PATH, buttons=buttons), 200, \
        {"Content-Type": "text/html; charset=utf-8"}


@pages.post(RATING_PATH)
def rate() -> Any:
    no = request.args.get("no", "")
    level = request.form.get("level", "")
    if not is_receipt_no(no) or level not in {"1", "2", "3", "4", "5"}:
        return "请选择一项评价", 400, {"Content-Type": "text/plain; charset=utf-8"}
    sim = state()
    with sim.lock:
        ref = f"HCPJ{datetime.now():%Y%m%d}{sim.next_serial():06d}"
        sim.ratings[f"receipt-qr:{no}"] = {  # one rating per receipt: a second one replaces it
            "rating_ref": ref, "transaction_key": no, "level_gbt39046": int(level),
            "follow_up": int(level) >= 4, "kiosk_id": "", "deliveries": 1,
            "receipt_no": no, "level": int(level), "direction": "gbt39046", "has_text": False,
            "via": "receipt_qr"}
    return "感谢您的评价", 200, {"Content-Type": "text/plain; charset=utf-8"}
