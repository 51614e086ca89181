"""The state machine's core: sessions, browsing, help, settings, availability and time.

What happens once an item is started (identify, form, materials, submit, print …) is in
``kiosk/flow/journeys.py``; :class:`KioskFlow` combines both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.catalog.loading import Catalog, ServiceItem
from kiosk.flow.model import (CancelPrints, CardRead, CardRejected, CardRemoved, DeviceStates, Effect, Event,
                              RequestHelp, Screen, ServiceSwitched, Session, SessionWiped, Show, Tapped,
                              TextEntered, Tick)
from kiosk.privacy import mask_id_number, mask_name
from kiosk.qrcodes import progress_url

# Kinds whose answer comes from the platform at the moment of use (a queued apply does not).
ONLINE_KINDS = frozenset({"print", "query", "appointment", "certification"})
# Kinds whose point is the paper: without a printer there is nothing to take home.
PAPER_KINDS = frozenset({"print", "guide"})
SEARCH_CHIPS = ("社保", "公积金", "医保", "户籍", "不动产", "营业执照", "婚姻", "出入境")
HELP_GROUPS = ("elderly", "disabled", "other")
REPORT_CATEGORIES = ("cannot_handle", "too_slow", "system_fault", "other")


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


class FlowCore:
    """Everything that does not depend on the item's kind. ``clock``: monotonic seconds (injected)."""

    BUSY = {Screen.WORKING, Screen.PRINTING}
    ENDED = {Screen.THANKS, Screen.TIMEOUT, Screen.ERROR, Screen.DONE}
    BRIEF_S = 8.0  # how long thanks / timeout notices stay before the attract loop
    NOTICE_S = 6.0  # how long a banner (card rejected, help sent) stays
    ELDER_FACTOR = 2.0  # elder mode: slower timeouts

    def __init__(self, catalog: Catalog, clock: Callable[[], float], *, language: str = "zh_CN",
                 idle_timeout_s: float = 90.0, warning_s: float = 20.0) -> None:
        self.catalog = catalog
        self.clock = clock
        self.default_language = language
        self.idle_timeout_s = idle_timeout_s
        self.warning_s = warning_s
        self.screen = Screen.ATTRACT
        self.session: Session | None = None
        self.warning = False
        self.available: dict[str, bool] = {"printer": True, "camera": True, "document_camera": True,
                                           "platform": True}
        self._last_input = clock()
        self._entered = clock()
        self._notice = ""
        self._notice_until = 0.0
        self._browse = ""  # what the list screen lists: all, dept:<code>, theme:<code>, bundle:<code>
        self._categories = ""  # departments or themes
        self._query = ""
        self._return_to = Screen.HOME  # where "back" from help or detail goes
        self.out_of_service = ""  # the operators' message while the terminal is out of service

    # -- public API --

    def handle(self, event: Event) -> list[Effect]:
        """Advance the journey by one event and say what the outside world should do."""
        if isinstance(event, Tick):
            return self._tick()
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
        if isinstance(event, Tapped | TextEntered | CardRead | CardRejected):
            self._last_input = self.clock()
        if isinstance(event, Tapped):
            if self.session is not None:
                self.session.touches += 1
            if self.warning:
                return self._answer_warning(event.target)
            return self._tapped(event.target)
        if isinstance(event, TextEntered):
            return self._text(event.text)
        if isinstance(event, CardRead):
            return self._card_read(event.identity, event.source)
        if isinstance(event, CardRemoved):
            return self._card_removed(event.source)
        if isinstance(event, CardRejected):
            return self._notify(event.reason_key)
        return self._service_event(event)

    @property
    def language(self) -> str:
        return self.session.language if self.session else self.default_language

    @property
    def elder(self) -> bool:
        return bool(self.session and self.session.elder)

    def unavailable(self, item: ServiceItem) -> str:
        """Why ``item`` cannot be done here right now (a message key), or "" if it can."""
        if item.kind in ONLINE_KINDS and not self.available.get("platform", True):
            return "unavail_platform"
        if item.kind in PAPER_KINDS and "printer" in item.devices and not self.available.get("printer", True):
            return "unavail_printer"
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

    def view(self) -> dict[str, Any]:
        """Display-safe state for the screens: masked values only, never raw personal data."""
        lang = self.language
        out: dict[str, Any] = {
            "screen": self.screen.value,
            "language": lang,
            "elder": self.elder,
            "speech": self.session.speech if self.session else True,
            "warning": self.warning,
            "warning_left_s": max(0, round(self._deadline() - self.clock())) if self.warning else 0,
            "items": [(i.code, i.name.get(lang), self._department(i))
                      for i in self.catalog.featured(4 if self.elder else 8)],
            "notice_key": self._notice,
            "available": dict(self.available),
            "out_of_service": self.out_of_service,
        }
        if self.screen == Screen.CATEGORIES:
            out["categories_of"] = self._categories
            out["categories"] = self._category_entries()
        if self.screen in (Screen.LIST, Screen.SEARCH):
            out["list_title"] = self._list_title()
            out["list"] = [self._entry(i) for i in self._listed()]
            out["query"] = self._query
            out["search_chips"] = list(SEARCH_CHIPS)
        s = self.session
        if s is None:
            return out
        if s.identity is not None:
            out["applicant_name"] = mask_name(s.identity.name)
            out["applicant_id"] = mask_id_number(s.identity.id_number)
        if s.item is not None:
            out.update(self._item_view(s.item))
        out["receipt_no"] = s.receipt_no
        out["result_url"] = _progress_url(s.receipt_no)
        out["printed"] = s.printed
        out["print_reason"] = s.print_reason
        out["error_key"] = s.error_key
        out.update(self._journey_view())
        return out

    # -- hooks the journeys fill in --

    def _journey_view(self) -> dict[str, Any]:
        return {}

    def _service_event(self, event: Event) -> list[Effect]:
        return []

    def _begin(self, item: ServiceItem) -> list[Effect]:
        raise NotImplementedError

    def _journey_tapped(self, target: str) -> list[Effect] | None:
        return None

    def _text(self, text: str) -> list[Effect]:
        if self.screen == Screen.SEARCH:
            self._query = text[:40]
            return [Show(self.screen)]
        return []

    def _card_read(self, identity: Any, source: str) -> list[Effect]:
        raise NotImplementedError

    def _card_removed(self, source: str) -> list[Effect]:
        raise NotImplementedError

    # -- views of the catalog --

    def _department(self, item: ServiceItem) -> str:
        dept = self.catalog.departments.get(item.department_code)
        return dept.name.get(self.language) if dept else item.department

    def _entry(self, item: ServiceItem) -> tuple[str, str, str, str]:
        return item.code, item.name.get(self.language), self._department(item), self.unavailable(item)

    def _item_view(self, item: ServiceItem) -> dict[str, Any]:
        lang = self.language
        reason = self.unavailable(item)
        return {
            "item_name": item.name.get(lang),
            "item_code": item.code,
            "item_kind": item.kind,
            "item_department": self._department(item),
            "item_summary": item.summary.get(lang) if item.summary else "",
            "item_materials": [m.name.get(lang) + ("" if m.pages == 1 else f" ×{m.pages}")
                               for m in item.materials],
            "item_days": item.promised_days,
            "item_instant": item.instant,
            "item_fee": str(item.fee_yuan),
            "item_identity": list(item.accepted_identity()),
            "item_unavailable": reason,
        }

    def _category_entries(self) -> list[tuple[str, str]]:
        lang = self.language
        if self._categories == "themes":
            return ([(f"theme:{code}", t.name.get(lang)) for code, t in self.catalog.themes.items()]
                    + [(f"bundle:{code}", b.name.get(lang)) for code, b in self.catalog.bundles.items()])
        return [(f"dept:{code}", d.name.get(lang)) for code, d in self.catalog.departments.items()]

    def _listed(self) -> list[ServiceItem]:
        if self.screen == Screen.SEARCH:
            return [hit.item for hit in self.catalog.search(self._query, limit=30)] if self._query.strip() else []
        kind, _, code = self._browse.partition(":")
        if kind == "dept":
            return self.catalog.in_department(code)
        if kind == "theme":
            return self.catalog.in_theme(code)
        if kind == "bundle":
            return self.catalog.bundle_items(code)
        return list(self.catalog.items)

    def _list_title(self) -> str:
        lang = self.language
        kind, _, code = self._browse.partition(":")
        if self.screen == Screen.SEARCH:
            return ""
        if kind == "dept" and code in self.catalog.departments:
            return self.catalog.departments[code].name.get(lang)
        if kind == "theme" and code in self.catalog.themes:
            return self.catalog.themes[code].name.get(lang)
        if kind == "bundle" and code in self.catalog.bundles:
            return self.catalog.bundles[code].name.get(lang)
        return ""

    # -- transitions --

    def _go(self, screen: Screen) -> list[Effect]:
        self.screen = screen
        self._entered = self.clock()
        self.warning = False
        return [Show(screen)]

    def _start_session(self) -> Session:
        if self.session is None:
            self.session = Session(language=self.default_language)
        return self.session

    def _end_session(self, reason: str, then: Screen = Screen.ATTRACT) -> list[Effect]:
        kind, outcome = "none", ""
        if self.session is not None:
            kind = self.session.item.kind if self.session.item is not None else "none"
            outcome = session_outcome(reason, bool(self.session.error_key))
            self.session.wipe()
        self.session = None
        self._browse, self._query, self._categories = "", "", ""
        return [CancelPrints(), SessionWiped(reason, kind, outcome), *self._go(then)]

    def _tapped(self, target: str) -> list[Effect]:
        screen = self.screen
        if target.startswith("lang:"):
            self._start_session().language = target[5:]
            return [Show(screen)]
        if target == "elder" and screen not in self.BUSY:
            s = self._start_session()
            s.elder = not s.elder
            return self._go(Screen.HOME) if screen == Screen.ATTRACT else [Show(screen)]
        if target == "speech" and screen not in self.BUSY:
            s = self._start_session()
            s.speech = not s.speech
            return [Show(screen)]
        if target == "help" and screen not in self.BUSY and screen != Screen.HELP:
            self._start_session()
            self._return_to = screen if screen not in self.ENDED and screen != Screen.ATTRACT else Screen.HOME
            return self._go(Screen.HELP)
        if screen == Screen.HELP:
            return self._help_tapped(target)
        if target == "home" and screen not in self.BUSY:
            if screen in self.ENDED:
                return self._end_session("finished")
            self._start_session()
            return self._go(Screen.HOME)
        if target == "exit" and screen not in self.BUSY:
            return self._end_session("resident left")
        if screen == Screen.ATTRACT:
            self._start_session()
            return self._go(Screen.HOME)
        browsing = self._browse_tapped(target)
        if browsing is not None:
            return browsing
        journey = self._journey_tapped(target)
        if journey is not None:
            return journey
        if screen in (Screen.THANKS, Screen.TIMEOUT):
            return self._end_session("finished")
        return []

    def _browse_tapped(self, target: str) -> list[Effect] | None:
        screen = self.screen
        s = self.session
        if screen == Screen.HOME:
            if target.startswith("item:"):
                item = self.catalog.get(target[5:])
                return self._open(item, direct=True) if item else []
            if target in ("browse:departments", "browse:themes"):
                self._categories = target.split(":")[1]
                return self._go(Screen.CATEGORIES)
            if target == "browse:all":
                self._browse = "all"
                return self._go(Screen.LIST)
            if target == "search":
                self._query = ""
                return self._go(Screen.SEARCH)
        if screen == Screen.CATEGORIES:
            if target.split(":")[0] in ("dept", "theme", "bundle"):
                self._browse = target
                return self._go(Screen.LIST)
            if target == "back":
                return self._go(Screen.HOME)
        if screen in (Screen.LIST, Screen.SEARCH):
            if target.startswith("detail:"):
                item = self.catalog.get(target[7:])
                return self._open(item, direct=False) if item else []
            if target.startswith("q:") and screen == Screen.SEARCH:
                self._query = target[2:]
                return [Show(screen)]
            if target == "back":
                kind = self._browse.partition(":")[0]
                return self._go(Screen.CATEGORIES if screen == Screen.LIST and kind != "all" else Screen.HOME)
        if screen == Screen.DETAIL and s is not None and s.item is not None:
            if target == "begin":
                return self._begin(s.item) if not self.unavailable(s.item) else []
            if target == "back":
                return self._go(self._return_to)
        return None

    def _open(self, item: ServiceItem, *, direct: bool) -> list[Effect]:
        """A featured item starts at once (fewest touches); one from a list shows its detail first."""
        s = self._start_session()
        s.item = item
        if direct and not self.unavailable(item) and item.kind == "print":
            return self._begin(item)
        self._return_to = self.screen
        return self._go(Screen.DETAIL)

    def _help_tapped(self, target: str) -> list[Effect]:
        s = self.session
        code = s.item.code if s and s.item else None
        if target.startswith("help:") and target[5:] in HELP_GROUPS:
            return [RequestHelp("help", target[5:], code)]
        if target.startswith("report:") and target[7:] in REPORT_CATEGORIES:
            return [RequestHelp("report", target[7:], code)]
        if target in ("back", "home"):
            return self._go(self._return_to)
        if target == "exit":
            return self._end_session("resident left")
        return []

    def _notify(self, key: str) -> list[Effect]:
        """A short banner on the current screen (e.g. a card that cannot be used); it fades on its own."""
        self._notice = key
        self._notice_until = self.clock() + self.NOTICE_S
        return [Show(self.screen)]

    # -- time --

    def _idle_limit(self) -> float:
        return self.idle_timeout_s * (self.ELDER_FACTOR if self.elder else 1.0)

    def _deadline(self) -> float:
        if self.screen in (Screen.THANKS, Screen.TIMEOUT):
            return self._entered + self.BRIEF_S
        return self._last_input + self._idle_limit() + self.warning_s

    def _tick(self) -> list[Effect]:
        now = self.clock()
        if self._notice and now >= self._notice_until:
            self._notice = ""
            return [Show(self.screen), *self._tick()]
        if self.screen in self.BUSY or self.screen == Screen.ATTRACT:
            if self.screen == Screen.ATTRACT and self.session is not None and \
                    now - self._last_input > self.idle_timeout_s:
                return self._end_session("idle on attract")
            return []
        if self.screen in (Screen.THANKS, Screen.TIMEOUT):
            if now >= self._entered + self.BRIEF_S:
                return self._go(Screen.ATTRACT)
            return []
        idle = now - self._last_input
        if idle >= self._idle_limit() + self.warning_s:
            return self._end_session("timeout", then=Screen.TIMEOUT)
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
            return self._end_session("resident left")
        return []  # while the warning shows, only its own buttons count


def _progress_url(receipt_no: str) -> str:
    """The progress link for a gateway receipt number; "" for other references (bookings, queries)."""
    try:
        return progress_url(receipt_no) if receipt_no else ""
    except ValueError:
        return ""
