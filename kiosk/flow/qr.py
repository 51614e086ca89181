"""QR steps: 办件进度查询 by scanning an earlier receipt (or typing its number), and 扫码登录 with the
government app's sign-in code.

progress  home / attract ─progress─► scan ─QrScanned─► working (LookUpProgress) ─► progress_result
                                      │  └ScanFailed / 30 s─► scan (the reason; scan again, type, help)
                                      └type_receipt─► receipt_entry (keypad) ─pk:done─► working …
          progress_result: status and steps; print, look up again, another receipt, home
sign-in   card_prompt ─use:app_qr─► scan ─CardRead(app_qr)─► the item's journey (no face check)
          consent ─alt:app_qr─►      └ScanFailed (expired, forged, used, platform out of reach …)─►
                                        scan: the reason, scan again, or the ID / social security card
          (the code is redeemed by the platform through the gateway: kiosk/terminal/scanning.py)

The scan itself runs off the UI thread (``kiosk/terminal/scanning.py``): the flow hands out a
:class:`ScanQr` and sets its ``cancel`` as soon as the resident leaves the scan screen, for
whatever reason (back, help, exit, timeout, session end). The flow keeps its own 30 s deadline
against the injected clock as well, so a camera that stops answering can never hang the screen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import (
    Effect,
    Event,
    LookUpProgress,
    PrintFinished,
    PrintReceipt,
    ProgressAnswered,
    QrScanned,
    ScanFailed,
    ScanQr,
    Screen,
    Show,
)
from kiosk.flow.views import ProgressResultView, ReceiptEntryView, ScanView, View, shared
from kiosk.qrcodes import is_receipt_no, progress_url

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

SCAN_TIMEOUT_S = 30.0
RECEIPT_DIGITS = 18  # <YYYYMMDD><6-digit run><4-digit serial>: what a resident types; the terminal id is added
LEGACY_RECEIPT_DIGITS = 14  # receipts printed before run numbers: <YYYYMMDD><6-digit serial>


def typed_digits_problem(digits: str) -> str:
    """A message key when typed receipt digits cannot be a receipt number, else ""."""
    if len(digits) not in (RECEIPT_DIGITS, LEGACY_RECEIPT_DIGITS) or not digits.isdigit():
        return "notice_receipt_digits"
    try:
        dt.datetime.strptime(digits[:8], "%Y%m%d")
    except ValueError:
        return "notice_receipt_date"
    return ""


def shown_digits(digits: str) -> str:
    """Typed digits grouped as on the receipt: ``20261121-482731-0001``."""
    return "-".join(part for part in (digits[:8], digits[8:14], digits[14:]) if part)


def receipt_from_digits(kiosk_id: str, digits: str) -> str:
    """The receipt number typed digits stand for on this terminal."""
    return f"{kiosk_id}-{shown_digits(digits)}"


def qr_camera(flow: KioskFlow) -> bool:
    """Whether a QR code can be scanned: the QR camera is the document camera unless a dedicated one
    is reported."""
    return flow.available.get("qr_camera", flow.available.get("document_camera", True))


def scan_for(flow: KioskFlow, purpose: str) -> list[Effect]:
    """Go and scan a code for ``purpose`` (``progress`` or ``signin``); without a camera, a receipt is typed."""
    s = flow.start_session()
    s.extra["scan_purpose"] = purpose
    if not qr_camera(flow):
        if purpose == "progress":
            return flow.go(Screen.RECEIPT_ENTRY)
        return flow.notify("notice_no_qr_camera")
    flow.cancel_scan()
    return flow.go(Screen.SCAN)


def look_up(flow: KioskFlow, *, receipt_no: str = "", digits: str = "") -> list[Effect]:
    s = flow.session
    assert s is not None
    for key in ("progress", "progress_reason"):
        s.extra.pop(key, None)
    s.extra["progress_no"] = receipt_no
    s.extra["progress_digits"] = digits
    return [*flow.go(Screen.WORKING), LookUpProgress(receipt_no, "" if receipt_no else digits)]


def progress_answered(flow: KioskFlow, event: ProgressAnswered) -> list[Effect]:
    """The progress lookup's answer (on the working screen)."""
    s = flow.session
    if s is None or "progress_no" not in s.extra:
        return []
    s.extra["progress_no"] = event.receipt_no or s.extra["progress_no"]
    if event.reason_key:
        s.extra["progress_reason"] = event.reason_key
    else:
        s.extra["progress"] = dict(event.answer)
    return flow.go(Screen.PROGRESS_RESULT)


def progress_printed(flow: KioskFlow, event: PrintFinished) -> list[Effect] | None:
    """The progress slip came out (or did not); None: not the progress slip's job."""
    s = flow.session
    if s is None or event.job_id != s.extra.get("progress_printing"):
        return None
    s.extra.pop("progress_printing")
    effects = flow.go(Screen.PROGRESS_RESULT)
    return [*effects, *flow.notify("notice_progress_printed" if event.printed else "notice_progress_not_printed")]


def progress_slip(flow: KioskFlow) -> dict[str, Any]:
    """The progress on paper: the query slip's layout, Chinese as the rest of the paper."""
    s = flow.session
    assert s is not None
    answer = s.extra.get("progress") or {}
    rows = [["回执编号", str(answer.get("receipt_no", s.extra.get("progress_no", "")))],
            ["当前状态", str(answer.get("status_text", ""))]]
    rows += [list(row) for row in bundle_steps(flow, answer, "zh_CN")] or \
        [[str(step.get("at", ""))[:16].replace("T", " "), str(step.get("text", ""))]
         for step in answer.get("steps", [])]
    return {"item_name": "办件进度查询", "answer": {"title": "办件进度", "rows": rows}}


def bundle_steps(flow: KioskFlow, answer: dict[str, Any], language: str) -> list[tuple[str, str]]:
    """一件事: each item of the bundle the receipt came in, with its own status (the platform's
    ``bundle.items``), shown instead of the one item's steps; [] for a single item."""
    bundle = answer.get("bundle")
    if not isinstance(bundle, dict):
        return []
    rows = []
    for entry in bundle.get("items") or []:
        if not isinstance(entry, dict):
            continue
        item = flow.catalog.get(str(entry.get("item_code", "")))
        name = item.name.get(language) if item is not None else str(entry.get("item_code", ""))
        rows.append((name, str(entry.get("status_text", ""))))
    return rows


class Scan(ScreenHandler):
    """A QR code held up to the camera: a receipt's progress link, or the app's sign-in code."""

    def entered(self, flow: KioskFlow) -> list[Effect]:
        if flow.scan is not None:
            return []
        # Every arrival on the scan screen (first time, again, back from help) starts a fresh scan.
        s = flow.start_session()
        s.extra.pop("scan_failed", None)
        flow.scan = ScanQr(s.extra.get("scan_purpose", "progress"), flow.SCAN_TIMEOUT_S)
        flow.scan_started = flow.clock()
        return [flow.scan]

    def ticked(self, flow: KioskFlow) -> list[Effect]:
        if flow.scan is None or flow.clock() - flow.scan_started < flow.SCAN_TIMEOUT_S:
            return []
        flow.cancel_scan()
        if flow.session is not None:
            flow.session.extra["scan_failed"] = "scan_timeout"
        return [Show(flow.screen)]

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None:
            return None
        purpose = s.extra.get("scan_purpose", "")
        if target == "rescan":
            flow.cancel_scan()
            return flow.go(Screen.SCAN)
        if target == "type_receipt" and purpose == "progress":
            return flow.go(Screen.RECEIPT_ENTRY)
        if target.startswith("use:") and purpose == "signin":
            s.extra["awaiting"] = target[4:]
            return flow.go(Screen.CARD_PROMPT)
        if target == "back":
            s.extra.pop("awaiting", None)
            return flow.go(Screen.CARD_PROMPT if purpose == "signin" else Screen.HOME)
        return []

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        s = flow.session
        if not isinstance(event, QrScanned | ScanFailed):
            return []
        if s is None or flow.scan is None or event.scan_id != flow.scan.scan_id:
            return []  # a scan the resident already left
        flow.scan = None
        if isinstance(event, ScanFailed):
            s.extra["scan_failed"] = event.reason_key
            return [Show(flow.screen)]
        return look_up(flow, receipt_no=event.receipt_no)

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None:
            return base
        purpose = s.extra.get("scan_purpose", "progress")
        alternatives: list[str] = []
        if purpose == "signin" and s.item is not None:
            accepted = set(s.item.accepted_identity())
            alternatives = [a for a in ("id_card", "social_security_card")
                            if a in accepted or (a == "id_card" and "id_card_face" in accepted)]
        return ScanView(**shared(base), scan_purpose=purpose, scan_failed=s.extra.get("scan_failed", ""),
                        scanning=flow.scan is not None,
                        scan_left_s=max(0, round(flow.scan_started + flow.SCAN_TIMEOUT_S - flow.clock()))
                        if flow.scan is not None else 0,
                        scan_alternatives=alternatives)


class ReceiptEntry(ScreenHandler):
    """The receipt number typed on a keypad instead of scanned."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None:
            return None
        digits = s.extra.get("receipt_digits", "")
        key = target[3:] if target.startswith("pk:") else ""
        if key.isdigit() and len(key) == 1 and len(digits) < RECEIPT_DIGITS:
            s.extra["receipt_digits"] = digits + key
        elif key == "BKSP":
            s.extra["receipt_digits"] = digits[:-1]
        elif key == "CLEAR":
            s.extra["receipt_digits"] = ""
        elif key == "done":
            problem = typed_digits_problem(digits)
            return flow.notify(problem) if problem else look_up(flow, digits=digits)
        elif target == "scan":
            return scan_for(flow, "progress")
        elif target == "back":
            return flow.go(Screen.HOME)
        else:
            return []
        return [Show(flow.screen)]

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None:
            return base
        digits = s.extra.get("receipt_digits", "")
        return ReceiptEntryView(**shared(base), receipt_digits=shown_digits(digits),
                                receipt_digits_left=RECEIPT_DIGITS - len(digits))


class ProgressResult(ScreenHandler):
    """办件进度: status and steps; print, look up again, another receipt, home."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None:
            return None
        if target == "print" and flow.available.get("printer", True) and s.extra.get("progress"):
            job = str(uuid.uuid4())
            s.extra["progress_printing"] = job
            return [*flow.go(Screen.PRINTING), PrintReceipt(job, progress_slip(flow), "query")]
        if target == "retry" and s.extra.get("progress_no"):
            return look_up(flow, receipt_no=s.extra["progress_no"], digits=s.extra.get("progress_digits", ""))
        if target == "another":
            s.extra.pop("receipt_digits", None)
            return scan_for(flow, "progress")
        if target == "type_receipt":
            return flow.go(Screen.RECEIPT_ENTRY)
        if target in ("back", "finish"):
            return flow.go(Screen.HOME)
        return []

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None:
            return base
        answer = s.extra.get("progress") or {}
        number = str(answer.get("receipt_no") or s.extra.get("progress_no") or
                     shown_digits(s.extra.get("progress_digits", "")))
        return ProgressResultView(**shared(base), progress_no=number,
                                  progress_reason=s.extra.get("progress_reason", ""),
                                  progress_source=str(answer.get("source", "")),
                                  progress_status=str(answer.get("status", "")),
                                  progress_status_text=str(answer.get("status_text", "")),
                                  progress_steps=bundle_steps(flow, answer, flow.language) or
                                  [(str(x.get("at", ""))[:16].replace("T", " "), str(x.get("text", "")))
                                   for x in answer.get("steps", [])],
                                  progress_url=_link(number))


SCAN = Scan()
RECEIPT_ENTRY = ReceiptEntry()
PROGRESS_RESULT = ProgressResult()


def _link(receipt_no: str) -> str:
    return progress_url(receipt_no) if is_receipt_no(receipt_no) else ""


__all__ = [
    "RECEIPT_DIGITS",
    "SCAN_TIMEOUT_S",
    "receipt_from_digits",
    "shown_digits",
    "typed_digits_problem",
]
