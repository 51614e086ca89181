"""The flow object: sessions, the flow-wide buttons, availability, time, and the screen table.

:class:`KioskFlow` owns the journey's state and looks the current screen up in :data:`HANDLERS`
(screen → :class:`~kiosk.flow.handler.ScreenHandler`), Tuxemon's one state per screen: browsing and
help in ``browse.py``, each item kind in ``journeys.py`` (with the face check of ``face.py``), the QR
steps in ``qr.py``. What every screen shares (language, elder mode, speech, help, home, exit, the
idle warning, notices) is handled here before the screen's handler is asked.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable

from kiosk.catalog.loading import Catalog, ServiceItem
from kiosk.flow import assisted, browse, bundle, exempt, help_desk, journeys, payment, qr
from kiosk.flow.exempt_model import BenefitsAnswered, LicencesFetched
from kiosk.flow.handler import ScreenHandler
from kiosk.flow.model import (
    BUSY,
    ENDED,
    AudioMode,
    CancelPrints,
    CardRead,
    CardRejected,
    CardRemoved,
    DeskUpdate,
    DeviceStates,
    Effect,
    Event,
    HelpQueued,
    KeyPressed,
    ScanQr,
    Screen,
    ServiceSwitched,
    Session,
    SessionWiped,
    Show,
    Tapped,
    TextEntered,
    Tick,
)
from kiosk.flow.views import View, as_screen_view
from kiosk.privacy import mask_id_number, mask_name
from kiosk.qrcodes import progress_url

# Kinds whose answer comes from the platform at the moment of use (a queued apply does not).
ONLINE_KINDS = frozenset({"print", "query", "appointment", "certification"})
# Kinds whose point is the paper: without a printer there is nothing to take home.
PAPER_KINDS = frozenset({"print", "guide"})
SEARCH_CHIPS = browse.SEARCH_CHIPS
HELP_GROUPS = browse.HELP_GROUPS
REPORT_CATEGORIES = browse.REPORT_CATEGORIES
# Targets every screen shares; the screen's own handler is asked about them only after the flow.
GENERIC = ("lang:", "elder", "speech", "help", "home", "exit", "extend")

# The dispatch table: each screen's handler (a screen not listed ignores what the flow does not take).
HANDLERS: dict[Screen, ScreenHandler] = {
    Screen.ATTRACT: browse.ATTRACT,
    Screen.HOME: browse.HOME,
    Screen.CATEGORIES: browse.CATEGORIES,
    Screen.LIST: browse.LIST,
    Screen.SEARCH: browse.SEARCH,
    Screen.DETAIL: browse.DETAIL,
    Screen.HELP: help_desk.HELP,
    Screen.HELP_CALLBACK: help_desk.CALLBACK,
    Screen.HELP_REPORT: help_desk.REPORT,
    Screen.CARD_PROMPT: journeys.CARD_PROMPT,
    Screen.CONSENT: journeys.CONSENT,
    Screen.CONFIRM: journeys.CONFIRM,
    Screen.FORM: journeys.FORM,
    Screen.MATERIALS: journeys.MATERIALS,
    Screen.REVIEW: journeys.REVIEW,
    Screen.SLOTS: journeys.SLOTS,
    Screen.RESULT: journeys.RESULT,
    Screen.WORKING: journeys.WORKING,
    Screen.PRINTING: journeys.PRINTING,
    Screen.DONE: journeys.DONE,
    Screen.THANKS: journeys.BRIEF,
    Screen.TIMEOUT: journeys.BRIEF,
    Screen.ERROR: journeys.ERROR,
    Screen.SCAN: qr.SCAN,
    Screen.RECEIPT_ENTRY: qr.RECEIPT_ENTRY,
    Screen.PROGRESS_RESULT: qr.PROGRESS_RESULT,
    Screen.PAYMENT: payment.PAYMENT,
    Screen.STAFF_SIGNIN: assisted.STAFF_SIGNIN,
    Screen.ASSISTED_CONSENT: assisted.ASSISTED_CONSENT,
    **bundle.HANDLERS,  # 一件事: the bundle's intro, review and result (kiosk/flow/bundle.py)
    Screen.EXEMPT: exempt.NOTICE,  # 免申即办 (exempt.py): it also takes the detail and materials screens
}
HANDLERS[Screen.DETAIL] = exempt.DETAIL
HANDLERS[Screen.MATERIALS] = exempt.MATERIALS


def session_outcome(reason: str, failed: bool) -> str:
    """How a session ended, for the anonymous counts: completed, failed, abandoned or timeout."""
    if reason == "completed":
        return "completed"
    if failed:
        return "failed"
    if reason == "timeout":
        return "timeout"
    if reason == "finished":  # home from the done screen without rating
        return "completed"
    return "abandoned"  # resident left, idle on attract, card removed


class KioskFlow:
    """The whole resident flow: ``handle(event) -> effects`` and ``view()`` for the screens.

    ``clock``: monotonic seconds (injected). ``today``: the date the terminal can trust (the
    platform's, or a synchronised clock), None when it has none; documents are checked against it
    (``journeys.py``, ``refused_expired``). Without it no document counts as expired."""

    BUSY = BUSY
    ENDED = ENDED
    BRIEF_S = 8.0  # how long thanks / timeout notices stay before the attract loop
    NOTICE_S = 6.0  # how long a banner (card rejected, help sent) stays
    ELDER_FACTOR = 2.0  # elder mode: slower timeouts
    AUDIO_FACTOR = 3.0  # audio mode: finding one's way by ear takes longer (its warning is spoken)
    SCAN_TIMEOUT_S = qr.SCAN_TIMEOUT_S

    def __init__(self, catalog: Catalog, clock: Callable[[], float], *, language: str = "zh_CN",
                 idle_timeout_s: float = 90.0, warning_s: float = 20.0,
                 today: Callable[[], _dt.date | None] | None = None,
                 wall_clock: Callable[[], _dt.datetime] = _dt.datetime.now) -> None:
        self.catalog = catalog
        self.clock = clock
        self.today: Callable[[], _dt.date | None] = today or no_trusted_date
        # The local date and time (injected too): which appointment slots are still ahead, and the
        # certification's next due date when no trusted date is known. Timers never use it.
        self.wall_clock = wall_clock
        self.default_language = language
        self.idle_timeout_s = idle_timeout_s
        self.warning_s = warning_s
        self.screen = Screen.ATTRACT
        self.session: Session | None = None
        self.warning = False
        self.available: dict[str, bool] = {"printer": True, "camera": True, "document_camera": True,
                                           "platform": True}
        self.last_input = clock()
        self.entered_at = clock()
        self.notice = ""
        self.notice_until = 0.0
        self.browse = ""  # what the list screen lists: all, dept:<code>, theme:<code>, bundle:<code>
        self.categories = ""  # departments or themes
        self.query = ""
        self.return_to = Screen.HOME  # where "back" from help or detail goes
        self.out_of_service = ""  # the operators' message while the terminal is out of service
        self.scan: ScanQr | None = None  # the QR scan under way (kiosk/flow/qr.py)
        self.scan_started = 0.0
        # The language and elder mode of the session that just ended: its thanks or timeout notice is
        # still the resident's, so it keeps them until the attract screen returns.
        self.parting: tuple[str, bool] | None = None
        self.audio = False  # audio mode (screens/app.py): longer timeouts; ends when the attract loop returns
        self.staff: assisted.StaffSession | None = None  # assisted mode: the staff member signed in (assisted.py)
        self.staff_policy = assisted.StaffPolicy()
        self.help_hours = help_desk.DEFAULT_HOURS  # when staff are on site (help.opening_hours; help_desk.py)
        self.hotline = "12345"

    # -- public API --

    def handle(self, event: Event) -> list[Effect]:
        """Advance the journey by one event and say what the outside world should do."""
        ours = assisted.before(self, event)
        if ours is not None:
            return ours
        was = self.screen
        return assisted.after(self, was, self._handle(event))

    def _handle(self, event: Event) -> list[Effect]:
        if isinstance(event, Tick):
            return self.tick()
        if isinstance(event, DeviceStates):
            if {**self.available, **event.available} == self.available:
                return []
            self.available.update(event.available)
            return [Show(self.screen)]
        if isinstance(event, ServiceSwitched):
            message = "" if event.in_service else (event.message or "out_of_service")
            if message == self.out_of_service:
                return []
            self.out_of_service = message
            return [Show(self.screen)]
        if self.out_of_service and self.session is None and self.screen == Screen.ATTRACT \
                and isinstance(event, Tapped | TextEntered | CardRead):
            # Out of service: a resident already in a session finishes it; nobody new starts one.
            if isinstance(event, CardRead):
                event.identity.wipe()
            return []
        if isinstance(event, AudioMode):
            self.audio = event.on
            self.last_input = self.clock()
            return [Show(self.screen)]
        if isinstance(event, Tapped | TextEntered | KeyPressed | CardRead | CardRejected):
            self.last_input = self.clock()
        if isinstance(event, KeyPressed):
            return self._answer_warning("extend") if self.warning else []
        if isinstance(event, Tapped):
            if self.session is not None:
                self.session.touches += 1
            if event.target.startswith("desk:") or help_desk.modal(self):
                return help_desk.tapped(self, event.target)
            if self.warning:
                return self._answer_warning(event.target)
            return self._tapped(event.target)
        if isinstance(event, TextEntered):
            return self.handler.typed(self, event.text)
        if isinstance(event, CardRead):
            return exempt.card_read(self, event)  # journeys.card_read, then 免申即办's question
        if isinstance(event, CardRemoved):
            return journeys.card_removed(self, event.source)
        if isinstance(event, CardRejected):
            return self.notify(event.reason_key)
        if isinstance(event, HelpQueued):
            if self.session is not None:
                self.session.extra["help_no"] = event.receipt_no
            help_desk.queued(self, event)
            return self.notify(help_desk.notice_key(event.what))
        if isinstance(event, DeskUpdate):
            return help_desk.update(self, event)
        if isinstance(event, BenefitsAnswered | LicencesFetched):
            return exempt.answered(self, event)
        return self.handler.answered(self, event)

    @property
    def handler(self) -> ScreenHandler:
        """The current screen's handler (a bundle's own while its items are submitted and printed)."""
        return bundle.handler_for(self, HANDLERS.get(self.screen, NOTHING))

    @property
    def language(self) -> str:
        if self.session is not None:
            return self.session.language
        return self.parting[0] if self.parting is not None else self.default_language

    @property
    def elder(self) -> bool:
        if self.session is not None:
            return self.session.elder
        return self.parting is not None and self.parting[1]

    def unavailable(self, item: ServiceItem) -> str:
        """Why ``item`` cannot be done here right now (a message key), or "" if it can."""
        if item.kind in ONLINE_KINDS and not self.available.get("platform", True):
            return "unavail_platform"
        if item.kind in PAPER_KINDS and "printer" in item.devices and not self.available.get("printer", True):
            return "unavail_printer"
        if not self.available.get("id_reader", True) and \
                all(level in ("id_card", "id_card_face") for level in item.accepted_identity()) and \
                not (self.session is not None and self.session.identity_source == "id_card"):
            # The ID card reader is not there (unplugged, not answering): only a resident who laid the
            # card before could go on; everyone else would wait at the card prompt for nothing.
            return "unavail_id_reader"
        if "document_camera" in item.devices and not self.available.get("document_camera", True):
            return "unavail_document_camera"
        if item.identity == "id_card_face" and not self.available.get("camera", True) \
                and not item.identity_alternatives:
            return "unavail_camera"
        if item.identity == "id_card_face" and not self.available.get("platform", True) \
                and "social_security_card" not in item.identity_alternatives:
            # The face is compared at the identity platform and the app QR is redeemed there: offline,
            # only a social security card could identify the resident, and this item does not take one.
            return "unavail_face_platform"
        return ""

    def view(self) -> View:
        """Display-safe state for the screens: masked values only, never raw personal data."""
        lang = self.language
        chrome = View(
            screen=self.screen.value,
            language=lang,
            elder=self.elder,
            speech=self.session.speech if self.session else True,
            warning=self.warning,
            warning_left_s=max(0, round(self._deadline() - self.clock())) if self.warning else 0,
            items=[(i.code, i.name.get(lang), self.department(i))
                   for i in self.catalog.featured(4 if self.elder else 8)],
            notice_key=self.notice,
            available=dict(self.available),
            out_of_service=self.out_of_service,
            staff_no=self.staff.staff_no if self.staff is not None else "",
        )
        s = self.session
        if s is None:
            return as_screen_view(self.handler.view(self, chrome))
        base = dataclasses.replace(
            chrome,
            applicant_name=mask_name(s.identity.name) if s.identity is not None else "",
            applicant_id=mask_id_number(s.identity.id_number) if s.identity is not None else "",
            identity_source=s.identity_source,
            awaiting=s.extra.get("awaiting", ""),
            receipt_no=s.receipt_no,
            result_url=_progress_url(s.receipt_no),
            printed=s.printed,
            print_reason=s.print_reason,
            error_key=s.error_key,
            help_no=s.extra.get("help_no", ""),
            rating_followup=bool(s.extra.get("rating")),
            next_due=s.extra.get("next_due", ""),
            paid_text=s.extra.get("paid_text", ""),
        )
        if s.item is not None:
            base = self._with_item(base, s.item)
        base = help_desk.with_desk(self, base)
        return as_screen_view(self.handler.view(self, base))

    # -- views of the catalog --

    def department(self, item: ServiceItem) -> str:
        """The item's department as shown in the current language."""
        dept = self.catalog.departments.get(item.department_code)
        return dept.name.get(self.language) if dept else item.department

    def _with_item(self, base: View, item: ServiceItem) -> View:
        lang = self.language
        return dataclasses.replace(
            base,
            item_name=item.name.get(lang),
            item_code=item.code,
            item_kind=item.kind,
            item_department=self.department(item),
            item_summary=item.summary.get(lang) if item.summary else "",
            item_materials=[m.name.get(lang) + ("" if m.pages == 1 else f" ×{m.pages}") for m in item.materials],
            item_days=item.promised_days,
            item_instant=item.instant,
            item_fee=str(item.fee_yuan),
            item_identity=list(item.accepted_identity()),
            item_unavailable=self.unavailable(item),
            **exempt.item_parts(self, item),
            item_guide=browse.detail_guide(self, item) if self.screen == Screen.DETAIL else [],
        )

    # -- transitions (the screens' handlers use these) --

    def go(self, screen: Screen) -> list[Effect]:
        """Show ``screen``; leaving the scan screen (for whatever reason) cancels its scan."""
        screen = bundle.redirect(self, screen)  # a bundle's review instead of a single item's
        if screen != Screen.SCAN:
            self.cancel_scan()
        self.screen = screen
        if screen == Screen.ATTRACT:
            self.parting = None
            self.audio = False
        self.entered_at = self.clock()
        self.warning = False
        return [Show(screen), *self.handler.entered(self)]

    def cancel_scan(self) -> None:
        """Stop the QR scan under way, if any (the scanner checks ``cancel`` between frames)."""
        if self.scan is not None:
            self.scan.cancel.set()
            self.scan = None

    def start_session(self) -> Session:
        """The current session, started if there is none."""
        if self.session is None:
            self.session = Session(language=self.default_language)
        return self.session

    def end_session(self, reason: str, then: Screen = Screen.ATTRACT) -> list[Effect]:
        """Wipe the session (every way a session ends comes here) and cancel any print still waiting."""
        kind, outcome = "none", ""
        # A payment code still up: the gateway is told, so a late payment is matched or refunded.
        left = payment.leaving(self.session)
        if self.session is not None:
            kind = self.session.item.kind if self.session.item is not None else "none"
            outcome = session_outcome(reason, bool(self.session.error_key))
            self.parting = (self.session.language, self.session.elder)
            self.session.wipe()
        self.session = None
        self.browse, self.query, self.categories = "", "", ""
        return [*left, CancelPrints(), SessionWiped(reason, kind, outcome), *self.go(then)]

    def notify(self, key: str) -> list[Effect]:
        """A short banner on the current screen (e.g. a card that cannot be used); it fades on its own."""
        self.notice = key
        self.notice_until = self.clock() + self.NOTICE_S
        return [Show(self.screen)]

    def _tapped(self, target: str) -> list[Effect]:
        if target.startswith("bundle:") and self.screen in bundle.OPENED_FROM:
            return bundle.open_bundle(self, target[7:])  # 一件事: one journey, wherever it was found
        handler = self.handler
        generic = target.startswith(GENERIC)
        if not generic:
            mine = handler.tapped(self, target)
            if mine is not None:
                return mine
        shared = self._shared_tapped(target)
        if shared is not None:
            return shared
        if generic:
            mine = handler.tapped(self, target)
            if mine is not None:
                return mine
        return []

    def _shared_tapped(self, target: str) -> list[Effect] | None:
        """The buttons every screen has: language, elder mode, speech, help, home, exit."""
        screen = self.screen
        if target.startswith("lang:"):
            self.start_session().language = target[5:]
            return [Show(screen)]
        if target == "elder" and screen not in self.BUSY:
            s = self.start_session()
            s.elder = not s.elder
            return self.go(Screen.HOME) if screen == Screen.ATTRACT else [Show(screen)]
        if target == "speech" and screen not in self.BUSY:
            s = self.start_session()
            s.speech = not s.speech
            return [Show(screen)]
        if screen in (Screen.HELP, Screen.HELP_CALLBACK, Screen.HELP_REPORT):
            return None  # help's own back, home and exit return to where help was asked for
        if target == "help" and screen not in self.BUSY:
            self.start_session()
            self.return_to = screen if screen not in self.ENDED and screen != Screen.ATTRACT else Screen.HOME
            return self.go(Screen.HELP)
        if target == "home" and screen not in self.BUSY:
            if screen in self.ENDED:
                return self.end_session("finished")
            self.start_session()
            return self.go(Screen.HOME)
        if target == "exit" and screen not in self.BUSY:
            return self.end_session("resident left")
        return None

    # -- time --

    def _idle_limit(self) -> float:
        return self.idle_timeout_s * (self.ELDER_FACTOR if self.elder else 1.0) * \
            (self.AUDIO_FACTOR if self.audio else 1.0)

    def _deadline(self) -> float:
        if self.screen in (Screen.THANKS, Screen.TIMEOUT):
            return self.entered_at + self.BRIEF_S
        return self.last_input + self._idle_limit() + self.warning_s

    def tick(self) -> list[Effect]:
        """Time passed: the screen's own deadlines, then fading notices and the idle timeout."""
        staff = assisted.ticked(self)
        if staff:
            return staff
        return [*self.handler.ticked(self), *self._time_passed()]

    def _time_passed(self) -> list[Effect]:
        now = self.clock()
        if self.notice and now >= self.notice_until:
            self.notice = ""
            return [Show(self.screen), *self.tick()]
        if self.screen in self.BUSY or self.screen == Screen.ATTRACT:
            if self.screen == Screen.ATTRACT and self.session is not None and \
                    now - self.last_input > self.idle_timeout_s * (self.AUDIO_FACTOR if self.audio else 1.0):
                return self.end_session("idle on attract")
            if self.screen == Screen.ATTRACT and self.audio and now - self.last_input > self._idle_limit():
                self.audio = False  # audio mode started on the attract screen and left: the next resident's screen
                return [Show(self.screen)]
            return []
        if self.screen in (Screen.THANKS, Screen.TIMEOUT):
            if now >= self.entered_at + self.BRIEF_S:
                return self.go(Screen.ATTRACT)
            return []
        idle = now - self.last_input
        if idle >= self._idle_limit() + self.warning_s:
            return self.end_session("timeout", then=Screen.TIMEOUT)
        if idle >= self._idle_limit() and not self.warning:
            self.warning = True
            return [Show(self.screen)]
        return []

    def _answer_warning(self, target: str) -> list[Effect]:
        if target == "extend":
            self.warning = False
            if self.session is not None:
                self.session.extensions += 1
            return [Show(self.screen)]
        if target == "exit":
            return self.end_session("resident left")
        return []  # while the warning shows, only its own buttons count


NOTHING = ScreenHandler()


def no_trusted_date() -> _dt.date | None:
    """The flow's date when none is injected: not known, so no document is refused as expired."""
    return None


def _progress_url(receipt_no: str) -> str:
    """The progress link for a gateway receipt number; "" for other references (bookings, queries)."""
    try:
        return progress_url(receipt_no) if receipt_no else ""
    except ValueError:
        return ""
