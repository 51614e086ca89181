"""帮办 at any hour (issue 21): the help screen by the station's opening hours, the call-back, and the
resident's side of the remote help desk.

help ─(open)──── help:<group> ─► RequestHelp("help") (someone comes over), report:<category>
     ─(closed)── help:remote ─► RequestHelp("remote") ─HelpQueued─► desk "waiting" (on any screen)
              ── help:callback ─► help_callback ─pk:<digit> … win:<window> … cb:send─► RequestHelp("callback")
desk: waiting ─DeskUpdate(accepted)─► asking (modal: desk:consent / desk:decline)
      asking ─desk:consent─► live (DeskReply consent; frames go to the desk) ─desk:end / DeskUpdate(ended)─► none
      live: DeskUpdate(point) pulses a highlight for POINT_S; DeskUpdate(message) shows (and speaks) a message

The desk state lives in the session (``extra["desk"]``): when the session ends it is gone, and the
terminal tells the gateway (kiosk/terminal/helpdesk.py). Pure: no I/O, times from ``flow.clock``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from kiosk.flow.browse import REPORT_CATEGORIES, Help
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import DeskReply, DeskUpdate, Effect, HelpQueued, RequestHelp, Screen, Show
from kiosk.flow.views import FieldView, HelpCallbackView, HelpReportView, HelpView, View, shared
from kiosk.opening_hours import OpeningHours
from kiosk.validators import mobile_valid

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

DEFAULT_HOURS = OpeningHours.parse("mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00")
WINDOWS = ("morning", "afternoon", "evening")
PHONE_DIGITS = 11
POINT_S = 4.0  # how long the desk's highlight pulses
PULSE_HZ = 4.0  # the highlight's phase changes this often (each change is a new frame for the desk)
MESSAGE_S = 20.0  # how long the desk's message stays
DESK_MESSAGES = ("desk_msg_tap_here", "desk_msg_next", "desk_msg_card", "desk_msg_wait", "desk_msg_scroll")
"""The desk's prepared messages: shown and spoken in the resident's language."""
NOTICES = {"help": "notice_help_no_help", "report": "notice_help_no_report", "remote": "notice_help_no_remote",
           "callback": "notice_help_no_callback"}


@dataclass
class DeskState:
    """The remote help of this session: which request, its phase, who helps, the last point and message."""

    request_no: str
    phase: str = "waiting"
    staff: str = ""
    point: tuple[int, int] | None = None
    point_seq: int = 0
    point_at: float = -1e9
    message: str = ""
    message_key: str = ""
    message_at: float = -1e9


def desk(flow: KioskFlow) -> DeskState | None:
    s = flow.session
    found = s.extra.get("desk") if s is not None else None
    return found if isinstance(found, DeskState) else None


def notice_key(what: str) -> str:
    """The banner that tells the resident their request's number (shown and spoken)."""
    return NOTICES.get(what, "notice_help_no_help")


def queued(flow: KioskFlow, event: HelpQueued) -> None:
    """A remote help request was queued: the session waits for the desk (its number is the request's)."""
    if event.what == "remote" and flow.session is not None and event.receipt_no:
        flow.session.extra["desk"] = DeskState(event.receipt_no)


def modal(flow: KioskFlow) -> bool:
    """The desk asks to see the screen: only the consent's own buttons count until it is answered."""
    state = desk(flow)
    return state is not None and state.phase == "asking"


def tapped(flow: KioskFlow, target: str) -> list[Effect]:
    """``desk:consent`` / ``desk:decline`` / ``desk:end`` (anything else while the consent is up: nothing)."""
    state = desk(flow)
    s = flow.session
    if state is None or s is None:
        return []
    if target == "desk:consent" and state.phase == "asking":
        state.phase = "live"
        return [DeskReply(state.request_no, "consent"), Show(flow.screen)]
    if (target == "desk:decline" and state.phase == "asking") or target == "desk:end":
        del s.extra["desk"]
        flow.notify("notice_desk_ended")
        return [DeskReply(state.request_no, "decline" if target == "desk:decline" else "end"), Show(flow.screen)]
    return []


def update(flow: KioskFlow, event: DeskUpdate) -> list[Effect]:
    """What the desk did: accepted the request, pointed, sent a message, or ended the help."""
    state = desk(flow)
    s = flow.session
    if state is None or s is None:
        return []
    now = flow.clock()
    if event.kind == "accepted" and state.phase == "waiting":
        state.phase, state.staff = "asking", event.staff
        flow.notice = ""  # the consent is a page of its own: the earlier banner is not said again after it
        flow.last_input = now  # the resident has something to answer: not idle
    elif event.kind == "point" and state.phase == "live":
        state.point, state.point_seq, state.point_at = (event.x, event.y), event.seq, now
        flow.last_input = now  # being shown where to tap is not being idle
    elif event.kind == "message" and state.phase == "live":
        key = event.key if event.key in DESK_MESSAGES else ""
        state.message, state.message_key, state.message_at = ("" if key else event.text), key, now
        flow.last_input = now  # being told what to do is not being idle
    elif event.kind == "ended":
        del s.extra["desk"]
        return flow.notify("notice_desk_ended")
    else:
        return []
    return [Show(flow.screen)]


def with_desk(flow: KioskFlow, base: View) -> View:
    """``base`` with the desk's parts (its phase, staff number, pulsing point and message)."""
    state = desk(flow)
    if state is None:
        return base
    now = flow.clock()
    pointing = state.point is not None and now - state.point_at < POINT_S
    messaged = now - state.message_at < MESSAGE_S
    return dataclasses.replace(
        base, desk=state.phase, desk_staff=state.staff,
        desk_point=state.point if pointing else None,
        desk_pulse=int((now - state.point_at) * PULSE_HZ) % 2 if pointing else 0,
        desk_point_seq=state.point_seq,
        desk_message=state.message if messaged else "",
        desk_message_key=state.message_key if messaged else "")


class HelpScreen(Help):
    """The help screen by the hour: staff on site when open; else the remote desk, a call-back, 12345."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        code = s.item.code if s and s.item else None
        if target == "help:remote":
            if desk(flow) is not None:
                return []  # one remote request per session
            return [RequestHelp("remote", "other", code, screen=flow.return_to.value, language=flow.language)]
        if target.startswith("report:") and target[7:] in REPORT_CATEGORIES and s is not None:
            s.extra.update(report_category=target[7:], report_text="", report_phone="", report_focus="",
                           report_problem="")
            return flow.go(Screen.HELP_REPORT)
        if target == "help:callback":
            if s is not None:
                s.extra["callback_phone"], s.extra["callback_window"], s.extra["callback_problem"] = "", "", ""
            return flow.go(Screen.HELP_CALLBACK)
        return super().tapped(flow, target)

    def view(self, flow: KioskFlow, base: View) -> View:
        now = flow.wall_clock()
        opening = flow.help_hours
        following = opening.next_opening(now)
        return HelpView(**shared(base), help_open=opening.is_open(now),
                        help_next_day=following.weekday() if following else -1,
                        help_next_time=following.strftime("%H:%M") if following else "",
                        hotline=flow.hotline)


class Callback(ScreenHandler):
    """A call-back: the mobile number on the keypad (``pk:``), a time window (``win:``), ``cb:send``."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None:
            return None
        phone = str(s.extra.get("callback_phone", ""))
        key = target[3:] if target.startswith("pk:") else ""
        if key.isdigit() and len(key) == 1:
            if len(phone) < PHONE_DIGITS:
                s.extra["callback_phone"] = phone + key
        elif key == "BKSP":
            s.extra["callback_phone"] = phone[:-1]
        elif key == "CLEAR":
            s.extra["callback_phone"] = ""
        elif target.startswith("win:") and target[4:] in WINDOWS:
            s.extra["callback_window"] = target[4:]
        elif target == "cb:send":
            window = str(s.extra.get("callback_window", ""))
            problem = "callback_bad_phone" if not mobile_valid(phone) else "" if window else "callback_no_window"
            s.extra["callback_problem"] = problem
            if problem:
                return [Show(flow.screen)]
            code = s.item.code if s.item else None
            s.extra["callback_phone"] = ""  # sent: the number is not kept in the session
            return [RequestHelp("callback", "other", code, phone=phone, window=window,
                                screen=flow.return_to.value, language=flow.language), *flow.go(Screen.HELP)]
        else:
            return _leave(flow, target)
        s.extra["callback_problem"] = ""
        return [Show(flow.screen)]

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        extra = s.extra if s is not None else {}
        return HelpCallbackView(**shared(base), callback_phone=str(extra.get("callback_phone", "")),
                                callback_window=str(extra.get("callback_window", "")),
                                callback_problem=str(extra.get("callback_problem", "")))


def _leave(flow: KioskFlow, target: str) -> list[Effect]:
    """The help sub-screens' ways out: back to help, home (where help was asked from), or exit."""
    if target == "back":
        return flow.go(Screen.HELP)
    if target == "home":
        return flow.go(flow.return_to)
    if target == "exit":
        return flow.end_session("resident left")
    return []


class Report(ScreenHandler):
    """办不成事反映: what happened (``field:text``, the pinyin keyboard) and a phone (``field:phone``, the
    keypad), both optional; ``report:send`` queues it (its number shows on the help screen)."""

    FIELDS: ClassVar[dict[str, tuple[str, str, int]]] = {
        "text": ("report_text_label", "text", 200), "phone": ("report_phone_label", "mobile", PHONE_DIGITS)}

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None:
            return None
        focus = str(s.extra.get("report_focus", ""))
        if target.startswith("field:") and target[6:] in self.FIELDS:
            s.extra["report_focus"] = target[6:]
        elif target == "kb:done" or (target == "back" and focus):
            s.extra["report_focus"] = ""
        elif target == "report:send":
            phone, text = str(s.extra.get("report_phone", "")), str(s.extra.get("report_text", "")).strip()
            if phone and not mobile_valid(phone):
                s.extra.update(report_problem="callback_bad_phone", report_focus="")
                return [Show(flow.screen)]
            code = s.item.code if s.item else None
            category = str(s.extra.get("report_category", "other"))
            s.extra.update(report_text="", report_phone="", report_focus="")  # sent: not kept
            return [RequestHelp("report", category, code, phone=phone, text=text, screen=flow.return_to.value,
                                language=flow.language), *flow.go(Screen.HELP)]
        else:
            return _leave(flow, target)
        return [Show(flow.screen)]

    def typed(self, flow: KioskFlow, text: str) -> list[Effect]:
        s = flow.session
        focus = str(s.extra.get("report_focus", "")) if s is not None else ""
        if s is None or focus not in self.FIELDS:
            return []
        limit = self.FIELDS[focus][2]
        value = "".join(ch for ch in text if ch.isdigit()) if focus == "phone" else text
        s.extra[f"report_{focus}"] = value[:limit]
        s.extra["report_problem"] = ""
        return [Show(flow.screen)]

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        extra = s.extra if s is not None else {}
        focus = str(extra.get("report_focus", ""))
        problem = str(extra.get("report_problem", ""))
        fields = [FieldView(key, label, kind, False, False, str(extra.get(f"report_{key}", "")),
                            problem if key == "phone" else "", [])
                  for key, (label, kind, _limit) in self.FIELDS.items()]
        focused = next((f for f in fields if f.key == focus), None)
        return HelpReportView(**shared(base), fields=fields, focus=focus,
                              focus_type=focused.type if focused else "", focus_text=focused.value if focused else "",
                              report_category=str(extra.get("report_category", "")))


HELP = HelpScreen()
CALLBACK = Callback()
REPORT = Report()
