"""A resident who only touches: the real flow, the real renderer, touches at the centre of the
rectangles the last frame drew, routed as screens/app.py routes them.

``touch(target)`` fails unless ``target`` was drawn, wholly on screen, and a touch at its centre hits
it (nothing drawn over it). Every frame drawn is checked by tests/screens/layout_check.py and the
problems are kept (``problems``), so walking the screens also checks they are drawn whole.
Devices (the card reader, the cameras) and the platform's answers come in as their flow events.
"""

from __future__ import annotations

import pygame
from layout_check import layout_problems

from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow.views import FormView, View
from screens import paging
from screens.app import KEYBOARD_SCREENS, input_module, new_keyboard
from screens.renderer import Renderer


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Resident:
    def __init__(self, surface: pygame.Surface, catalog: Catalog, *, check_layout: bool = True) -> None:
        self.flow = flow.KioskFlow(catalog, Clock(), idle_timeout_s=90, warning_s=20)
        self.renderer = Renderer(surface)
        self.check_layout = check_layout
        self.problems: dict[str, list[str]] = {}
        self.frames = 0
        self._kb_for: tuple[str, str] | None = None
        self.draw()

    # -- what the resident sees --

    @property
    def screen(self) -> str:
        return self.flow.screen.value

    def view(self) -> View:
        return self.flow.view()

    def targets(self) -> list[str]:
        return [b.target for b in self.renderer.buttons]

    def draw(self) -> None:
        view = self.flow.view()
        self._sync_keyboard(view)
        self.renderer.render(view)
        self.frames += 1
        if self.check_layout:
            found = layout_problems(self.renderer.canvas, self.renderer.buttons, self.renderer.message_rect)
            if found:
                where = f"{view.screen} {view.language} elder={view.elder} {view.item_code}"
                self.problems.setdefault(where, found)

    def _sync_keyboard(self, view: View) -> None:
        """As KioskApp._sync_keyboard: a fresh input when a field gets focus, none after."""
        want = None
        if view.screen in KEYBOARD_SCREENS:
            want = (view.screen, view.focus) if isinstance(view, FormView) and view.focus else \
                (view.screen, "") if view.screen == "search" else None
        if want != self._kb_for:
            self._kb_for = want
            self.renderer.keyboard = new_keyboard(view) if want else None

    # -- touches --

    def touch(self, target: str) -> None:
        button = next((b for b in self.renderer.buttons if b.target == target), None)
        assert button is not None, f"no {target!r} on {self.screen}; targets: {self.targets()}"
        hit = self.renderer.hit(button.rect.center)
        assert hit == target, f"{target!r} on {self.screen} is covered by {hit!r}"
        self.route(hit)

    def route(self, target: str) -> None:
        """What KioskApp.touch does with a target."""
        keys = self.renderer.keyboard
        if target.startswith("page:"):
            self.renderer.turn(target)
        elif keys is not None and target.startswith(("key:", "cand:", "kb:", "date:")):
            module = input_module(keys)
            result = module.handle(keys, target)
            module.release(keys)
            self.flow.handle(flow.TextEntered(result.text))
            if result.done:
                self.flow.handle(flow.Tapped("kb:done"))
        else:
            self.flow.handle(flow.Tapped(target))
        self.draw()

    def event(self, event: flow.Event) -> None:
        """A device's or the platform's event (not a touch)."""
        self.flow.handle(event)
        self.draw()

    def type_rest(self, text: str) -> None:
        """What the keyboard hands the flow once ``text`` was typed (KioskApp.keyboard_typed)."""
        keys = self.renderer.keyboard
        keys.text = text
        self.flow.handle(flow.TextEntered(text))
        self.draw()

    # -- paging --

    def first_page(self) -> None:
        while paging.PREV in self.targets():
            self.touch(paging.PREV)

    def pages(self) -> list[list[str]]:
        """Every page's targets, from the first to the last, turned by 下一页 (left on the last page)."""
        self.first_page()
        seen = [self.targets()]
        while paging.NEXT in self.targets():
            self.touch(paging.NEXT)
            seen.append(self.targets())
        return seen

    def find(self, target: str) -> bool:
        """Turn pages (from where the list is) until ``target`` is drawn; False if no page has it."""
        if target in self.targets():
            return True
        while paging.NEXT in self.targets():
            self.touch(paging.NEXT)
            if target in self.targets():
                return True
        self.first_page()
        while target not in self.targets() and paging.NEXT in self.targets():
            self.touch(paging.NEXT)
        return target in self.targets()

    def start(self, language: str, elder: bool) -> None:
        """From the attract screen to home, in ``language`` and mode, by touches."""
        assert self.screen == "attract"
        self.touch(f"lang:{language}")
        if self.screen == "attract":
            self.touch("start")
        if bool(self.view().elder) != elder:
            self.touch("elder")
        assert self.screen == "home" and self.view().language == language and bool(self.view().elder) == elder
