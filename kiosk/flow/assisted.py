"""Assisted mode (帮办代办): a staff member signs in on the terminal and serves residents.

    attract/home ─staff:signin─► staff_signin (ScanQr "staff": the staff pass QR, vouched for by the
                 gateway: a ``helper`` token labelled with the staff number) ─► home, the banner on every screen
    … any journey … the submission (Submit) ─► assisted_consent
                 ─ the resident present: 本人同意 (consent ``on_screen``, with the time)
                 ─ the resident absent: 委托书 captured with the document camera (consent
                   ``power_of_attorney``; the page goes with the submission as a material)
                 ─► working (Submit with ``assisted``: 代办人 = the staff number, the consent, the 委托书's name)
    a fee item   review ─submit─► assisted_consent ─► payment (its CreatePayment carries ``assisted``)
    一件事       the first item's Submit ─► assisted_consent; every later item of that bundle carries the same
    staff:end, or the staff session's own timeouts (``[assisted]`` settings) ─► attract, everything forgotten

The staff session lives beside the resident's (``KioskFlow.staff``): a resident's session ending (done,
timeout, card pulled) leaves the staff member signed in for the next resident, and the staff session
ending ends the resident's too. Nothing here is personal: the staff number is shown (never a name), the
consent is its kind and time, and the 委托书 page stays in the session (wiped with it) until it is sent.
Pure: no I/O; :class:`~kiosk.flow.machine.KioskFlow` calls :func:`before` and :func:`after` around each
event, and :func:`ticked` each tick.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import (
    BUSY,
    CapturePage,
    CreatePayment,
    Effect,
    Event,
    Material,
    PageCaptured,
    ScanFailed,
    ScanQr,
    Screen,
    ServiceFailed,
    Show,
    StaffSignedIn,
    StaffSignedOut,
    Submit,
    Tapped,
)
from kiosk.flow.views import AssistedConsentView, StaffSignInView, View, shared

if TYPE_CHECKING:
    from kiosk.flow.machine import KioskFlow

SIGNIN = "staff:signin"
END = "staff:end"
STAFF_NO_PATTERN = r"^[A-Za-z0-9-]{1,16}$"
"""A staff number as the gateway vouches for it (the helper token's label)."""
CONSENT_KINDS = ("on_screen", "power_of_attorney")
POA_MATERIAL = 900
"""The material number the 委托书 page is captured under (beyond any item's materials)."""
POA_NAME = "poa-1.jpg"
"""The 委托书 page's file name in the submission; ``assisted.power_of_attorney`` names it."""
SIGNIN_SCREENS = frozenset({Screen.ATTRACT, Screen.HOME})
"""Where a staff member may sign in (no resident's item under way)."""


@dataclass(frozen=True)
class StaffPolicy:
    """The staff session's own time limits (``[assisted]`` settings)."""

    idle_s: float = 600.0
    """The staff session ends after this long without a touch (a resident's session ends sooner)."""
    max_s: float = 8 * 3600.0
    """…and after this long in any case (a shift)."""


@dataclass
class StaffSession:
    """Who is serving: the staff number (shown) and the token id (sent, so the gateway can check it)."""

    staff_no: str
    token_id: str
    started: float


# -- the hooks KioskFlow calls ------------------------------------------------------------------

def before(flow: KioskFlow, event: Event) -> list[Effect] | None:
    """Assisted mode's own touches and answers, before the screens see the event; None: not ours."""
    if isinstance(event, Tapped) and not flow.warning:
        if event.target == SIGNIN and flow.staff is None and flow.screen in SIGNIN_SCREENS \
                and not flow.out_of_service:
            s = flow.start_session()
            s.extra.pop("staff_problem", None)
            flow.last_input = flow.clock()
            return flow.go(Screen.STAFF_SIGNIN)
        if event.target == END and flow.staff is not None and flow.screen not in BUSY:
            return end(flow, "ended")
    return None


def after(flow: KioskFlow, was: Screen, effects: list[Effect]) -> list[Effect]:
    """In a staff session, a submission waits for the resident's consent (or the 委托书) first; a fee item
    asks before its payment, and its payment order then carries the consent."""
    if flow.staff is None or flow.session is None:
        return effects
    s = flow.session
    block = s.extra.get("assisted_block")
    if block is not None:  # consented before the fee: the application held with the payment carries it
        extra: tuple[Material, ...] = s.extra.get("assisted_materials", ())
        effects = [dataclasses.replace(e, assisted=block, materials=(*e.materials, *extra))
                   if isinstance(e, CreatePayment) and not e.assisted else e for e in effects]
    bundled = s.extra.get("assisted_bundle")
    if bundled is not None:  # 一件事: the resident consented once for the whole bundle; each item carries it
        bundle_id, given, pages = bundled
        effects = [dataclasses.replace(e, assisted=given, materials=(*e.materials, *pages))
                   if isinstance(e, Submit) and not e.assisted and e.bundle_id == bundle_id else e for e in effects]
    held: list[Submit | Screen] = [e for e in effects if isinstance(e, Submit) and not e.assisted]
    if not held and was is Screen.REVIEW and flow.screen is Screen.PAYMENT and block is None:
        held = [Screen.PAYMENT]
    if not held:
        return effects
    s.extra["assisted_held"] = held[0]
    s.extra["assisted_back"] = was if was not in BUSY else Screen.HOME
    s.extra["consent_step"] = "choose"
    s.extra.pop("poa_page", None)
    rest = [e for e in effects if not isinstance(e, Submit | Show)]
    return [*rest, *flow.go(Screen.ASSISTED_CONSENT)]


def ticked(flow: KioskFlow) -> list[Effect]:
    """The staff session's own timeouts: idle (no touch) and the longest it may last."""
    staff = flow.staff
    if staff is None or flow.screen in BUSY:
        return []
    now = flow.clock()
    policy = flow.staff_policy
    if now - flow.last_input >= policy.idle_s or now - staff.started >= policy.max_s:
        return end(flow, "timeout")
    return []


def end(flow: KioskFlow, reason: str) -> list[Effect]:
    """End the staff session (``ended`` or ``timeout``): the resident's session (if any) is wiped too, the
    gateway audits the end, and the attract loop returns."""
    staff = flow.staff
    assert staff is not None
    flow.staff = None
    effects = flow.end_session(f"staff session {reason}")
    flow.notify("notice_staff_ended")
    return [StaffSignedOut(staff.staff_no, staff.token_id, reason), *effects]


def signed_in(flow: KioskFlow, event: StaffSignedIn) -> list[Effect]:
    """The gateway vouched for the pass: the staff session starts, the staff member lands on home."""
    if not re.match(STAFF_NO_PATTERN, event.staff_no):
        return _failed(flow, "staff_pass_refused")
    flow.staff = StaffSession(event.staff_no, event.token_id, flow.clock())
    s = flow.start_session()
    s.extra.pop("staff_problem", None)
    return flow.go(Screen.HOME)  # the banner says it: a staff number on every screen from now on


def assisted_block(flow: KioskFlow, kind: str, poa: str | None) -> dict[str, Any]:
    """What a submission carries in assisted mode: 代办人, the consent (kind and time), the 委托书's name."""
    assert flow.staff is not None and kind in CONSENT_KINDS
    return {"agent_staff_no": flow.staff.staff_no, "staff_token_id": flow.staff.token_id,
            "consent": {"kind": kind, "at": flow.wall_clock().astimezone().isoformat(timespec="seconds")},
            "power_of_attorney": poa}


def _failed(flow: KioskFlow, key: str) -> list[Effect]:
    flow.start_session().extra["staff_problem"] = key
    return [Show(flow.screen)]


# -- the screens --------------------------------------------------------------------------------

class StaffSignIn(ScreenHandler):
    """工作人员登录: the staff pass QR held up to the QR camera (or the document camera)."""

    def entered(self, flow: KioskFlow) -> list[Effect]:
        flow.scan = ScanQr("staff", flow.SCAN_TIMEOUT_S)
        flow.scan_started = flow.clock()
        return [flow.scan]

    def ticked(self, flow: KioskFlow) -> list[Effect]:
        if flow.scan is None or flow.clock() - flow.scan_started < flow.SCAN_TIMEOUT_S:
            return []
        flow.cancel_scan()
        return _failed(flow, "scan_timeout")

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        if target == "rescan":
            flow.start_session().extra.pop("staff_problem", None)
            flow.cancel_scan()
            return flow.go(Screen.STAFF_SIGNIN)
        if target in ("back", "home"):
            return flow.go(Screen.ATTRACT if target == "back" else Screen.HOME)
        return None

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        if not isinstance(event, StaffSignedIn | ScanFailed):
            return []
        if flow.scan is None or event.scan_id != flow.scan.scan_id:
            return []  # a scan already left
        flow.scan = None
        if isinstance(event, ScanFailed):
            return _failed(flow, event.reason_key)
        return signed_in(flow, event)

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        return StaffSignInView(**shared(base), staff_scanning=flow.scan is not None,
                               staff_problem=s.extra.get("staff_problem", "") if s is not None else "",
                               staff_left_s=max(0, round(flow.scan_started + flow.SCAN_TIMEOUT_S - flow.clock()))
                               if flow.scan is not None else 0)


class AssistedConsent(ScreenHandler):
    """The resident agrees that the staff member submits for them, or the 委托书 is captured."""

    def tapped(self, flow: KioskFlow, target: str) -> list[Effect] | None:
        s = flow.session
        if s is None or flow.staff is None or "assisted_held" not in s.extra:
            return None
        step = s.extra.get("consent_step", "choose")
        if target == "assisted:consent" and step == "choose":
            return release(flow, assisted_block(flow, "on_screen", None), ())
        if target == "assisted:poa" and step == "choose":
            s.extra["consent_step"] = "poa"
            return [Show(flow.screen)]
        if target == "assisted:capture" and step == "poa" and not s.extra.get("poa_capturing"):
            s.extra["poa_capturing"] = True
            return [Show(flow.screen), CapturePage(POA_MATERIAL)]
        if target == "assisted:poa_submit" and step == "poa" and s.extra.get("poa_page") is not None:
            page: PageCaptured = s.extra["poa_page"]
            return release(flow, assisted_block(flow, "power_of_attorney", POA_NAME),
                           (Material(POA_NAME, "image/jpeg", page.jpeg),))
        if target == "back":
            if step == "poa":
                s.extra["consent_step"] = "choose"
                s.extra.pop("poa_page", None)
                return [Show(flow.screen)]
            s.extra.pop("assisted_held", None)  # not consented: nothing is sent
            back = s.extra.pop("assisted_back", Screen.HOME)
            return flow.go(back if isinstance(back, Screen) else Screen.HOME)
        return None

    def answered(self, flow: KioskFlow, event: Event) -> list[Effect]:
        s = flow.session
        if s is None:
            return []
        if isinstance(event, PageCaptured) and event.material == POA_MATERIAL:
            s.extra["poa_capturing"] = False
            s.extra["poa_page"] = event
            return [Show(flow.screen)]
        if isinstance(event, ServiceFailed) and s.extra.get("poa_capturing"):
            s.extra["poa_capturing"] = False
            return flow.notify(event.reason_key)
        return []

    def view(self, flow: KioskFlow, base: View) -> View:
        s = flow.session
        if s is None:
            return base
        page = s.extra.get("poa_page")
        return AssistedConsentView(**shared(base), consent_step=s.extra.get("consent_step", "choose"),
                                   poa_capturing=bool(s.extra.get("poa_capturing")),
                                   poa_preview=page.preview_png if page is not None else b"")


def release(flow: KioskFlow, block: dict[str, Any], extra: tuple[Material, ...]) -> list[Effect]:
    """Send the held submission, now with the consent: 代办人, consent and (for 代办) the 委托书 page."""
    s = flow.session
    assert s is not None
    held: Submit | Screen = s.extra.pop("assisted_held")
    s.extra.pop("assisted_back", None)
    s.extra.pop("poa_page", None)
    if held is Screen.PAYMENT:  # a fee item: the payment order will carry the consent (see after)
        s.extra["assisted_block"], s.extra["assisted_materials"] = block, extra
        return flow.go(Screen.PAYMENT)
    assert isinstance(held, Submit)
    if held.bundle_id:  # the bundle's next items carry the same consent (and 委托书) without asking again
        s.extra["assisted_bundle"] = (held.bundle_id, block, extra)
    submit = dataclasses.replace(held, assisted=block, materials=(*held.materials, *extra))
    return [*flow.go(Screen.WORKING), submit]


STAFF_SIGNIN = StaffSignIn()
ASSISTED_CONSENT = AssistedConsent()
