"""Draws the flow's view onto a surface and maps touches back to intents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pygame

from screens import maintenance
from screens import progress_result, receipt_entry, scan
from screens import (attract, card_prompt, categories, confirm, consent, detail, done, form, help, home, itemlist,
                     materials, notice, progress, result, review, search, slots)
from screens.chrome import notice_banner, warning_overlay
from screens.i18n import messages
from screens.widgets import Button, Canvas

Page = Callable[[Canvas, dict[str, Any], Callable[..., str]], list[Button]]

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
}


# Where a notice banner goes when the lower screen holds buttons: on attract, the free band under the
# header (after a card is pulled, the progress and language buttons stay visible).
NOTICE_PLACES: dict[str, dict[str, int]] = {"attract": {"top": 190, "height": 190}}

SCROLLING = {"list": (240, 1740), "search": (420, 1740)}  # design px band of each scrolling list


class Renderer:
    """Renders whole frames; remembers the touch targets of the last frame drawn.

    The list screens' scroll offset and the on-screen keyboard's state are the screen's own state
    (not the journey's), so they live here and are merged into the view when drawing.
    """

    def __init__(self, surface: pygame.Surface) -> None:
        self.canvas = Canvas(surface)
        self.buttons: list[Button] = []
        self.scroll = 0.0
        self.keyboard: Any = None
        self.main_text = ""  # the screen's title, for speech
        self._last: dict[str, Any] | None = None

    def scroll_limit(self, view: dict[str, Any] | None = None) -> float:
        view = view or self._last or {}
        band = SCROLLING.get(view.get("screen", ""))
        if band is None:
            return 0.0
        return max(0.0, itemlist.content_height(view) - (band[1] - band[0]))

    def scroll_by(self, design_px: float) -> bool:
        """Move the list; True if it moved (then the caller redraws)."""
        new = min(max(0.0, self.scroll + design_px), self.scroll_limit())
        moved = new != self.scroll
        self.scroll = new
        return moved

    def render(self, view: dict[str, Any]) -> list[Button]:
        lang = view["language"]
        table = messages()

        def t(key: str, **values: object) -> str:
            return table.text(lang, key, **values)

        if self._last is None or self._last.get("screen") != view["screen"] or \
                self._last.get("list_title") != view.get("list_title") or self._last.get("query") != view.get("query"):
            self.scroll = 0.0
        view = {**view, "scroll_px": self.scroll, "keyboard": self.keyboard}
        self._last = view
        self.canvas.elder = bool(view.get("elder"))
        self.main_text = main_text(view, t)
        # The technician's maintenance pages are not a residents' screen (kiosk/terminal/maintenance.py).
        page = maintenance.draw if view["screen"] == "maintenance" else PAGES[view["screen"]]
        buttons = page(self.canvas, view, t)
        if view.get("notice_key"):
            notice_banner(self.canvas, t(view["notice_key"]), **NOTICE_PLACES.get(view["screen"], {}))
        if view.get("warning"):
            buttons = warning_overlay(self.canvas, t, view.get("warning_left_s", 0))
        self.buttons = buttons
        return buttons

    def redraw(self) -> list[Button]:
        """Draw the last view again (after a scroll)."""
        assert self._last is not None
        return self.render({k: v for k, v in self._last.items() if k not in ("scroll_px", "keyboard")})

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
          "scan": "scan_title", "receipt_entry": "receipt_entry_title", "progress_result": "progress_title"}


def main_text(view: dict[str, Any], t: Callable[..., str]) -> str:
    """What speech reads for this screen: its title, and the item when there is one."""
    if view["screen"] == "maintenance":
        return maintenance.TITLE
    text = t(TITLES[view["screen"]])
    if view.get("item_name") and view["screen"] in ("detail", "card_prompt", "confirm", "done", "result"):
        text = f"{text}。{view['item_name']}"
    if view["screen"] == "error" and view.get("error_key"):
        text = f"{text}。{t(view['error_key'])}"
    if view["screen"] == "scan" and view.get("scan_purpose") in ("progress", "signin"):
        # Say what to hold up and where: a resident who cannot read the screen needs that most.
        purpose = view["scan_purpose"]
        text = f"{t('scan_title_' + purpose)}。{t('scan_hint_' + purpose)}"
    return text
