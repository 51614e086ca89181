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
from typing import Any

from kiosk.flow.journeys import ItemJourneys
from kiosk.flow.model import (Effect, Event, LookUpProgress, PrintFinished, PrintReceipt,
                              ProgressAnswered, QrScanned, ScanFailed, ScanQr, Screen, Show)
from kiosk.qrcodes import is_receipt_no

SCAN_TIMEOUT_S = 30.0
RECEIPT_DIGITS = 18  # <YYYYMMDD><6-digit run><4-digit serial>: what a resident types; the terminal id is added
LEGACY_RECEIPT_DIGITS = 14  # receipts printed before run numbers: <YYYYMMDD><6-digit serial>
GENERIC = ("lang:", "elder", "speech", "help", "home", "exit", "extend")


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


class KioskFlow(ItemJourneys):
    """The whole resident flow: every item kind, plus the QR steps described in the module docstring."""

    SCAN_TIMEOUT_S = SCAN_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scan: ScanQr | None = None
        self._scan_started = 0.0

    # -- scanning --

    def _qr_camera(self) -> bool:
        # The QR camera is the document camera unless a dedicated one is reported.
        return self.available.get("qr_camera", self.available.get("document_camera", True))

    def _go(self, screen: Screen) -> list[Effect]:
        if screen != Screen.SCAN:
            self._cancel_scan()
        effects = super()._go(screen)
        if screen == Screen.SCAN and self._scan is None:
            # Every arrival on the scan screen (first time, again, back from help) starts a fresh scan.
            s = self._start_session()
            s.extra.pop("scan_failed", None)
            self._scan = ScanQr(s.extra.get("scan_purpose", "progress"), self.SCAN_TIMEOUT_S)
            self._scan_started = self.clock()
            effects.append(self._scan)
        return effects

    def _cancel_scan(self) -> None:
        if self._scan is not None:
            self._scan.cancel.set()
            self._scan = None

    def _scan_for(self, purpose: str) -> list[Effect]:
        s = self._start_session()
        s.extra["scan_purpose"] = purpose
        if not self._qr_camera():
            if purpose == "progress":
                return self._go(Screen.RECEIPT_ENTRY)
            return self._notify("notice_no_qr_camera")
        self._cancel_scan()
        return self._go(Screen.SCAN)

    def _tick(self) -> list[Effect]:
        if self.screen == Screen.SCAN and self._scan is not None and \
                self.clock() - self._scan_started >= self.SCAN_TIMEOUT_S:
            self._cancel_scan()
            if self.session is not None:
                self.session.extra["scan_failed"] = "scan_timeout"
            return [Show(self.screen), *super()._tick()]
        return super()._tick()

    # -- touches --

    def _tapped(self, target: str) -> list[Effect]:
        mine = None if target.startswith(GENERIC) else self._qr_tapped(target)
        return mine if mine is not None else super()._tapped(target)

    def _qr_tapped(self, target: str) -> list[Effect] | None:
        screen, s = self.screen, self.session
        if target == "progress" and screen in (Screen.ATTRACT, Screen.HOME):
            return self._scan_for("progress")
        if s is None:
            return None
        purpose = s.extra.get("scan_purpose", "")
        if screen == Screen.CARD_PROMPT and target == "use:app_qr" and s.item is not None:
            return self._scan_for("signin")
        if screen == Screen.CONSENT and target == "alt:app_qr" and s.item is not None:
            return self._scan_for("signin")
        if screen == Screen.SCAN:
            if target == "rescan":
                self._cancel_scan()
                return self._go(Screen.SCAN)
            if target == "type_receipt" and purpose == "progress":
                return self._go(Screen.RECEIPT_ENTRY)
            if target.startswith("use:") and purpose == "signin":
                s.extra["awaiting"] = target[4:]
                return self._go(Screen.CARD_PROMPT)
            if target == "back":
                s.extra.pop("awaiting", None)
                return self._go(Screen.CARD_PROMPT if purpose == "signin" else Screen.HOME)
            return []
        if screen == Screen.RECEIPT_ENTRY:
            return self._keypad(target)
        if screen == Screen.PROGRESS_RESULT:
            return self._result_tapped(target)
        return None

    def _keypad(self, target: str) -> list[Effect]:
        s = self.session
        assert s is not None
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
            return self._notify(problem) if problem else self._look_up(digits=digits)
        elif target == "scan":
            return self._scan_for("progress")
        elif target == "back":
            return self._go(Screen.HOME)
        else:
            return []
        return [Show(self.screen)]

    def _result_tapped(self, target: str) -> list[Effect]:
        s = self.session
        assert s is not None
        if target == "print" and self.available.get("printer", True) and s.extra.get("progress"):
            job = str(uuid.uuid4())
            s.extra["progress_printing"] = job
            return [*self._go(Screen.PRINTING), PrintReceipt(job, self._progress_slip(), "query")]
        if target == "retry" and s.extra.get("progress_no"):
            return self._look_up(receipt_no=s.extra["progress_no"], digits=s.extra.get("progress_digits", ""))
        if target == "another":
            s.extra.pop("receipt_digits", None)
            return self._scan_for("progress")
        if target == "type_receipt":
            return self._go(Screen.RECEIPT_ENTRY)
        if target in ("back", "finish"):
            return self._go(Screen.HOME)
        return []

    def _look_up(self, *, receipt_no: str = "", digits: str = "") -> list[Effect]:
        s = self.session
        assert s is not None
        for key in ("progress", "progress_reason"):
            s.extra.pop(key, None)
        s.extra["progress_no"] = receipt_no
        s.extra["progress_digits"] = digits
        return [*self._go(Screen.WORKING), LookUpProgress(receipt_no, "" if receipt_no else digits)]

    def _progress_slip(self) -> dict[str, Any]:
        """The progress on paper: the query slip's layout, Chinese as the rest of the paper."""
        s = self.session
        assert s is not None
        answer = s.extra.get("progress") or {}
        rows = [["回执编号", str(answer.get("receipt_no", s.extra.get("progress_no", "")))],
                ["当前状态", str(answer.get("status_text", ""))]]
        rows += [[str(step.get("at", ""))[:16].replace("T", " "), str(step.get("text", ""))]
                 for step in answer.get("steps", [])]
        return {"item_name": "办件进度查询", "answer": {"title": "办件进度", "rows": rows}}

    # -- answers --

    def _service_event(self, event: Event) -> list[Effect]:
        s = self.session
        if isinstance(event, QrScanned | ScanFailed):
            if s is None or self._scan is None or event.scan_id != self._scan.scan_id or self.screen != Screen.SCAN:
                return []  # a scan the resident already left
            self._scan = None
            if isinstance(event, ScanFailed):
                s.extra["scan_failed"] = event.reason_key
                return [Show(self.screen)]
            return self._look_up(receipt_no=event.receipt_no)
        if isinstance(event, ProgressAnswered):
            if s is None or self.screen != Screen.WORKING or "progress_no" not in s.extra:
                return []
            s.extra["progress_no"] = event.receipt_no or s.extra["progress_no"]
            if event.reason_key:
                s.extra["progress_reason"] = event.reason_key
            else:
                s.extra["progress"] = dict(event.answer)
            return self._go(Screen.PROGRESS_RESULT)
        if isinstance(event, PrintFinished) and s is not None and event.job_id == s.extra.get("progress_printing"):
            s.extra.pop("progress_printing")
            if self.screen != Screen.PRINTING:
                return []
            effects = self._go(Screen.PROGRESS_RESULT)
            return [*effects, *self._notify("notice_progress_printed" if event.printed else "notice_progress_not_printed")]
        return super()._service_event(event)

    def _card_read(self, identity: Any, source: str) -> list[Effect]:
        s = self.session
        signing_in = self.screen == Screen.SCAN and s is not None and s.item is not None \
            and s.extra.get("scan_purpose") == "signin"
        if source == "app_qr" and not signing_in:
            identity.wipe()  # a sign-in the resident already walked away from
            return []
        if signing_in:
            # Whatever identified the resident here (the app's code, or a card laid on the reader
            # meanwhile), it answers the card prompt the scan was started from.
            self._cancel_scan()
            self.screen = Screen.CARD_PROMPT
        return super()._card_read(identity, source)

    # -- what the screens see --

    def _journey_view(self) -> dict[str, Any]:
        out = super()._journey_view()
        s = self.session
        assert s is not None
        screen = self.screen
        if screen == Screen.SCAN:
            purpose = s.extra.get("scan_purpose", "progress")
            out.update({"scan_purpose": purpose, "scan_failed": s.extra.get("scan_failed", ""),
                        "scanning": self._scan is not None,
                        "scan_left_s": max(0, round(self._scan_started + self.SCAN_TIMEOUT_S - self.clock()))
                        if self._scan is not None else 0})
            if purpose == "signin" and s.item is not None:
                accepted = set(s.item.accepted_identity())
                out["scan_alternatives"] = [a for a in ("id_card", "social_security_card")
                                            if a in accepted or (a == "id_card" and "id_card_face" in accepted)]
        if screen == Screen.RECEIPT_ENTRY:
            out["receipt_digits"] = shown_digits(s.extra.get("receipt_digits", ""))
            out["receipt_digits_left"] = RECEIPT_DIGITS - len(s.extra.get("receipt_digits", ""))
        if screen == Screen.PROGRESS_RESULT:
            answer = s.extra.get("progress") or {}
            number = str(answer.get("receipt_no") or s.extra.get("progress_no") or
                         shown_digits(s.extra.get("progress_digits", "")))
            out.update({"progress_no": number, "progress_reason": s.extra.get("progress_reason", ""),
                        "progress_source": str(answer.get("source", "")),
                        "progress_status": str(answer.get("status", "")),
                        "progress_status_text": str(answer.get("status_text", "")),
                        "progress_steps": [(str(x.get("at", ""))[:16].replace("T", " "), str(x.get("text", "")))
                                           for x in answer.get("steps", [])],
                        "progress_url": _link(number)})
        return out


def _link(receipt_no: str) -> str:
    from kiosk.qrcodes import progress_url

    return progress_url(receipt_no) if is_receipt_no(receipt_no) else ""


__all__ = ["KioskFlow", "SCAN_TIMEOUT_S", "RECEIPT_DIGITS", "typed_digits_problem", "shown_digits",
           "receipt_from_digits"]
