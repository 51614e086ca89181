"""The kiosk app: pygame events in, flow effects out, frames drawn when the view changes.

The terminal's runtime (flow, devices, effects, heartbeat) is built and wired by
:class:`kiosk.terminal.terminal.Terminal`; this module keeps the display, the loop and the input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pygame

from kiosk import flow
from kiosk.flow.views import FormView, ListView, View
from kiosk.settings import Settings
from kiosk.terminal.headphones import HeadphoneJack
from kiosk.terminal.speech import ELDER_RATE, Speaker, load_engine
from kiosk.terminal.terminal import Terminal
from kiosk.watchdog import Watchdog
from screens import datepicker, itemlist, keyboard, theme, visual
from screens.audio import AudioMode
from screens.display import Display
from screens.help_frames import DeskFrames
from screens.maint_app import MaintenanceScreen
from screens.mirror import Mirror
from screens.motion import Motion
from screens.renderer import Renderer
from screens.touchfeed import TouchFeed
from screens.widgets import clear_text_cache

log = logging.getLogger(__name__)

TICK_S = 0.25
DRAG_START_PX = 14  # a finger that moves less than this is a tap, not a drag
FLING_DECAY = 0.92  # per frame: a flung list glides to a stop in about a second
KEYBOARD_SCREENS = ("search", "form", "help_report")
DOUBLE_TAP_S = 0.35  # a second tap this soon after one that changed the screen is the same tap
HEARTBEAT_S = 5.0


class KioskApp:
    """Owns the display, the devices and the flow for one terminal.

    ``on_frame(screen, app)`` is called after each frame that shows a different view (the demo
    saves screenshots there).
    """

    def __init__(self, settings: Settings, *, gateway_url: str, headless: bool | None = None,
                 fullscreen: bool = False, clock: Callable[[], float] = time.monotonic,
                 on_frame: Callable[[str, KioskApp], None] | None = None, display: Display | None = None,
                 start_devices: bool = True) -> None:
        self.settings = settings
        self.clock = clock
        self.on_frame = on_frame
        k = settings.kiosk
        # The display may already show the first frame (screens/boot.py, drawn before this was imported).
        self.display = display or Display(k.screen_width, k.screen_height, fullscreen=fullscreen, headless=headless)
        # The end-to-end tests' finger (None on a terminal), listening from the start like a touchscreen:
        # what it asks waits, as a touch waits in the event queue, for the first turn of the loop.
        self.feed = TouchFeed.from_env()
        self.renderer = Renderer(self.display.surface)
        visual.configure(self.renderer.canvas, settings)  # the station, its hours, the cabinet (issue 24)
        self.mirror = Mirror(self.display.surface.get_size())  # the operators' masked copy (issue 17)
        visual.configure(self.mirror.renderer.canvas, settings)  # drawn as the resident sees it (its palette)
        # start_devices=False (`kiosk app`): the devices open in start_devices(), after the first turn of
        # the loop has served a touch made while the app was starting (P1).
        try:
            self.terminal = Terminal(settings, gateway_url=gateway_url, clock=clock, start=start_devices)
        except BaseException:
            if self.feed is not None:
                self.feed.close()
            raise
        self.flow = self.terminal.flow  # what the screens draw
        self.frames = 0
        self._last_view: View | None = None
        self._next_tick = clock()
        self._next_heartbeat = clock()
        # Headless (tests, demo) there is nobody to hear it: the speaker stays off but still
        # remembers texts, so the repeat button works the same.
        self.speaker = Speaker(enabled=not self.display.headless, rate=settings.speech.rate_wpm,
                               engine=load_engine(settings.speech.engine, settings.speech.command))
        self.audio = AudioMode(self)  # the keypad and headphones (screens/audio.py)
        # Transitions and animations (screens/motion.py): off with [ui] reduced_motion, headless, in audio mode.
        self.motion = Motion(not settings.ui.reduced_motion and not self.display.headless, lambda: self.audio.on)
        self._pressed_drawn = False  # the last frame shows a button pressed (touch feedback)
        self.jack = HeadphoneJack(settings.speech.audio_jack) if settings.speech.audio_jack else None
        self._press: tuple[int, int] | None = None
        self._dragging = False
        self._velocity = 0.0  # design px per frame after a fling
        self._kb_for: tuple[str, str] | None = None  # (screen, field) the keyboard state belongs to
        self._screen_changed_at = -1e9
        self._fonts_pinned = False
        self.maintenance = MaintenanceScreen(self, gateway_url)  # corner gesture + PIN (issue 10)
        # The remote help desk's frames (issue 21), once the resident lets it watch.
        self.desk_frames = DeskFrames(lambda: getattr(self.terminal, "desk", None), self.display.surface.get_size(),
                                      clock, lambda: (self.renderer.keyboard, self.renderer.scroll))

    # -- input --

    def dispatch(self, event: flow.Event) -> None:
        if self.maintenance.swallows(event):
            return
        if any(isinstance(effect, flow.SessionWiped) for effect in self.terminal.handle(event)):
            # Rendered texts and the keyboard's text may hold what the resident saw or typed.
            clear_text_cache()
            # What a day of residents leaves behind otherwise (P9): list rows and font faces of sizes
            # only elder mode, a language or a long list needed; the attract and home screens' stay.
            itemlist.forget_rows()
            theme.forget_fonts()
            if self.renderer.keyboard is not None:
                clear_input(self.renderer.keyboard)
        self.draw_if_changed()

    def touch(self, pos: tuple[int, int]) -> None:
        target = self.renderer.hit(pos)
        if target is None:
            return
        if self.clock() - self._screen_changed_at < DOUBLE_TAP_S:
            return  # a double tap must not also press whatever the new screen has in that place
        self.activate(target)

    def activate(self, target: str) -> None:
        """What a touch on ``target`` does; audio mode's Enter on the focused control sends the same."""
        if self.maintenance.is_open:
            self.maintenance.tap(target)
            self.draw_if_changed()
        elif target == "sim:card":
            self.insert_sample_card()
        elif target == "speak:repeat":
            self.speak(force=True)
        elif target.startswith("page:"):  # 上一页 / 下一页: the screen's own scroll, not the journey's
            if self.renderer.turn(target):
                self._redraw()
        elif self._keyboard_target(target):
            return
        else:
            self.dispatch(flow.Tapped(target))

    def press_and_release(self, target: str) -> None:
        """Queue a finger's press and release at the centre of the button drawn for ``target``, as
        pygame mouse events (the path a real touch takes, handled in the next :meth:`step`). For the
        scripted resident of ``kiosk demo`` and the end-to-end tests' touch feed."""
        pos = self.renderer.target_centre(target)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))

    def keyboard_typed(self, text: str) -> None:
        """What the on-screen keyboard hands the flow once a resident typed ``text`` (scripts skip
        picking pinyin candidates one by one; tests/screens type key by key)."""
        keys = self.renderer.keyboard
        if isinstance(keys, keyboard.KeyboardState):
            keys.text = text
        elif isinstance(keys, datepicker.DatePickerState):
            try:
                keys.value = dt.date.fromisoformat(text)
            except ValueError:
                pass  # not a date: the form's check says so on 下一步
        self.dispatch(flow.TextEntered(text))

    def ready_for_tap(self) -> bool:
        """Whether a tap now counts (it is not the tail of a double tap on the previous screen)."""
        return self.clock() - self._screen_changed_at >= DOUBLE_TAP_S

    # -- touch gestures: press, drag (scroll) or tap on release --

    def press(self, pos: tuple[int, int]) -> None:
        self._press, self._dragging, self._velocity = pos, False, 0.0
        self.maintenance.press(pos)
        target = self.renderer.hit(pos)
        if target and not self.audio.on and not self.maintenance.is_open:
            self.renderer.canvas.pressed = target  # touch feedback: the button pressed in the next frame
            self._redraw()

    def move(self, pos: tuple[int, int], rel_y: int) -> None:
        if self._press is None:
            return
        if not self._dragging and abs(pos[1] - self._press[1]) >= DRAG_START_PX and self.renderer.scroll_limit():
            self._dragging = True
        if self._dragging:
            self.renderer.canvas.pressed = ""  # a drag is not a tap: no button stays pressed
            dy = -rel_y / self.renderer.canvas.scale
            self._velocity = dy
            if self.renderer.scroll_by(dy):
                self._redraw()

    def release(self, pos: tuple[int, int]) -> None:
        """A tap counts on release, on the same target it was pressed on (a drag off a button cancels)."""
        pressed, self._press = self._press, None
        self.renderer.canvas.pressed = ""
        if self.maintenance.release(pos):
            return  # the maintenance gesture's touch, not the residents' screen's
        if self._dragging:
            self._dragging = False
            return
        self._velocity = 0.0
        if pressed is not None and self.renderer.hit(pressed) == self.renderer.hit(pos):
            self.touch(pos)

    def _redraw(self) -> None:
        self.motion.stop()
        self.renderer.canvas.anim_ms = self.motion.clock_ms(self.clock())
        self.renderer.redraw()
        self._pressed_drawn = bool(self.renderer.canvas.pressed)
        if self._last_view is not None:
            self.audio.frame(self._last_view)
        self.display.present()
        self.frames += 1

    # -- the on-screen keyboard (screens/keyboard.py, when installed) --

    def _keyboard_target(self, target: str) -> bool:
        """Keys, candidates and 'done' go to the keyboard; its text goes to the flow as TextEntered."""
        if self.renderer.keyboard is None or not target.startswith(("key:", "cand:", "kb:", "date:")):
            return False
        module = input_module(self.renderer.keyboard)
        result = module.handle(self.renderer.keyboard, target)
        module.release(self.renderer.keyboard)  # taps arrive on release: the key is up already
        self.dispatch(flow.TextEntered(result.text))
        if result.done:
            self.dispatch(flow.Tapped("kb:done"))
        self.draw_if_changed(force=True)
        return True

    def _sync_keyboard(self, view: View) -> None:
        """Open a fresh keyboard when a field gets focus (search box or a form field), close it after."""
        screen = view.screen
        want = None
        if screen in KEYBOARD_SCREENS:
            want = (screen, view.focus) if isinstance(view, FormView) and view.focus else \
                (screen, "") if screen == "search" else None
        if want == self._kb_for:
            return
        self._kb_for = want
        if self.renderer.keyboard is not None:
            clear_input(self.renderer.keyboard)  # what was typed is personal: gone with the field
        self.renderer.keyboard = new_keyboard(view) if want else None

    # -- speech --

    def speak(self, *, force: bool = False, message_only: bool = False) -> None:
        """Say the screen's main text and its message, if one shows (the resident turned speech on, or
        asked to hear it again); ``message_only``: a message appeared on the same screen."""
        text = self.renderer.message_text if message_only else \
            "。".join(x for x in (self.renderer.main_text, self.renderer.message_text) if x)
        if self.audio.on:  # audio mode reads the whole screen itself (screens/audio.py)
            if force:
                self.speaker.repeat()
            return
        if self.speaker is None or not text:
            return
        view = self._last_view or View(screen="")
        rate = ELDER_RATE if view.elder else None
        if force:
            self.speaker.repeat()
        elif view.speech:
            self.speaker.say(text, view.language, rate=rate)
        else:
            self.speaker.say("", view.language)  # stop, and remember nothing

    def insert_sample_card(self, index: int = 0) -> None:
        """Lay a test card on the simulated reader (simulator mode only)."""
        self.terminal.insert_sample_card(index)

    def start_devices(self) -> None:
        """Open the devices and start the effect runner and heartbeat, if the app was built without them;
        the flow learns at once which devices are usable."""
        if not self.terminal.started:
            self.terminal.start()
            self.dispatch(self.terminal.device_states())

    # -- loop --

    def step(self) -> None:
        """One turn of the loop: input, device and service events, time, and drawing."""
        if self.feed is not None:
            self.feed.serve(self)
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                raise SystemExit(0)
            if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                self.press(event.pos)
            elif event.type == pygame.MOUSEMOTION and self._press is not None:
                self.move(event.pos, event.rel[1])
            elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
                self.release(event.pos)
            elif event.type == pygame.MOUSEWHEEL:
                if self.renderer.scroll_by(-event.y * 120):
                    self._redraw()
            elif event.type in (pygame.FINGERDOWN, pygame.FINGERMOTION, pygame.FINGERUP):
                w, h = self.display.surface.get_size()
                pos = (int(event.x * w), int(event.y * h))
                if event.type == pygame.FINGERDOWN:
                    self.press(pos)
                elif event.type == pygame.FINGERMOTION:
                    self.move(pos, int(event.dy * h))
                else:
                    self.release(pos)
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_F2:
                self.insert_sample_card()
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_F3:
                self.insert_sample_card(2)  # the test holder with benefits and e-licences (local_api/sim/benefits.py)
            elif event.type == pygame.KEYDOWN and not self.maintenance.is_open:
                self.audio.key(event)  # the keypad: audio mode (screens/audio.py)
        plugged = self.jack.poll() if self.jack is not None else None
        if plugged is True and not self.audio.on:
            self.audio.start()  # headphones in: audio mode
        elif plugged is False:
            self.audio.end()
        for item in self.terminal.pending():
            self.dispatch(item)
        if self._velocity and not self._dragging and self._press is None:  # fling: glide and slow down
            self._velocity = self._velocity * FLING_DECAY if abs(self._velocity) > 0.5 else 0.0
            if not self.renderer.scroll_by(self._velocity):
                self._velocity = 0.0
            else:
                self._redraw()
        now = self.clock()
        self.terminal.tick()
        self.maintenance.step()
        if now >= self._next_tick:
            self._next_tick = now + TICK_S
            self.dispatch(flow.Tick())
            if self.terminal.started:
                self.dispatch(self.terminal.device_states())
        if now >= self._next_heartbeat and self.terminal.started:
            self._next_heartbeat = now + HEARTBEAT_S
            self.terminal.report(self.maintenance.screen_name(), self._frame_png())
        self.draw_if_changed()
        self.desk_frames.step(self._last_view)
        if self._pressed_drawn and not self.renderer.canvas.pressed:
            self._redraw()  # the finger lifted on a tap that changed nothing: the button back up
        moved = self.motion.step(self.display.surface, self._last_view.screen if self._last_view else "", now)
        if moved == "fade":
            self.display.present()
        elif moved == "animate":
            self._redraw()

    def view(self) -> View:
        if self.maintenance.is_open:
            return self.maintenance.view()
        return dataclasses.replace(self.flow.view(), simulated_reader=self.terminal.simulated_reader)

    def draw_if_changed(self, force: bool = False) -> None:
        view = self.view()
        if view == self._last_view and not force:
            return
        first = self._last_view is None
        screen_changed = first or self._last_view is None or view.screen != self._last_view.screen
        said = self.renderer.message_text
        self._sync_keyboard(view)
        if not self._fonts_pinned and view.screen == "attract" and screen_changed:
            theme.count_fonts()
        previous = self.motion.before_new_screen(self.display.surface) if screen_changed and not first else None
        self.renderer.canvas.anim_ms = self.motion.clock_ms(self.clock())
        self.renderer.render(view)
        self._pressed_drawn = bool(self.renderer.canvas.pressed)
        self.motion.after_new_screen(self.display.surface, previous, self.clock())
        self.audio.frame(view)
        self.display.present()
        self.frames += 1
        self._last_view = view
        if not self._fonts_pinned and view.screen == "home" and not view.elder:
            theme.pin_fonts()  # the attract and home screens' faces: every resident's first screens
            self._fonts_pinned = True
        if screen_changed:
            if not first:  # the first screen follows no tap, so it guards against none
                self._screen_changed_at = self.clock()
            self.speak()
            if self.on_frame is not None:
                self.on_frame(view.screen, self)
        elif self.renderer.message_text and self.renderer.message_text != said:
            self.speak(message_only=True)  # a message is spoken as well as shown

    def _frame_png(self) -> Callable[[], bytes]:
        """The operators' mirror of the current frame: drawn now, off-screen, from the masked view
        (screens/mirror.py; never the resident's own frame), PNG-encoded later on the heartbeat's thread."""
        frame = self.mirror.frame(self._last_view or self.view(), keyboard_state=self.renderer.keyboard,
                                  scroll=self.renderer.scroll)

        def encode() -> bytes:
            # lazy: Pillow is for the heartbeat's thread, not the first touch (P1)
            from PIL import Image

            # Pillow, not pygame.image.save: saving a PNG into a file object through pygame kept every
            # buffer alive (about 100 KB a heartbeat; found by bench/bench_memory.py, P9).
            image = Image.frombytes("RGB", frame.get_size(), pygame.image.tobytes(frame, "RGB"))
            buffer = io.BytesIO()
            image.save(buffer, "PNG", compress_level=1)
            return buffer.getvalue()

        return encode

    def run_forever(self, stop: threading.Event, fps: int = 30) -> None:
        pace = pygame.time.Clock()
        watchdog = Watchdog()  # systemd's: pinged after each healthy step, so a hung loop stops the pings
        try:
            while not stop.is_set():
                self.step()
                watchdog.ping_if_due()
                pace.tick(fps)
        finally:
            watchdog.close()

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        self.maintenance.close()
        if self.jack is not None:
            self.jack.close()
        if self.speaker is not None:
            self.speaker.stop()
        self.terminal.close()
        self.display.close()


def new_keyboard(view: View) -> keyboard.KeyboardState | datepicker.DatePickerState:
    """The input for the focused field: pinyin for text, a keypad for numbers and ID numbers, the date
    picker for dates (a date cannot be typed on the keypads: they have no "-")."""
    field_type = view.focus_type if isinstance(view, FormView) else "text"
    if field_type == "date":
        text = view.focus_text if isinstance(view, FormView) else ""
        try:
            value = dt.date.fromisoformat(text) if text else dt.date.today()
        except ValueError:
            value = dt.date.today()
        return datepicker.DatePickerState(value=value, field_type="date", language=view.language)
    layout = {"citizen_id": "id_number", "mobile": "numeric", "integer": "numeric", "amount": "numeric",
              "bank_account": "numeric",
              "social_credit_code": "latin"}.get(field_type, "pinyin")  # a credit code: letters and digits
    text = view.focus_text if isinstance(view, FormView) else view.query if isinstance(view, ListView) else ""
    return keyboard.KeyboardState(layout=layout, text=text, field_type=field_type or "text",
                                  language=view.language, max_length=40 if layout == "pinyin" else None)



def input_module(state: object) -> Any:
    """The module that handles and draws ``state``: the date picker or the keyboard."""
    return datepicker if isinstance(state, datepicker.DatePickerState) else keyboard


def clear_input(state: object) -> None:
    """Forget what was typed (a date picker holds nothing personal: nothing to forget)."""
    if isinstance(state, keyboard.KeyboardState):
        state.clear()
