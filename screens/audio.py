"""Audio mode: the kiosk operated without vision, by a keypad and speech in headphones.

Started by the keypad's help key (or any of its navigation keys) on any screen: speech goes to the
headphones (``[speech] output``), a short orientation says where the keys are, and the screen may be
blanked for privacy (``[speech] blank_screen``: it then shows only 语音模式使用中). Each frame drawn
is read through its reading order (``screens/a11y.py``): up and down move the focus through it, Enter
activates the focused control with the target a touch on it would send, and every key interrupts
what is being said.

Keys (an EZ-Access-style keypad arrives as USB HID keyboard events; any keyboard's keys work too):

    ↑ ↓            previous / next element           ← →        previous / next page (or control)
    Enter          activate                          Esc, ⌫     back (while typing: delete a digit)
    F1, Help       start audio mode / orientation    F3, F5     repeat the last announcement
    + −            volume                            * #        slower / faster (while typing: X / done)
    0 … 9          type a digit while a number field is open; otherwise go to control 1 … 9

Any key also counts as the resident's input for the flow's idle timeout (``flow.KeyPressed``) and
answers its warning; audio mode makes the timeouts longer (``KioskFlow.AUDIO_FACTOR``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from kiosk import flow
from kiosk.flow.views import FormView, View
from kiosk.terminal.speech import ELDER_RATE, MAX_RATE, MIN_RATE, NORMAL_RATE
from screens import a11y, theme, tokens
from screens.i18n import messages

if TYPE_CHECKING:
    from screens.app import KioskApp

UP, DOWN, LEFT, RIGHT, ENTER, BACK, HELP, REPEAT = "up", "down", "left", "right", "enter", "back", "help", "repeat"
LOUDER, SOFTER, SLOWER, FASTER = "louder", "softer", "slower", "faster"

KEYS: dict[int, str] = {
    pygame.K_UP: UP, pygame.K_DOWN: DOWN, pygame.K_LEFT: LEFT, pygame.K_RIGHT: RIGHT,
    pygame.K_KP8: UP, pygame.K_KP2: DOWN, pygame.K_KP4: LEFT, pygame.K_KP6: RIGHT,
    pygame.K_RETURN: ENTER, pygame.K_KP_ENTER: ENTER,
    pygame.K_ESCAPE: BACK, pygame.K_BACKSPACE: BACK,
    pygame.K_F1: HELP, pygame.K_HELP: HELP,
    pygame.K_F3: REPEAT, pygame.K_F5: REPEAT,
    pygame.K_KP_PLUS: LOUDER, pygame.K_PLUS: LOUDER, pygame.K_EQUALS: LOUDER,
    pygame.K_KP_MINUS: SOFTER, pygame.K_MINUS: SOFTER,
    pygame.K_ASTERISK: SLOWER, pygame.K_KP_MULTIPLY: SLOWER, pygame.K_HASH: FASTER,
}
DIGITS: dict[int, str] = {**{getattr(pygame, f"K_{d}"): str(d) for d in range(10)}}
# The numeric pad's digits type only while a number is being typed (else they are arrows: 8 2 4 6).
PAD_DIGITS: dict[int, str] = {getattr(pygame, f"K_KP{d}"): str(d) for d in range(10)}
NAVIGATION = (UP, DOWN, LEFT, RIGHT, ENTER, HELP)
VOLUME_STEP, RATE_STEP = 20, 20


class AudioMode:
    """The app's audio mode: the reading order of the frame shown, the focus in it, and the keys."""

    def __init__(self, app: KioskApp) -> None:
        self.app = app
        self.on = False
        speech = app.settings.speech
        self.output = speech.output
        self.blank = speech.blank_screen
        self.elements: list[a11y.Element] = []
        self.focus = -1
        self._screen = ""
        self._message = ""
        self._warning = False
        self._view: View | None = None
        self._hold = False  # a key is being handled that says its own outcome (a digit, a page)
        self._resume = ""  # the focused target when the idle warning came

    # -- words --

    def t(self, key: str, **values: object) -> str:
        return messages().text(self._language(), key, **values)

    def _language(self) -> str:
        view = self._view or self.app._last_view
        return view.language if view is not None else "zh_CN"

    def say(self, text: str) -> None:
        """Announce ``text`` now (interrupting whatever is being said)."""
        view = self._view or self.app._last_view
        self.app.speaker.say(a11y.for_speech(text, self.t), self._language(),
                             rate=None if view is None or not view.elder else
                             max(MIN_RATE, self.app.speaker.rate - (NORMAL_RATE - ELDER_RATE)))  # 适老化: slower

    # -- on and off --

    def start(self) -> None:
        self.on = True
        speaker = self.app.speaker
        speaker.route_to(self.output)
        if speaker.executable and not self.app.display.headless:
            speaker.enabled = True
        self._screen = ""
        self.app.dispatch(flow.AudioMode(True))  # longer timeouts; the frame is read below
        self.frame(self.app.view(), orientation=True)

    def end(self) -> None:
        """The headphones came out: audio mode ends, the screen shows again."""
        if not self.on:
            return
        self.stop()
        self.app.speaker.stop()
        self.app.dispatch(flow.AudioMode(False))
        self.app.draw_if_changed(force=True)

    def stop(self) -> None:
        self.on = False
        self.elements, self.focus = [], -1
        self.app.speaker.route_to("")

    # -- frames --

    def frame(self, view: View, *, orientation: bool = False) -> None:
        """A frame was drawn: rebuild the reading order, keep the focus where it was, and say what
        changed (a new screen, a message, the idle warning, the focused control's state)."""
        if not self.on:
            return
        if not self.app.flow.audio and not orientation:
            self.stop()  # the flow ended it (the attract loop returned): the next resident's screen
            return
        r = self.app.renderer
        self._view = view
        before = self.elements[self.focus] if 0 <= self.focus < len(self.elements) else None
        self.elements = a11y.reading_order(view, r, self.t)
        new_screen = view.screen != self._screen
        self._screen = view.screen
        message, said_message = r.message_text, self._message
        self._message = message
        warned, was_warned = view.warning, self._warning
        self._warning = warned
        if warned and not was_warned and before is not None:
            self._resume = before.target  # where the resident was when the warning came
        if not warned and was_warned and not new_screen:
            self.focus = self._find(self._resume, None)  # extended: back where they were
        elif new_screen or warned != was_warned:
            self.focus = self._first_control()
        else:
            self.focus = self._find(before.target if before is not None and before.control else "", before)
        if self.blank:
            self._blank()
        if orientation:
            self.say(a11y.sentences(self.t("a11y_orientation"), self._screen_text(view)))
        elif warned and not was_warned:
            self.say(self.t("a11y_warning", seconds=view.warning_left_s))
        elif new_screen:
            self.say(self._screen_text(view))
        elif message and message != said_message:
            self.say(message)
        elif not self._hold:
            now = self.elements[self.focus] if 0 <= self.focus < len(self.elements) else None
            if now is not None and before is not None and now.target == before.target and \
                    (now.state, now.name) != (before.state, before.name):
                self.say(a11y.say_element(now, self.t))

    def _screen_text(self, view: View) -> str:
        text = a11y.say_screen(self.elements, self.t, focus=self.focus)
        if view.screen == "card_prompt":
            text = a11y.sentences(text, self.t("a11y_card_reader"))
        if view.screen == "consent" and any(e.target == "consent" for e in self.elements):
            text = a11y.sentences(text, self.t("a11y_consent_keys"))
        return text

    def _first_control(self) -> int:
        return next((i for i, e in enumerate(self.elements) if e.control), 0 if self.elements else -1)

    def _find(self, target: str, before: a11y.Element | None) -> int:
        if target:
            for i, e in enumerate(self.elements):
                if e.target == target:
                    return i
        if before is not None and not before.control:
            for i, e in enumerate(self.elements):
                if e.name == before.name:
                    return i
        return self._first_control()

    def _blank(self) -> None:
        """Privacy: the screen shows only 语音模式使用中 (the reading order was taken before)."""
        c = self.app.renderer.canvas
        c.surface.fill(theme.BACKGROUND)
        text = self.t("a11y_screen_blank")
        fnt = theme.font(c.px(tokens.TYPE["title"]), True)
        img = fnt.render(text, True, theme.TEXT)
        c.surface.blit(img, img.get_rect(center=(c.width // 2, c.height // 2)))

    # -- keys --

    def key(self, event: pygame.event.Event) -> bool:
        """Handle a key; False when it is not audio mode's (it then does nothing)."""
        action = KEYS.get(event.key)
        typing = self._typing()
        digit = DIGITS.get(event.key) or (PAD_DIGITS.get(event.key) if typing else None)
        if digit is None and event.key in PAD_DIGITS and not typing:
            action = KEYS.get(event.key)
        if action is None and digit is None:
            return False
        if not self.on:
            if action in NAVIGATION:
                self.start()
                return True
            return False
        view = self._view or self.app._last_view
        if view is not None and view.warning:
            self._hold = True
            self.app.dispatch(flow.KeyPressed())  # any key answers the warning
            self._hold = False
            self.say(self.t("a11y_extended"))
            return True
        self.app.dispatch(flow.KeyPressed())  # the resident is there: input for the idle timeout
        self._hold = True
        try:
            if digit is not None:
                self._digit(digit, typing)
            elif typing and action in (SLOWER, FASTER, BACK):
                self._typing_key(action)
            else:
                self._hold = action in (LEFT, RIGHT)
                self._act(action)
        finally:
            self._hold = False
        return True

    def _typing(self) -> bool:
        view = self._view or self.app._last_view
        return isinstance(view, FormView) and bool(view.focus) and self.app.renderer.keyboard is not None

    def _digit(self, digit: str, typing: bool) -> None:
        if self._screen == "receipt_entry":  # the receipt number's own keypad
            self.app.activate(f"pk:{digit}")
            self.say(digit)
            return
        if typing:
            self.app.activate(f"key:{digit}")
            self.say(digit)
            return
        controls = [i for i, e in enumerate(self.elements) if e.control]
        n = int(digit)
        if 1 <= n <= len(controls):
            self.focus = controls[n - 1]
            self.say(a11y.say_element(self.elements[self.focus], self.t))

    def _typing_key(self, action: str | None) -> None:
        keys = self.app.renderer.keyboard
        text = getattr(keys, "text", "")
        if action == SLOWER:  # * is X on the ID-number pad (the check digit)
            self.app.activate("key:X")
            self.say("X")
        elif action == FASTER:  # # finishes the field
            self.app.activate("kb:done")
            if self._typing():  # not accepted: the check says why
                problem = keys.problem(final=True) if hasattr(keys, "problem") else None
                self.say(self.t("a11y_problem", problem=problem) if problem else self.t("a11y_typing"))
            elif 0 <= self.focus < len(self.elements):  # accepted: the field as it now stands
                self.say(a11y.say_element(self.elements[self.focus], self.t))
        elif text:
            self.app.activate("key:BKSP")
            rest = getattr(self.app.renderer.keyboard, "text", "")
            self.say(self.t("a11y_deleted", digits=a11y.spoken_characters(rest) or self.t("a11y_empty")))
        else:
            self.app.activate("back")

    def _act(self, action: str | None) -> None:
        speaker = self.app.speaker
        if action in (UP, DOWN):
            self._move(-1 if action == UP else 1, controls_only=False)
        elif action in (LEFT, RIGHT):
            page = "page:prev" if action == LEFT else "page:next"
            if any(e.target == page for e in self.elements):
                self.app.activate(page)
                self.focus = self._first_control()
                shown = self.elements[self.focus] if 0 <= self.focus < len(self.elements) else None
                pager = next((e for e in self.elements if e.target.startswith("page:")), None)
                self.say(a11y.sentences(pager.state if pager else "",
                                        a11y.say_element(shown, self.t) if shown else ""))
            else:
                self._move(-1 if action == LEFT else 1, controls_only=True)
        elif action == ENTER:
            e = self.elements[self.focus] if 0 <= self.focus < len(self.elements) else None
            if e is None:
                return
            if not e.control:
                self.say(a11y.say_element(e, self.t))
                return
            self.app.activate(e.target)
            if e.target.startswith("key:"):
                self.say(e.name)
        elif action == BACK:
            if any(e.target == "back" for e in self.elements):
                self.app.activate("back")
            else:
                self.say(self.t("a11y_start"))
        elif action == HELP:
            view = self._view
            self.say(a11y.sentences(self.t("a11y_orientation"), self._screen_text(view)) if view else
                     self.t("a11y_orientation"))
        elif action == REPEAT:
            speaker.repeat()
        elif action in (LOUDER, SOFTER):
            speaker.volume = max(20, min(200, speaker.volume + (VOLUME_STEP if action == LOUDER else -VOLUME_STEP)))
            self.say(self.t("a11y_volume", level=speaker.volume // 20))
        elif action in (SLOWER, FASTER):
            speaker.rate = max(MIN_RATE, min(MAX_RATE, speaker.rate + (RATE_STEP if action == FASTER else -RATE_STEP)))
            self.say(self.t("a11y_rate", level=speaker.rate))

    def _move(self, step: int, *, controls_only: bool) -> None:
        if not self.elements:
            return
        i = self.focus
        while True:
            i += step
            if not 0 <= i < len(self.elements):
                self.say(self.t("a11y_end" if step > 0 else "a11y_start"))
                return
            if self.elements[i].control or not controls_only:
                break
        self.focus = i
        self.say(a11y.say_element(self.elements[i], self.t))
