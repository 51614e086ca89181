"""Draws the flow's view onto a surface and maps touches back to intents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pygame

from kiosk.flow.views import CardPromptView, CategoriesView, ListView, PaymentView, ScanView, View
from screens import (
    assisted,
    attract,
    bundle,
    card_prompt,
    categories,
    confirm,
    consent,
    detail,
    done,
    exempt,
    form,
    help,
    help_callback,
    help_overlay,
    help_report,
    home,
    itemlist,
    maintenance,
    materials,
    notice,
    paging,
    payment,
    progress,
    progress_result,
    receipt_entry,
    result,
    review,
    scan,
    search,
    slots,
    theme,
)
from screens.chrome import warning_overlay
from screens.i18n import messages
from screens.messages import kind_of, message_banner
from screens.widgets import Button, Canvas

# Each page draws its screen's own view type (kiosk/flow/views.py), hence Any for the view here.
Page = Callable[[Canvas, Any, Callable[..., str]], list[Button]]

PAGES: dict[str, Page] = {
    "attract": attract.draw,
    "home": home.draw,
    "card_prompt": card_prompt.draw,
    "confirm": confirm.draw,
    "categories": categories.draw,
    "list": itemlist.draw,
    "search": search.draw,
    "detail": detail.draw,
    "consent": consent.draw,
    "form": form.draw,
    "materials": materials.draw,
    "review": review.draw,
    "slots": slots.draw,
    "result": result.draw,
    "help": help.draw,
    "working": progress.draw,
    "printing": progress.draw,
    "done": done.draw,
    "thanks": notice.draw,
    "timeout": notice.draw,
    "error": notice.draw,
    "scan": scan.draw,
    "receipt_entry": receipt_entry.draw,
    "progress_result": progress_result.draw,
    "payment": payment.draw,
    "staff_signin": assisted.draw_signin,
    "assisted_consent": assisted.draw_consent,
    "bundle": bundle.draw_intro,  # 一件事 (screens/bundle.py)
    "bundle_review": bundle.draw_review,
    "bundle_result": bundle.draw_result,
    "exempt": exempt.draw,
    "help_callback": help_callback.draw,
    "help_report": help_report.draw,
}


# Where a passing message would like to be (design y); screens/messages.py moves it to the nearest
# band that crosses no button. On attract, under the header (the lower screen holds its buttons).
NOTICE_PLACES: dict[str, float] = {"attract": 190}

class Renderer:
    """Renders whole frames; remembers the touch targets of the last frame drawn.

    The list screens' scroll offset and the on-screen keyboard's state are the screen's own state
    (not the journey's), so they live here and are handed to the pages on the canvas.
    """

    def __init__(self, surface: pygame.Surface) -> None:
        self.canvas = Canvas(surface)
        self.buttons: list[Button] = []
        self.scroll = 0.0
        self._places: dict[tuple[str, ...], float] = {}  # where each list was left (until home)
        self.keyboard: Any = None
        self.main_text = ""  # the screen's title, for speech
        self.message_text = ""  # the passing message shown over the screen ("" for none), for speech
        self.message_rect: pygame.Rect | None = None  # where it was drawn (device px)
        self.overlay_from: int | None = None  # where the idle warning's texts start in canvas.texts (None: none)
        self._last: View | None = None

    def scroll_limit(self) -> float:
        """How far the band the last frame drew scrolls (screens/paging.py; 0 without one)."""
        scrolled = self.canvas.scrolled
        return scrolled.limit if scrolled is not None else 0.0

    def turn(self, target: str) -> bool:
        """上一页 / 下一页 (``page:prev`` / ``page:next``): True if the band moved (then redraw)."""
        scrolled = self.canvas.scrolled
        if scrolled is None or target not in (paging.PREV, paging.NEXT):
            return False
        new = scrolled.turn(min(self.scroll, scrolled.limit), 1 if target == paging.NEXT else -1)
        moved = new != self.scroll
        self.scroll = new
        return moved

    def scroll_by(self, design_px: float) -> bool:
        """Move the list; True if it moved (then the caller redraws)."""
        new = min(max(0.0, self.scroll + design_px), self.scroll_limit())
        moved = new != self.scroll
        self.scroll = new
        return moved

    def render(self, view: View, *, scroll: float | None = None) -> list[Button]:
        """Draw ``view``; ``scroll`` sets the list's offset (the mirror follows the resident's screen)."""
        theme.use(self.canvas.palette)  # this terminal's palette (settings [ui] contrast), before any drawing
        lang = view.language
        table = messages()

        def t(key: str, **values: object) -> str:
            return table.text(lang, key, **values)

        if self._last is None or self._last.screen != view.screen or _listing(self._last) != _listing(view):
            # A new listing starts at the top; back from an item's detail, the list is where it was left.
            if self._last is not None and _listing(self._last) is not None:
                self._places[_listing(self._last)] = self.scroll
            self.scroll = self._places.get(_listing(view), 0.0) if view.screen in ("list", "categories") else 0.0
        if view.screen in ("attract", "home"):
            self._places.clear()
        if scroll is not None:
            self.scroll = scroll
        self._last = view
        # The list's scroll offset and the keyboard are the screen's own state, not the journey's.
        self.canvas.scroll_px = self.scroll
        self.canvas.keyboard = self.keyboard
        self.canvas.elder = bool(view.elder)
        self.main_text = main_text(view, t)
        # The technician's maintenance pages are not a residents' screen (kiosk/terminal/maintenance.py).
        if isinstance(view, maintenance.MaintenanceView):
            buttons = maintenance.draw(self.canvas, view, t)
        else:
            buttons = PAGES[view.screen](self.canvas, view, t)
            buttons += assisted.decorate(self.canvas, view, t)  # assisted mode: banner, staff buttons
        self.message_text, self.message_rect = "", None
        if view.notice_key:
            # A help request's banner names its number (issue 21): shown and spoken.
            self.message_text = t(view.notice_key, number=view.help_no) if view.notice_key.startswith(
                "notice_help_no_") else t(view.notice_key)
            self.message_rect = message_banner(self.canvas, self.message_text, kind_of(view.notice_key), buttons,
                                               prefer=NOTICE_PLACES.get(view.screen, 1480))
        if view.desk:  # the remote help desk over the page (screens/help_overlay.py)
            buttons, said = help_overlay.draw(self.canvas, view, t, buttons)
            self.message_text = said or self.message_text
        self.overlay_from = None
        if view.warning:
            self.overlay_from = len(self.canvas.texts)
            buttons = warning_overlay(self.canvas, t, view.warning_left_s)
        self.buttons = buttons
        return buttons

    def redraw(self) -> list[Button]:
        """Draw the last view again (after a scroll)."""
        assert self._last is not None
        return self.render(self._last)

    def hit(self, pos: tuple[int, int]) -> str | None:
        """The intent under a touch at ``pos``, if any (topmost first)."""
        for button in reversed(self.buttons):
            if button.rect.collidepoint(pos):
                return button.target
        return None

    def target_centre(self, target: str) -> tuple[int, int]:
        """Where a scripted touch should land to hit ``target`` (used by the demo and tests)."""
        for button in self.buttons:
            if button.target == target:
                return button.rect.center
        raise LookupError(f"no {target!r} on screen; targets: {[b.target for b in self.buttons]}")


TITLES = {"attract": "attract_title", "home": "home_title", "categories": "home_title", "list": "browse_all",
          "search": "browse_search", "card_prompt": "card_title", "consent": "consent_title",
          "confirm": "confirm_title", "form": "form_title", "materials": "materials_title",
          "review": "review_title", "slots": "slots_title", "help": "help_title", "working": "working_title",
          "printing": "printing_title", "done": "done_title", "thanks": "thanks_title",
          "timeout": "timeout_title", "error": "error_title", "result": "result_title", "detail": "detail_title",
          "scan": "scan_title", "receipt_entry": "receipt_entry_title", "progress_result": "progress_title",
          "payment": "pay_title", "exempt": "exempt_title", "help_callback": "callback_title",
          "help_report": "report_title"}
TITLES.update({"bundle": "bundle_title", "bundle_review": "bundle_review_title",  # 一件事 (screens/bundle.py)
               "bundle_result": "bundle_result_title"})
TITLES.update({"staff_signin": "staff_signin_title", "assisted_consent": "assisted_consent_title"})  # assisted mode


def _listing(view: View) -> tuple[str, ...] | None:
    """What a list screen lists (its title and query, or which categories): a new listing starts at the top."""
    if isinstance(view, ListView):
        return (view.screen, view.list_title, view.query)
    if isinstance(view, CategoriesView):
        return (view.screen, view.categories_of)
    return None


def main_text(view: View, t: Callable[..., str]) -> str:
    """What speech reads for this screen: its title, and the item when there is one."""
    if view.screen == "maintenance":
        return maintenance.TITLE
    text = t(done.title_key(view) if view.screen == "done" else TITLES[view.screen])
    if view.item_name and view.screen in ("detail", "card_prompt", "confirm", "done", "result", "payment", "bundle"):
        text = f"{text}。{view.item_name}"
    if view.screen == "done":
        text = "。".join([text, *done.outcome_texts(view, t)])
    if view.screen == "error" and view.error_key:
        text = f"{text}。{t(view.error_key)}"
    if view.screen in ("thanks", "timeout"):
        # The notice's hint is the point of it (take your card): said in the session's language.
        text = f"{text}。{t(view.screen + '_hint')}"
    if view.screen in ("exempt", "detail"):  # 免申即办: what was granted, or that no application is needed
        text = "。".join(x for x in (text, exempt.spoken(view, t)) if x)
    if isinstance(view, PaymentView):
        text = "。".join(x for x in (text, payment.spoken(view, t)) if x)  # the amount in words, what to do
    if isinstance(view, CardPromptView) and view.expired_document:
        told, renew = card_prompt.expired_text(view, t)  # why the card was refused, and where to renew it
        text = f"{t('card_expired_title')}。{told} {renew}"
    if isinstance(view, ScanView) and view.scan_purpose in ("progress", "signin"):
        # Say what to hold up and where: a resident who cannot read the screen needs that most.
        purpose = view.scan_purpose
        text = f"{t('scan_title_' + purpose)}。{t('scan_hint_' + purpose)}"
    return text
